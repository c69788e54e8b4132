// Baseline for `keysafe import bundle.pem` into PostgreSQL: the same parse loop as raw_import
// (every certificate of a PEM bundle, SHA-256 of the DER and of the SubjectPublicKeyInfo, the
// same columns), then the rows sent with COPY ... FROM STDIN (text format, PQputCopyData), ids
// assigned by the client, in one transaction, into tables shaped like keysafe's (same types,
// keys, unique constraints and indexes; no triggers). libpq, OpenSSL and nlohmann-json only.
// Usage: raw_pg_copy BUNDLE.pem POSTGRESQL-URI
#include <libpq-fe.h>
#include <openssl/pem.h>

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

std::string name_text(const X509_NAME* name) {
  bench::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::int64_t unix_time(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string sha256_hex(const unsigned char* p, std::size_t n) {
  unsigned char md[32];
  EVP_Digest(p, n, md, nullptr, EVP_sha256(), nullptr);
  return bench::hex(md, 32);
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
  while (true) {
    bench::Ptr<X509> cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    unsigned char* der = nullptr;
    const int der_len = i2d_X509(cert.get(), &der);
    unsigned char* spki = nullptr;
    const int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki);
    const std::string fingerprint = sha256_hex(der, static_cast<std::size_t>(der_len));
    const std::string spki_hash = sha256_hex(spki, static_cast<std::size_t>(spki_len));
    const std::string subject = name_text(X509_get_subject_name(cert.get()));
    const std::string issuer = name_text(X509_get_issuer_name(cert.get()));
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
    char* serial_chars = BN_bn2hex(bn);
    const std::string serial = serial_chars;
    OPENSSL_free(serial_chars);
    BN_free(bn);
    nlohmann::json dns = nlohmann::json::array(), ip = nlohmann::json::array();
    bench::Ptr<GENERAL_NAMES> sans(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type == GEN_DNS)
        dns.push_back(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.ia5)),
                                  static_cast<std::size_t>(ASN1_STRING_length(gn->d.ia5))));
    }
    const EVP_PKEY* pub = X509_get0_pubkey(cert.get());
    const std::string algorithm =
        pub == nullptr ? "unknown"
                       : std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(pub))) + "-" +
                             std::to_string(EVP_PKEY_get_bits(pub));
    const bool is_ca = (X509_get_extension_flags(cert.get()) & EXFLAG_CA) != 0;
    const std::string dns_text = dns.dump(), ip_text = ip.dump();
    std::string name = "cert-" + fingerprint.substr(0, 12);
    if (int idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert.get()), NID_commonName, -1);
        idx >= 0) {
      const ASN1_STRING* cn =
          X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(cert.get()), idx));
      name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                  static_cast<std::size_t>(ASN1_STRING_length(cn)));
    }
    ++count;
    const std::int64_t id = count;  // one key and one certificate per entry: the same ids
    int_field(keys, id);
    text_field(keys, name);
    text_field(keys, algorithm);
    bytea_field(keys, spki, spki_len);
    text_field(keys, spki_hash);
    keys += "\\N\t";
    text_field(keys, subject);
    text_field(keys, dns_text);
    text_field(keys, ip_text);
    int_field(keys, id);
    int_field(keys, now);
    keys += "\\N\t";
    end_row(keys);

    int_field(certificates, id);
    int_field(certificates, id);
    bytea_field(certificates, der, der_len);
    text_field(certificates, fingerprint);
    text_field(certificates, spki_hash);
    text_field(certificates, subject);
    text_field(certificates, issuer);
    text_field(certificates, serial);
    int_field(certificates, unix_time(X509_get0_notBefore(cert.get())));
    int_field(certificates, unix_time(X509_get0_notAfter(cert.get())));
    text_field(certificates, dns_text);
    text_field(certificates, ip_text);
    int_field(certificates, is_ca ? 1 : 0);
    int_field(certificates, 0);
    text_field(certificates, "not checked at import");
    int_field(certificates, now);
    end_row(certificates);
    OPENSSL_free(der);
    OPENSSL_free(spki);
  }
  ERR_clear_error();
  exec(db, "BEGIN");
  copy(db, "COPY raw_keys FROM STDIN", keys);
  copy(db, "COPY raw_certificates FROM STDIN", certificates);
  exec(db, "COMMIT");
  PQfinish(db);
  std::printf("imported %ld certificates\n", count);
  return 0;
}
