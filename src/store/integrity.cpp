// HKDF-SHA-256 (RFC 5869) and HMAC-SHA-256 (RFC 2104) through OpenSSL 3's EVP_KDF and EVP_MAC,
// and keysafe_row_mac(), the SQL function behind the MAC triggers (schema v9).
#include "keysafe/store/integrity.hpp"

#include <sqlite3.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/ossl/handles.hpp"
#include "sqlite_functions.hpp"
#include "value_encoding.hpp"

namespace keysafe::store {
namespace {

// The columns each MAC covers, in order: every column but `mac`. The v9 migration
// (schema.cpp) spells the same lists in its triggers; a fresh store whose rows fail their
// MACs means the two have drifted (tested).
struct ProtectedTable {
  const char* table;
  const char* columns;
  const char* describe;  // SQL naming the row for an administrator
};
constexpr std::array<ProtectedTable, 11> k_protected = {{
    {"settings", "key, value", "'key \"' || key || '\"'"},
    {"deployments",
     "id, key_id, target_dir, layout, files, test_cmd, reload_cmd, probe, sni, "
     "certificate_fingerprint, deployed_at",
     "'id ' || id || ' (' || target_dir || ')'"},
    {"key_slots", "id, kind, secret_id, wrapped_data_key, created_at", "'id ' || id"},
    {"authorities", "key_id, parent_key_id, crl_number, created_at",
     "'key_id ' || key_id || coalesce(' (' || (SELECT name FROM keys WHERE keys.id = "
     "authorities.key_id) || ')', '')"},
    {"issued_certificates",
     "authority_key_id, serial, subject, fingerprint_sha256, key_name, not_after, issued_at, "
     "revoked_at, revocation_reason",
     "'serial ' || serial || ' of authority key_id ' || authority_key_id"},
    {"audit_head", "id, last_id, last_hash", "'id ' || id || ' (last id ' || last_id || ')'"},
    {"fleet_signing_key", "id, public_key, sealed_private_key, created_at", "'id ' || id"},
    {"hosts", "id, name, algorithm, public_key, public_key_sha256, role, created_at",
     "'host \"' || name || '\"'"},
    {"assignments",
     "id, host_id, key_id, target_dir, layout, test_cmd, reload_cmd, probe, sni, "
     "sealed_private_key, signature, assigned_at",
     "'id ' || id || ' (' || target_dir || ')'"},
    {"acme_accounts",
     "id, name, directory_url, account_url, contact, status, key_algorithm, jwk_thumbprint, "
     "sealed_private_key, directory_ca_pem, created_at",
     "'account \"' || name || '\"'"},
    {"acme_entries",
     "key_id, account_id, directory_url, challenge, challenge_param, order_url, updated_at",
     "'key_id ' || key_id || coalesce(' (' || (SELECT name FROM keys WHERE keys.id = "
     "acme_entries.key_id) || ')', '')"},
}};

// Each argument as (SQLite type, 8-byte length, bytes), integers as 8 bytes big-endian, so
// ("ab","c") and ("a","bc") differ and NULL differs from an empty text. The first argument is
// the table name, so a row cannot be moved to another table.
void row_mac(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  const auto* key = static_cast<const RowMacKey*>(sqlite3_user_data(ctx));
  if (key != nullptr && key->key.empty() && key->copying_verbatim) {
    sqlite3_result_null(ctx);
    return;
  }
  if (key == nullptr || key->key.empty()) {
    sqlite3_result_error(
        ctx, "keysafe_row_mac: the keystore must be unlocked to change this table", -1);
    return;
  }
  Bytes input;
  for (int i = 0; i < argc; ++i) {
    const int type = sqlite3_value_type(argv[i]);
    if (type == SQLITE_INTEGER) {
      encode_integer(input, sqlite3_value_int64(argv[i]));
      continue;
    }
    if (type == SQLITE_NULL) {
      encode_value(input, Value::Type::Null, {});
      continue;
    }
    // TEXT (and FLOAT as its text: keysafe stores none) or BLOB.
    const void* data = type == SQLITE_BLOB ? sqlite3_value_blob(argv[i])
                                           : static_cast<const void*>(sqlite3_value_text(argv[i]));
    const auto size = static_cast<std::size_t>(sqlite3_value_bytes(argv[i]));
    encode_value(input, type == SQLITE_BLOB ? Value::Type::Blob : Value::Type::Text,
                 std::string_view(static_cast<const char*>(data), data != nullptr ? size : 0));
  }
  try {
    const Bytes mac = hmac_sha256(key->key, input);
    sqlite3_result_blob(ctx, mac.data(), static_cast<int>(mac.size()), SQLITE_TRANSIENT);
  } catch (const std::exception&) {
    sqlite3_result_error(ctx, "keysafe_row_mac: HMAC-SHA-256 failed", -1);
  }
}

}  // namespace

SecureBytes row_mac_key(std::span<const std::uint8_t> data_key,
                        std::span<const std::uint8_t> store_id) {
  ossl::Kdf kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) ossl::fail(Errc::Crypto, "this OpenSSL has no HKDF");
  ossl::KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  static constexpr char k_info[] = "keysafe-integrity-v1 row-mac";
  char digest[] = "SHA256";
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        const_cast<std::uint8_t*>(data_key.data()),
                                        data_key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                        const_cast<std::uint8_t*>(store_id.data()),
                                        store_id.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(k_info),
                                        sizeof k_info - 1),
      OSSL_PARAM_construct_end()};
  SecureBytes key(32);
  if (!ctx || EVP_KDF_derive(ctx.get(), key.data(), key.size(), ps) != 1)
    ossl::fail(Errc::Crypto, "deriving the store's MAC key with HKDF failed");
  return key;
}

Bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data) {
  Bytes out(32);
  std::size_t length = 0;
  // EVP_Q_mac: EVP_MAC "HMAC" with SHA-256, fetched, run and freed inside OpenSSL.
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(),
                data.size(), out.data(), out.size(), &length) == nullptr ||
      length != out.size())
    ossl::fail(Errc::Crypto, "HMAC-SHA-256 failed");
  return out;
}

void register_row_mac(sqlite3* db, const RowMacKey* key) {
  sqlite3_create_function_v2(db, "keysafe_row_mac", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                             const_cast<RowMacKey*>(key), row_mac, nullptr, nullptr, nullptr);
}

namespace {

// The MAC input of a row read by keysafe (PostgreSQL, where the server never holds the key):
// the same encoding as keysafe_row_mac() above, the table name first as text.
Bytes mac_input(std::string_view table, const Statement& q, int first, int count) {
  Bytes input;
  encode_value(input, Value::Type::Text, table);
  for (int i = first; i < first + count; ++i) encode_value(input, q.value(i));
  return input;
}

const RowMacKey& unlocked_key(Database& db) {
  const RowMacKey* key = db.row_mac_key();
  if (key == nullptr || key->key.empty())
    throw Error(Errc::Internal, "a protected row was changed while the keystore is locked",
                "keysafe_row_mac: the keystore must be unlocked to change this table");
  return *key;
}

// Computes and stores the MAC of every row of `t` that `where` selects, by keysafe.
void mac_rows(Database& db, const ProtectedTable& t, const char* where) {
  const int n = column_count(t.columns);
  auto q = db.prepare(std::string("SELECT ctid::text, ") + t.columns + " FROM " + t.table + where);
  std::vector<std::pair<std::string, Bytes>> macs;
  while (q.step()) {
    const RowMacKey& key = unlocked_key(db);
    macs.emplace_back(q.text(0), hmac_sha256(key.key, mac_input(t.table, q, 1, n)));
  }
  if (macs.empty()) return;
  auto up = db.prepare(std::string("UPDATE ") + t.table + " SET mac = ? WHERE ctid = ?::tid");
  for (const auto& [ctid, mac] : macs) {
    up.reset();
    up.bind(1, mac).bind(2, ctid);
    up.queue();
  }
}

}  // namespace

std::vector<Tampering> row_mac_mismatches(Database& db) {
  std::vector<Tampering> found;
  if (db.backend() == Backend::Postgresql) {
    const RowMacKey& key = unlocked_key(db);
    for (const auto& t : k_protected) {
      auto q = db.prepare(std::string("SELECT ") + t.describe + ", mac, " + t.columns + " FROM " +
                          t.table);
      while (q.step()) {
        if (q.is_null(1)) {
          found.push_back({t.table, q.text(0), "it has no MAC"});
          continue;
        }
        const Bytes expected = hmac_sha256(key.key, mac_input(t.table, q, 2, column_count(t.columns)));
        const Bytes stored = q.blob(1);
        if (stored.size() != expected.size() ||
            CRYPTO_memcmp(expected.data(), stored.data(), expected.size()) != 0)
          found.push_back({t.table, q.text(0), "its MAC does not match its fields"});
      }
    }
    return found;
  }
  for (const auto& t : k_protected) {
    auto q = db.prepare(std::string("SELECT ") + t.describe + ", mac IS NULL FROM " + t.table +
                        " WHERE mac IS NULL OR mac IS NOT keysafe_row_mac('" + t.table + "', " +
                        t.columns + ")");
    while (q.step())
      found.push_back({t.table, q.text(0),
                       q.int64(1) != 0 ? "it has no MAC" : "its MAC does not match its fields"});
  }
  return found;
}

void mac_every_row(Database& db) {
  for (const auto& t : k_protected) {
    if (db.backend() == Backend::Postgresql)
      mac_rows(db, t, "");
    else
      db.exec(std::string("UPDATE ") + t.table + " SET mac = keysafe_row_mac('" + t.table + "', " +
              t.columns + ")");
  }
}

void seal_pending_rows(Database& db) {
  if (db.backend() != Backend::Postgresql) return;  // SQLite's triggers MAC as rows change
  const auto* key = db.row_mac_key();
  if (key != nullptr && key->copying_verbatim) return;
  // A locked keysafe (a fleet agent, a listing that appends an audit row) changes no protected
  // row; rows without a MAC here were changed by someone else, and are left for the next
  // unlock to report as tampering rather than refusing this commit.
  if (key == nullptr || key->key.empty()) return;
  for (const auto& t : k_protected) mac_rows(db, t, " WHERE mac IS NULL");
}

}  // namespace keysafe::store
