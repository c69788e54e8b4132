// keysafe store copy: every table, row for row, then both sides read back and compared.
#include "keysafe/store/copy.hpp"

#include <array>

#include "keysafe/store/integrity.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/store/schema.hpp"
#include "value_encoding.hpp"

namespace keysafe::store {
namespace {

struct TableSpec {
  const char* table;
  const char* key;      // ORDER BY: the primary key
  const char* columns;  // every column keysafe writes (row_sha256 is the target's to compute)
  const char* mac_key;  // WHERE clause naming one row for its MAC, or nullptr without a MAC
  int key_columns;      // how many leading `columns` the WHERE clause binds
};

// In an order that satisfies the foreign keys that are not deferred (all are deferrable, but
// a parent first keeps the copy readable while it runs).
constexpr std::array<TableSpec, 20> k_tables = {{
    {"store_header", "id",
     "id, store_id, kdf, kdf_log2_n, kdf_r, kdf_p, kdf_salt, wrapped_data_key, checksum, "
     "created_at",
     nullptr, 0},
    {"keys", "id",
     "id, name, algorithm, spki_der, spki_sha256, sealed_private_key, subject, dns, ip, "
     "current_certificate_id, created_at, last_backup_at, renews_key_id",
     nullptr, 0},
    {"requests", "id", "id, key_id, der, created_at", nullptr, 0},
    {"certificates", "id",
     "id, key_id, der, fingerprint_sha256, spki_sha256, subject, issuer, serial, not_before, "
     "not_after, dns, ip, is_ca, chain_trusted, chain_problem, installed_at",
     nullptr, 0},
    {"chain_certificates", "certificate_id, position", "certificate_id, position, der", nullptr, 0},
    {"settings", "key", "key, value", "key = ?", 1},
    {"audit", "id", "id, at, \"user\", action, entry, detail, prev_hash, hash", nullptr, 0},
    {"key_slots", "id", "id, kind, secret_id, wrapped_data_key, created_at", "id = ?", 1},
    {"authorities", "key_id", "key_id, parent_key_id, crl_number, created_at", "key_id = ?", 1},
    {"issued_certificates", "authority_key_id, serial",
     "authority_key_id, serial, subject, fingerprint_sha256, key_name, not_after, issued_at, "
     "revoked_at, revocation_reason",
     "authority_key_id = ? AND serial = ?", 2},
    {"deployments", "id",
     "id, key_id, target_dir, layout, files, test_cmd, reload_cmd, probe, sni, "
     "certificate_fingerprint, deployed_at",
     "id = ?", 1},
    {"audit_head", "id", "id, last_id, last_hash", "id = ?", 1},
    {"fleet_signing_key", "id", "id, public_key, sealed_private_key, created_at", "id = ?", 1},
    {"hosts", "id", "id, name, algorithm, public_key, public_key_sha256, role, created_at",
     "id = ?", 1},
    {"assignments", "id",
     "id, host_id, key_id, target_dir, layout, test_cmd, reload_cmd, probe, sni, "
     "sealed_private_key, signature, assigned_at",
     "id = ?", 1},
    {"host_reports", "assignment_id",
     "assignment_id, state, deployed_fingerprint, served_fingerprint, files, error, reported_at",
     nullptr, 0},
    {"host_events", "id", "id, at, host, action, entry, detail", nullptr, 0},
    {"acme_accounts", "id",
     "id, name, directory_url, account_url, contact, status, key_algorithm, jwk_thumbprint, "
     "sealed_private_key, directory_ca_pem, created_at",
     "id = ?", 1},
    {"acme_entries", "key_id",
     "key_id, account_id, directory_url, challenge, challenge_param, order_url, updated_at",
     "key_id = ?", 1},
    {"serve_tokens", "name", "name, token_sha256, created_at, expires_at, revoked_at", nullptr, 0},
}};

// Tables whose ids come from an identity column on PostgreSQL: after rows with explicit ids,
// the sequence must continue after them.
constexpr std::array<const char*, 7> k_identity_tables = {
    "requests", "key_slots", "deployments", "hosts", "assignments", "host_events", "acme_accounts"};

void bind_value(Statement& q, int index, const Value& v) {
  switch (v.type) {
    case Value::Type::Null: q.bind_null(index); return;
    case Value::Type::Integer: q.bind(index, v.integer); return;
    case Value::Type::Text: q.bind(index, std::string_view(v.bytes)); return;
    case Value::Type::Blob:
      q.bind(index, std::span<const std::uint8_t>(
                        reinterpret_cast<const std::uint8_t*>(v.bytes.data()), v.bytes.size()));
      return;
  }
}

std::string with_checks(const TableSpec& t) {
  std::string columns = t.columns;
  if (t.table == std::string_view("keys") || t.table == std::string_view("certificates") ||
      t.table == std::string_view("chain_certificates"))
    columns += ", row_sha256";
  if (t.mac_key != nullptr) columns += ", mac";
  return columns;
}

// Row count and SHA-256 over every column (row checksums and MACs included) in key order.
CopiedTable digest(Database& db, const TableSpec& t) {
  const std::string columns = with_checks(t);
  const int n = column_count(columns);
  auto q = db.prepare(std::string("SELECT ") + columns + " FROM " + t.table + " ORDER BY " + t.key);
  Bytes buf;
  CopiedTable out{t.table, 0, {}};
  Bytes running(32, 0);
  while (q.step()) {
    ++out.rows;
    buf.assign(running.begin(), running.end());
    for (int i = 0; i < n; ++i) encode_value(buf, q.value(i));
    running = sha256(buf);  // chained, so memory stays flat however large the table
  }
  out.sha256 = to_hex(running);
  return out;
}

void copy_table(Database& src, Database& dst, const TableSpec& t) {
  const int n = column_count(t.columns);
  std::string placeholders;
  for (int i = 0; i < n; ++i) placeholders += i == 0 ? "?" : ", ?";
  auto read = src.prepare(std::string("SELECT ") + t.columns +
                          (t.mac_key != nullptr ? ", mac" : "") + " FROM " + t.table +
                          " ORDER BY " + t.key);
  auto insert = dst.prepare(std::string("INSERT INTO ") + t.table + " (" + t.columns +
                            ") VALUES (" + placeholders + ")");
  std::optional<Statement> mac;
  if (t.mac_key != nullptr)
    mac.emplace(dst.prepare(std::string("UPDATE ") + t.table + " SET mac = ? WHERE " + t.mac_key));
  while (read.step()) {
    insert.reset();
    for (int i = 0; i < n; ++i) bind_value(insert, i + 1, read.value(i));
    insert.run();
    if (mac) {
      // The MAC alone changes: neither backend's triggers recompute or clear it.
      mac->reset();
      bind_value(*mac, 1, read.value(n));
      for (int k = 0; k < t.key_columns; ++k) bind_value(*mac, 2 + k, read.value(k));
      mac->run();
    }
  }
}

}  // namespace

CopyResult copy_store(const std::filesystem::path& from, const std::filesystem::path& to,
                      const std::function<void(const std::string&, std::int64_t)>& progress) {
  Keystore source = Keystore::open(from);
  Database& src = source.database();
  if (from.string() == to.string())
    throw Error(Errc::Usage, "store copy needs two different stores",
                "FROM and TO are both " + from.string(), "name a new file or an empty database as TO");
  Database dst = Keystore::create_empty(to);
  RowMacKey no_key;
  no_key.copying_verbatim = true;
  dst.set_row_mac_key(&no_key);
  CopyResult result;
  try {
    ReadSnapshot snapshot(src);  // one consistent state of the source, however long it takes
    Transaction tx(dst);         // all of it or nothing
    migrate(dst);
    dst.defer_foreign_keys();
    for (const auto& t : k_tables) copy_table(src, dst, t);
    if (dst.backend() == Backend::Postgresql)
      for (const char* table : k_identity_tables)
        dst.exec(std::string("SELECT setval(pg_get_serial_sequence('") + table +
                 "', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM " + table + "), false)");
    for (const auto& t : k_tables) {
      CopiedTable a = digest(src, t);
      const CopiedTable b = digest(dst, t);
      if (a.rows != b.rows || a.sha256 != b.sha256)
        throw Error(Errc::StoreDamaged, "the copy of table " + std::string(t.table) + " does not match",
                    "source: " + std::to_string(a.rows) + " rows, SHA-256 " + a.sha256 +
                        "; copy: " + std::to_string(b.rows) + " rows, SHA-256 " + b.sha256 +
                        " (row checksums are recomputed by the target: a difference there means "
                        "the two backends disagree on a row)",
                    "nothing was kept; report this as a keysafe bug with both stores' keysafe "
                    "check output");
      if (progress) progress(a.table, a.rows);
      result.tables.push_back(std::move(a));
    }
    tx.commit();
  } catch (...) {
    remove_store_files(to);
    throw;
  }
  for (const auto& t : result.tables)
    if (t.table == "keys") result.entries = t.rows;
  // The copy opens as a store: header checksum, schema version.
  (void)Keystore::open(to);
  return result;
}

}  // namespace keysafe::store
