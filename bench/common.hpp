// Small helpers shared by the raw baselines: OpenSSL (and nlohmann-json) only, no keysafe code.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bench {

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "bench: %s\n", what);
  ERR_print_errors_fp(stderr);
  std::exit(1);
}

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BASIC_CONSTRAINTS* p) const { BASIC_CONSTRAINTS_free(p); }
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

inline std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}

inline Ptr<EVP_PKEY> p256_key() {
  Ptr<EVP_PKEY> k(EVP_EC_gen("P-256"));
  if (!k) die("EC key generation failed");
  return k;
}

inline std::string name_text(const X509_NAME* name) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

inline std::int64_t unix_time(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return static_cast<std::int64_t>(timegm(&tm));
}

inline std::string sha256_hex(const unsigned char* p, std::size_t n) {
  unsigned char md[32];
  EVP_Digest(p, n, md, nullptr, EVP_sha256(), nullptr);
  return hex(md, 32);
}

// One certificate of a bundle with the columns keysafe's import stores for it (a
// certificate-only entry: keys + certificates rows).
struct ParsedCertificate {
  Ptr<unsigned char> der;
  int der_len = 0;
  Ptr<unsigned char> spki;  // SubjectPublicKeyInfo DER
  int spki_len = 0;
  std::string fingerprint;  // SHA-256 of the DER, hex
  std::string spki_hash;    // SHA-256 of the SubjectPublicKeyInfo, hex
  std::string subject, issuer, serial, algorithm, name;
  std::string dns_text, ip_text;  // JSON arrays
  std::int64_t not_before = 0, not_after = 0;
  bool is_ca = false;
};

// The parse loop of the import baselines (raw_import, raw_pg_copy): `row` gets every
// certificate of the PEM bundle `in`, in order; returns how many.
template <class Row>
long for_each_certificate(BIO* in, Row&& row) {
  long count = 0;
  while (true) {
    Ptr<X509> cert(PEM_read_bio_X509(in, nullptr, nullptr, nullptr));
    if (!cert) break;
    ParsedCertificate c;
    unsigned char* der = nullptr;
    c.der_len = i2d_X509(cert.get(), &der);
    c.der.reset(der);
    unsigned char* spki = nullptr;
    c.spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki);
    c.spki.reset(spki);
    c.fingerprint = sha256_hex(der, static_cast<std::size_t>(c.der_len));
    c.spki_hash = sha256_hex(spki, static_cast<std::size_t>(c.spki_len));
    c.subject = name_text(X509_get_subject_name(cert.get()));
    c.issuer = name_text(X509_get_issuer_name(cert.get()));
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
    char* serial_chars = BN_bn2hex(bn);
    c.serial = serial_chars;
    OPENSSL_free(serial_chars);
    BN_free(bn);
    nlohmann::json dns = nlohmann::json::array(), ip = nlohmann::json::array();
    Ptr<GENERAL_NAMES> sans(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans.get(), i);
      if (gn->type == GEN_DNS)
        dns.push_back(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.ia5)),
                                  static_cast<std::size_t>(ASN1_STRING_length(gn->d.ia5))));
    }
    const EVP_PKEY* pub = X509_get0_pubkey(cert.get());
    c.algorithm = pub == nullptr ? "unknown"
                                 : std::string(OBJ_nid2sn(EVP_PKEY_get_base_id(pub))) + "-" +
                                       std::to_string(EVP_PKEY_get_bits(pub));
    c.is_ca = (X509_get_extension_flags(cert.get()) & EXFLAG_CA) != 0;
    c.dns_text = dns.dump();
    c.ip_text = ip.dump();
    c.name = "cert-" + c.fingerprint.substr(0, 12);
    if (int idx = X509_NAME_get_index_by_NID(X509_get_subject_name(cert.get()), NID_commonName, -1);
        idx >= 0) {
      const ASN1_STRING* cn =
          X509_NAME_ENTRY_get_data(X509_NAME_get_entry(X509_get_subject_name(cert.get()), idx));
      c.name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                    static_cast<std::size_t>(ASN1_STRING_length(cn)));
    }
    c.not_before = unix_time(X509_get0_notBefore(cert.get()));
    c.not_after = unix_time(X509_get0_notAfter(cert.get()));
    ++count;
    row(c);
  }
  ERR_clear_error();  // the end of the bundle leaves PEM's "no start line"
  return count;
}

}  // namespace bench
