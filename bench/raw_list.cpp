// Baseline for `keysafe list [--expiring DAYS] --json` and `keysafe show NAME --json`: the same
// indexed SELECT on the same store file, each row printed as a JSON object. No validation, no
// state computation, nothing else.
// Usage: raw_list STORE [--expiring DAYS | --name NAME]
#include <sqlite3.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: raw_list STORE [--expiring DAYS | --name NAME]\n");
    return 2;
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "raw_list: cannot open %s\n", argv[1]);
    return 1;
  }
  const bool expiring = argc == 4 && std::strcmp(argv[2], "--expiring") == 0;
  const bool by_name = argc == 4 && std::strcmp(argv[2], "--name") == 0;
  std::string sql =
      "SELECT k.id, k.name, k.algorithm, k.spki_sha256, k.sealed_private_key IS NOT NULL, "
      "k.subject, k.dns, k.ip, k.created_at, k.last_backup_at, c.fingerprint_sha256, c.subject, "
      "c.issuer, c.serial, c.not_before, c.not_after, c.dns, c.ip, c.chain_trusted, "
      "c.chain_problem, (SELECT count(*) FROM certificates h WHERE h.key_id = k.id) ";
  // The same statements as keysafe's Keystore::entries / entry.
  if (expiring)
    sql += "FROM certificates c CROSS JOIN keys k"
           " ON k.id = c.key_id AND k.current_certificate_id = c.id WHERE c.not_after <= ?";
  else
    sql += "FROM keys k LEFT JOIN certificates c ON c.id = k.current_certificate_id";
  if (by_name) sql += " WHERE k.name = ?";
  sql += " ORDER BY k.name";
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &q, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "raw_list: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  if (expiring) sqlite3_bind_int64(q, 1, std::time(nullptr) + std::stoll(argv[3]) * 86400);
  if (by_name) sqlite3_bind_text(q, 1, argv[3], -1, SQLITE_STATIC);
  const auto text = [&](int col) -> nlohmann::json {
    if (sqlite3_column_type(q, col) == SQLITE_NULL) return nullptr;
    return std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, col)),
                       static_cast<std::size_t>(sqlite3_column_bytes(q, col)));
  };
  const auto integer = [&](int col) -> nlohmann::json {
    if (sqlite3_column_type(q, col) == SQLITE_NULL) return nullptr;
    return sqlite3_column_int64(q, col);
  };
  nlohmann::json out = nlohmann::json::array();
  while (sqlite3_step(q) == SQLITE_ROW) {
    out.push_back({{"name", text(1)},
                   {"key_algorithm", text(2)},
                   {"spki_sha256", text(3)},
                   {"has_key", integer(4)},
                   {"subject", text(11).is_null() ? text(5) : text(11)},
                   {"dns", nlohmann::json::parse(text(16).is_null() ? "[]" : text(16).get<std::string>())},
                   {"ip", nlohmann::json::parse(text(17).is_null() ? "[]" : text(17).get<std::string>())},
                   {"created", integer(8)},
                   {"last_backup", integer(9)},
                   {"fingerprint_sha256", text(10)},
                   {"issuer", text(12)},
                   {"serial", text(13)},
                   {"not_before", integer(14)},
                   {"not_after", integer(15)},
                   {"chain_trusted", integer(18)},
                   {"chain_problem", text(19)},
                   {"certificates", integer(20)}});
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  std::cout << (by_name && !out.empty() ? out[0] : out).dump(2) << '\n';
  return 0;
}
