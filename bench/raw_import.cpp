// Baseline for `keysafe import bundle.pem`: parse every certificate of a PEM bundle, hash it
// (SHA-256 of the DER and of the SubjectPublicKeyInfo), and insert a certificate-only entry
// (keys + certificates rows, the same columns as keysafe's schema) in one SQLite transaction,
// with keysafe's connection settings (WAL, synchronous=FULL, foreign keys, secure_delete).
// Usage: raw_import BUNDLE.pem DB
#include <openssl/pem.h>
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

    sqlite3_reset(key_ins);
    sqlite3_bind_text(key_ins, 1, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 2, algorithm.data(), static_cast<int>(algorithm.size()),
                      SQLITE_STATIC);
    sqlite3_bind_blob(key_ins, 3, spki, spki_len, SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 4, spki_hash.data(), 64, SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 5, subject.data(), static_cast<int>(subject.size()), SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 6, dns_text.data(), static_cast<int>(dns_text.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(key_ins, 7, ip_text.data(), static_cast<int>(ip_text.size()), SQLITE_STATIC);
    sqlite3_bind_int64(key_ins, 8, now);
    check(sqlite3_step(key_ins), db, "insert key");
    const std::int64_t key_id = sqlite3_last_insert_rowid(db);

    sqlite3_reset(cert_ins);
    sqlite3_bind_int64(cert_ins, 1, key_id);
    sqlite3_bind_blob(cert_ins, 2, der, der_len, SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 3, fingerprint.data(), 64, SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 4, spki_hash.data(), 64, SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 5, subject.data(), static_cast<int>(subject.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 6, issuer.data(), static_cast<int>(issuer.size()), SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 7, serial.data(), static_cast<int>(serial.size()), SQLITE_STATIC);
    sqlite3_bind_int64(cert_ins, 8, unix_time(X509_get0_notBefore(cert.get())));
    sqlite3_bind_int64(cert_ins, 9, unix_time(X509_get0_notAfter(cert.get())));
    sqlite3_bind_text(cert_ins, 10, dns_text.data(), static_cast<int>(dns_text.size()),
                      SQLITE_STATIC);
    sqlite3_bind_text(cert_ins, 11, ip_text.data(), static_cast<int>(ip_text.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(cert_ins, 12, is_ca ? 1 : 0);
    sqlite3_bind_int64(cert_ins, 13, now);
    check(sqlite3_step(cert_ins), db, "insert certificate");
    const std::int64_t cert_id = sqlite3_last_insert_rowid(db);

    sqlite3_reset(current);
    sqlite3_bind_int64(current, 1, cert_id);
    sqlite3_bind_int64(current, 2, key_id);
    check(sqlite3_step(current), db, "set current");
    OPENSSL_free(der);
    OPENSSL_free(spki);
    ++count;
  }
  ERR_clear_error();
  check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
  sqlite3_finalize(key_ins);
  sqlite3_finalize(cert_ins);
  sqlite3_finalize(current);
  sqlite3_close(db);
  std::printf("imported %ld certificates\n", count);
  return 0;
}
