// keysafe_row_sha256(): the SQL function behind the row-checksum triggers (schema v8).
#include "keysafe/store/row_checksum.hpp"

#include <sqlite3.h>

#include <openssl/evp.h>

#include <array>
#include <cstdint>

#include "keysafe/ossl/handles.hpp"
#include "sqlite_functions.hpp"

namespace keysafe::store {
namespace {

// The columns each trigger hashes, in order. The migration (schema.cpp, v8) spells the same
// lists; a fresh store whose check reports a mismatch means the two have drifted (tested).
constexpr const char* k_keys_columns =
    "id, name, algorithm, spki_der, spki_sha256, subject, dns, ip, current_certificate_id, "
    "created_at, last_backup_at, renews_key_id";
constexpr const char* k_certificates_columns =
    "id, key_id, der, fingerprint_sha256, spki_sha256, subject, issuer, serial, not_before, "
    "not_after, dns, ip, is_ca, chain_trusted, chain_problem, installed_at";
constexpr const char* k_chain_columns = "certificate_id, position, der";

const EVP_MD* sha256_md() {
  // Fetched once: the implicit fetch of EVP_sha256() costs a lookup per call.
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// Each argument as (type, 8-byte length, bytes), so ("ab","c") and ("a","bc") differ and a
// NULL differs from an empty text.
void row_sha256(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  ossl::MdCtx md(EVP_MD_CTX_new());
  if (!md || sha256_md() == nullptr || EVP_DigestInit_ex(md.get(), sha256_md(), nullptr) != 1) {
    sqlite3_result_error(ctx, "keysafe_row_sha256: SHA-256 is unavailable", -1);
    return;
  }
  for (int i = 0; i < argc; ++i) {
    const int type = sqlite3_value_type(argv[i]);
    std::array<std::uint8_t, 9> prefix{static_cast<std::uint8_t>(type)};
    const void* data = nullptr;
    std::uint64_t size = 0;
    std::array<std::uint8_t, 8> integer{};
    if (type == SQLITE_INTEGER) {
      const auto v = static_cast<std::uint64_t>(sqlite3_value_int64(argv[i]));
      for (int b = 0; b < 8; ++b) integer[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(v >> (56 - 8 * b));
      data = integer.data();
      size = integer.size();
    } else if (type == SQLITE_TEXT) {
      data = sqlite3_value_text(argv[i]);
      size = static_cast<std::uint64_t>(sqlite3_value_bytes(argv[i]));
    } else if (type == SQLITE_BLOB) {
      data = sqlite3_value_blob(argv[i]);
      size = static_cast<std::uint64_t>(sqlite3_value_bytes(argv[i]));
    } else if (type == SQLITE_FLOAT) {
      // keysafe stores no floats; hash the text form so the function is still total.
      data = sqlite3_value_text(argv[i]);
      size = static_cast<std::uint64_t>(sqlite3_value_bytes(argv[i]));
    }
    for (int b = 0; b < 8; ++b) prefix[static_cast<std::size_t>(1 + b)] = static_cast<std::uint8_t>(size >> (56 - 8 * b));
    EVP_DigestUpdate(md.get(), prefix.data(), prefix.size());
    if (size > 0) EVP_DigestUpdate(md.get(), data, size);
  }
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(md.get(), digest.data(), &length) != 1) {
    sqlite3_result_error(ctx, "keysafe_row_sha256: SHA-256 failed", -1);
    return;
  }
  sqlite3_result_blob(ctx, digest.data(), static_cast<int>(length), SQLITE_TRANSIENT);
}

// The checksum a row should have: SQLite's keysafe_row_sha256() over the columns, or on
// PostgreSQL the schema's keysafe_sha256_TABLE() over the row (the same encoding, in SQL).
std::string expected_checksum(Database& db, const char* table, const char* alias,
                              const char* columns) {
  if (db.backend() == Backend::Postgresql)
    return std::string("keysafe_sha256_") + table + "(" + alias + ")";
  return std::string("keysafe_row_sha256(") + columns + ")";
}

std::string mismatch_query(Database& db, const char* table, const char* alias,
                           const char* columns, const char* describe) {
  return std::string("SELECT ") + describe + " FROM " + table + " " + alias +
         " WHERE " + alias + ".row_sha256 IS DISTINCT FROM " +
         expected_checksum(db, table, alias, columns);
}

}  // namespace

void register_row_checksum(sqlite3* db) {
  sqlite3_create_function_v2(db, "keysafe_row_sha256", -1,
                             SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                             row_sha256, nullptr, nullptr, nullptr);
}

std::vector<ChecksumMismatch> row_checksum_mismatches(Database& db) {
  std::vector<ChecksumMismatch> found;
  {
    auto q = db.prepare(mismatch_query(db, "keys", "keys", k_keys_columns, "name"));
    while (q.step()) found.push_back({"keys", q.text(0), "key"});
  }
  {
    auto q = db.prepare(mismatch_query(
        db, "certificates", "c", k_certificates_columns,
        "coalesce((SELECT name FROM keys WHERE keys.id = c.key_id), ''), c.serial"));
    while (q.step()) found.push_back({"certificates", q.text(0), "certificate " + q.text(1)});
  }
  {
    auto q = db.prepare(mismatch_query(
        db, "chain_certificates", "h", k_chain_columns,
        "coalesce((SELECT k.name FROM certificates c JOIN keys k ON k.id = c.key_id WHERE "
        "c.id = h.certificate_id), ''), coalesce((SELECT serial FROM certificates c WHERE c.id = "
        "h.certificate_id), ''), h.position"));
    while (q.step())
      found.push_back({"chain_certificates", q.text(0),
                       "chain certificate " + std::to_string(q.int64(2) + 1) + " of " + q.text(1)});
  }
  return found;
}

std::vector<ChecksumMismatch> entry_checksum_mismatches(Database& db, std::int64_t key_id) {
  std::vector<ChecksumMismatch> found;
  auto key = db.prepare("SELECT name, row_sha256 IS NOT DISTINCT FROM " +
                        expected_checksum(db, "keys", "keys", k_keys_columns) +
                        " FROM keys WHERE id = ?");
  key.bind(1, key_id);
  if (!key.step()) return found;
  const std::string name = key.text(0);
  if (key.int64(1) == 0) found.push_back({"keys", name, "key"});
  auto certs = db.prepare("SELECT id, serial, row_sha256 IS NOT DISTINCT FROM " +
                          expected_checksum(db, "certificates", "certificates",
                                            k_certificates_columns) +
                          " FROM certificates WHERE key_id = ?");
  certs.bind(1, key_id);
  std::vector<std::pair<std::int64_t, std::string>> ids;
  while (certs.step()) {
    ids.emplace_back(certs.int64(0), certs.text(1));
    if (certs.int64(2) == 0) found.push_back({"certificates", name, "certificate " + certs.text(1)});
  }
  auto chain = db.prepare("SELECT position, row_sha256 IS NOT DISTINCT FROM " +
                          expected_checksum(db, "chain_certificates", "chain_certificates",
                                            k_chain_columns) +
                          " FROM chain_certificates WHERE certificate_id = ?");
  for (const auto& [id, serial] : ids) {
    chain.reset();
    chain.bind(1, id);
    while (chain.step())
      if (chain.int64(1) == 0)
        found.push_back({"chain_certificates", name,
                         "chain certificate " + std::to_string(chain.int64(0) + 1) + " of " +
                             serial});
  }
  return found;
}

}  // namespace keysafe::store
