// Baseline for `keysafe import bundle.pem` into PostgreSQL: the same parse loop as raw_import
// (every certificate of a PEM bundle, SHA-256 of the DER and of the SubjectPublicKeyInfo, the
// same columns), then the rows sent with COPY ... FROM STDIN (text format, PQputCopyData), ids
// assigned by the client, in one transaction, into tables shaped like keysafe's (same types,
// keys, unique constraints and indexes; no triggers). libpq, OpenSSL and nlohmann-json only.
// Usage: raw_pg_copy BUNDLE.pem POSTGRESQL-URI
#include <libpq-fe.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common.hpp"

namespace {

constexpr const char* k_schema = R"sql(
DROP TABLE IF EXISTS raw_certificates, raw_keys CASCADE;
CREATE TABLE raw_keys (
  id BIGINT PRIMARY KEY, name TEXT COLLATE "C" NOT NULL UNIQUE, algorithm TEXT COLLATE "C" NOT NULL,
  spki_der BYTEA NOT NULL, spki_sha256 TEXT COLLATE "C" NOT NULL UNIQUE, sealed_private_key BYTEA,
  subject TEXT COLLATE "C" NOT NULL, dns TEXT COLLATE "C" NOT NULL, ip TEXT COLLATE "C" NOT NULL,
  current_certificate_id BIGINT, created_at BIGINT NOT NULL, last_backup_at BIGINT);
CREATE TABLE raw_certificates (
  id BIGINT PRIMARY KEY, key_id BIGINT NOT NULL REFERENCES raw_keys(id) ON DELETE CASCADE DEFERRABLE,
  der BYTEA NOT NULL, fingerprint_sha256 TEXT COLLATE "C" NOT NULL UNIQUE,
  spki_sha256 TEXT COLLATE "C" NOT NULL, subject TEXT COLLATE "C" NOT NULL,
  issuer TEXT COLLATE "C" NOT NULL, serial TEXT COLLATE "C" NOT NULL, not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL, dns TEXT COLLATE "C" NOT NULL, ip TEXT COLLATE "C" NOT NULL,
  is_ca BIGINT NOT NULL, chain_trusted BIGINT NOT NULL, chain_problem TEXT COLLATE "C",
  installed_at BIGINT NOT NULL);
CREATE INDEX raw_certificates_key ON raw_certificates(key_id);
CREATE INDEX raw_certificates_spki ON raw_certificates(spki_sha256);
CREATE INDEX raw_certificates_not_after ON raw_certificates(not_after);
ALTER TABLE raw_keys ADD FOREIGN KEY (current_certificate_id) REFERENCES raw_certificates(id)
  DEFERRABLE INITIALLY DEFERRED;
)sql";

void exec(PGconn* db, const char* sql) {
  PGresult* r = PQexec(db, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    std::fprintf(stderr, "raw_pg_copy: %s", PQerrorMessage(db));
    std::exit(1);
  }
  PQclear(r);
}

// COPY text format: a field with \, tab, newline and carriage return escaped.
void text_field(std::string& out, const std::string& s) {
  for (const char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  out += '\t';
}
void bytea_field(std::string& out, const unsigned char* p, int n) {
  out += "\\\\x";
  out += bench::hex(p, static_cast<std::size_t>(n));
  out += '\t';
}
void int_field(std::string& out, std::int64_t v) {
  out += std::to_string(v);
  out += '\t';
}
void end_row(std::string& out) { out.back() = '\n'; }

void copy(PGconn* db, const char* sql, const std::string& rows) {
  PGresult* r = PQexec(db, sql);
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    std::fprintf(stderr, "raw_pg_copy: %s", PQerrorMessage(db));
    std::exit(1);
  }
  PQclear(r);
  if (PQputCopyData(db, rows.data(), static_cast<int>(rows.size())) != 1 ||
      PQputCopyEnd(db, nullptr) != 1) {
    std::fprintf(stderr, "raw_pg_copy: %s", PQerrorMessage(db));
    std::exit(1);
  }
  r = PQgetResult(db);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    std::fprintf(stderr, "raw_pg_copy: %s", PQerrorMessage(db));
    std::exit(1);
  }
  PQclear(r);
  while ((r = PQgetResult(db)) != nullptr) PQclear(r);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: raw_pg_copy BUNDLE.pem POSTGRESQL-URI\n");
    return 2;
  }
  bench::Ptr<BIO> in(BIO_new_file(argv[1], "rb"));
  if (!in) bench::die("cannot read the bundle");
  PGconn* db = PQconnectdb(argv[2]);
  if (PQstatus(db) != CONNECTION_OK) {
    std::fprintf(stderr, "raw_pg_copy: %s", PQerrorMessage(db));
    return 1;
  }
  PQsetNoticeProcessor(db, [](void*, const char*) {}, nullptr);
  exec(db, k_schema);
  const std::int64_t now = std::time(nullptr);
  std::string keys, certificates;
  long count = 0;
  bench::for_each_certificate(in.get(), [&](const bench::ParsedCertificate& c) {
    const std::int64_t id = ++count;  // one key and one certificate per entry: the same ids
    int_field(keys, id);
    text_field(keys, c.name);
    text_field(keys, c.algorithm);
    bytea_field(keys, c.spki.get(), c.spki_len);
    text_field(keys, c.spki_hash);
    keys += "\\N\t";
    text_field(keys, c.subject);
    text_field(keys, c.dns_text);
    text_field(keys, c.ip_text);
    int_field(keys, id);
    int_field(keys, now);
    keys += "\\N\t";
    end_row(keys);

    int_field(certificates, id);
    int_field(certificates, id);
    bytea_field(certificates, c.der.get(), c.der_len);
    text_field(certificates, c.fingerprint);
    text_field(certificates, c.spki_hash);
    text_field(certificates, c.subject);
    text_field(certificates, c.issuer);
    text_field(certificates, c.serial);
    int_field(certificates, c.not_before);
    int_field(certificates, c.not_after);
    text_field(certificates, c.dns_text);
    text_field(certificates, c.ip_text);
    int_field(certificates, c.is_ca ? 1 : 0);
    int_field(certificates, 0);
    text_field(certificates, "not checked at import");
    int_field(certificates, now);
    end_row(certificates);
  });
  exec(db, "BEGIN");
  copy(db, "COPY raw_keys FROM STDIN", keys);
  copy(db, "COPY raw_certificates FROM STDIN", certificates);
  exec(db, "COMMIT");
  PQfinish(db);
  std::printf("imported %ld certificates\n", count);
  return 0;
}
