// Baseline for `keysafe import bundle.pem`: parse every certificate of a PEM bundle, hash it
// (SHA-256 of the DER and of the SubjectPublicKeyInfo), and insert a certificate-only entry
// (keys + certificates rows, the same columns as keysafe's schema) in one SQLite transaction,
// with keysafe's connection settings (WAL, synchronous=FULL, foreign keys, secure_delete).
// Usage: raw_import BUNDLE.pem DB
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common.hpp"

namespace {

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS keys (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, algorithm TEXT NOT NULL,
  spki_der BLOB NOT NULL, spki_sha256 TEXT NOT NULL UNIQUE, sealed_private_key BLOB,
  subject TEXT NOT NULL, dns TEXT NOT NULL, ip TEXT NOT NULL,
  current_certificate_id INTEGER REFERENCES certificates(id), created_at INTEGER NOT NULL,
  last_backup_at INTEGER);
CREATE TABLE IF NOT EXISTS certificates (
  id INTEGER PRIMARY KEY, key_id INTEGER NOT NULL REFERENCES keys(id) ON DELETE CASCADE,
  der BLOB NOT NULL, fingerprint_sha256 TEXT NOT NULL UNIQUE, spki_sha256 TEXT NOT NULL,
  subject TEXT NOT NULL, issuer TEXT NOT NULL, serial TEXT NOT NULL, not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL, dns TEXT NOT NULL, ip TEXT NOT NULL, is_ca INTEGER NOT NULL,
  chain_trusted INTEGER NOT NULL, chain_problem TEXT, installed_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS certificates_key ON certificates(key_id);
CREATE INDEX IF NOT EXISTS certificates_spki ON certificates(spki_sha256);
CREATE INDEX IF NOT EXISTS certificates_not_after ON certificates(not_after);
)sql";

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "raw_import: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: raw_import BUNDLE.pem DB\n");
    return 2;
  }
  bench::Ptr<BIO> in(BIO_new_file(argv[1], "rb"));
  if (!in) bench::die("cannot read the bundle");
  sqlite3* db = nullptr;
  check(sqlite3_open(argv[2], &db), db, "open");
  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON",
                             "PRAGMA secure_delete = ON", "PRAGMA synchronous = FULL"})
    check(sqlite3_exec(db, pragma, nullptr, nullptr, nullptr), db, pragma);
  check(sqlite3_exec(db, k_schema, nullptr, nullptr, nullptr), db, "schema");
  const std::int64_t now = std::time(nullptr);

  sqlite3_stmt* key_ins = nullptr;
  sqlite3_stmt* cert_ins = nullptr;
  sqlite3_stmt* current = nullptr;
  check(sqlite3_prepare_v2(db,
                           "INSERT INTO keys (name, algorithm, spki_der, spki_sha256, subject, "
                           "dns, ip, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &key_ins, nullptr),
        db, "prepare");
  check(sqlite3_prepare_v2(db,
                           "INSERT INTO certificates (key_id, der, fingerprint_sha256, "
                           "spki_sha256, subject, issuer, serial, not_before, not_after, dns, ip, "
                           "is_ca, chain_trusted, chain_problem, installed_at) VALUES (?, ?, ?, ?, "
                           "?, ?, ?, ?, ?, ?, ?, ?, 0, 'not checked at import', ?)",
                           -1, &cert_ins, nullptr),
        db, "prepare");
  check(sqlite3_prepare_v2(db, "UPDATE keys SET current_certificate_id = ? WHERE id = ?", -1,
                           &current, nullptr),
        db, "prepare");
  check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
  const long count = bench::for_each_certificate(in.get(), [&](const bench::ParsedCertificate& c) {
    sqlite3_reset(key_ins);
    sqlite3_bind_text(key_ins, 1, c.name.data(), static_cast<int>(c.name.size()), SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 2, c.algorithm.data(), static_cast<int>(c.algorithm.size()),
                      SQLITE_STATIC);
    sqlite3_bind_blob(key_ins, 3, c.spki.get(), c.spki_len, SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 4, c.spki_hash.data(), 64, SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 5, c.subject.data(), static_cast<int>(c.subject.size()), SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 6, c.dns_text.data(), static_cast<int>(c.dns_text.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 7, c.ip_text.data(), static_cast<int>(c.ip_text.size()), SQLITE_STATIC);
    sqlite3_bind_int64(key_ins, 8, now);
    check(sqlite3_step(key_ins), db, "insert key");
    const std::int64_t key_id = sqlite3_last_insert_rowid(db);

    sqlite3_reset(cert_ins);
    sqlite3_bind_int64(cert_ins, 1, key_id);
    sqlite3_bind_blob(cert_ins, 2, c.der.get(), c.der_len, SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 3, c.fingerprint.data(), 64, SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 4, c.spki_hash.data(), 64, SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 5, c.subject.data(), static_cast<int>(c.subject.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 6, c.issuer.data(), static_cast<int>(c.issuer.size()), SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 7, c.serial.data(), static_cast<int>(c.serial.size()), SQLITE_STATIC);
    sqlite3_bind_int64(cert_ins, 8, c.not_before);
    sqlite3_bind_int64(cert_ins, 9, c.not_after);
    sqlite3_bind_text(cert_ins, 10, c.dns_text.data(), static_cast<int>(c.dns_text.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 11, c.ip_text.data(), static_cast<int>(c.ip_text.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(cert_ins, 12, c.is_ca ? 1 : 0);
    sqlite3_bind_int64(cert_ins, 13, now);
    check(sqlite3_step(cert_ins), db, "insert certificate");
    const std::int64_t cert_id = sqlite3_last_insert_rowid(db);

    sqlite3_reset(current);
    sqlite3_bind_int64(current, 1, cert_id);
    sqlite3_bind_int64(current, 2, key_id);
    check(sqlite3_step(current), db, "set current");
  });
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  sqlite3_finalize(key_ins);
  sqlite3_finalize(cert_ins);
  sqlite3_finalize(current);
  sqlite3_close(db);
  std::printf("imported %ld certificates\n", count);
  return 0;
}
