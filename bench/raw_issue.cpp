// Baseline for bulk issuance: the in-process OpenSSL pipeline a program would write without a
// store. Per certificate: P-256 key generation → PKCS#10 request (subject CN, subjectAltName),
// signed and DER-encoded → the CA side decodes and verifies the request → a server certificate
// (basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage serverAuth,
// subjectAltName, subject and authority key identifiers, 128-bit random serial, 90 days) signed
// with the CA's key (P-256 with SHA-256, or P-384 with SHA-384: the same choice keysafe makes
// for each curve) → the certificate DER and the key's PKCS#8 DER kept in memory.
// Usage: raw_issue N THREADS [p256|p384]   (the CA's curve; p256 when omitted)
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "common.hpp"

namespace {

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bench::Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) bench::die("extension");
}

struct Issued {
  std::vector<unsigned char> cert_der;
  std::vector<unsigned char> key_der;
};

template <class F>
std::vector<unsigned char> der_of(F encode) {
  unsigned char* p = nullptr;
  const int len = encode(&p);
  if (len <= 0) bench::die("encoding");
  std::vector<unsigned char> out(p, p + len);
  OPENSSL_free(p);
  return out;
}

Issued issue_one(long i, EVP_PKEY* ca_key, const EVP_MD* ca_digest, X509* ca) {
  // Requester side: key and request.
  auto key = bench::p256_key();
  const std::string cn = "host-" + std::to_string(i) + ".bench.example";
  std::vector<unsigned char> req_der;
  {
    bench::Ptr<X509_REQ> req(X509_REQ_new());
    X509_REQ_set_version(req.get(), 0);
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key.get());
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name,
                                              ("DNS:" + cn).c_str());
    sk_X509_EXTENSION_push(exts, san);
    X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) == 0) bench::die("sign request");
    req_der = der_of([&](unsigned char** p) { return i2d_X509_REQ(req.get(), p); });
  }
  // CA side: decode, verify, issue.
  const unsigned char* p = req_der.data();
  bench::Ptr<X509_REQ> req(d2i_X509_REQ(nullptr, &p, static_cast<long>(req_der.size())));
  if (!req) bench::die("decode request");
  EVP_PKEY* req_key = X509_REQ_get0_pubkey(req.get());
  if (X509_REQ_verify(req.get(), req_key) != 1) bench::die("request signature");
  bench::Ptr<X509> cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_set_subject_name(cert.get(), X509_REQ_get_subject_name(req.get()));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 90L * 86400);
  X509_set_pubkey(cert.get(), req_key);
  STACK_OF(X509_EXTENSION)* req_exts = X509_REQ_get_extensions(req.get());
  for (int e = 0; e < sk_X509_EXTENSION_num(req_exts); ++e) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(req_exts, e);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name)
      X509_add_ext(cert.get(), ext, -1);
  }
  sk_X509_EXTENSION_pop_free(req_exts, X509_EXTENSION_free);
  add_ext(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca, NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), ca, NID_ext_key_usage, "serverAuth");
  add_ext(cert.get(), ca, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), ca, NID_authority_key_identifier, "keyid:always");
  if (X509_sign(cert.get(), ca_key, ca_digest) == 0) bench::die("sign certificate");
  Issued out;
  out.cert_der = der_of([&](unsigned char** q) { return i2d_X509(cert.get(), q); });
  out.key_der = der_of([&](unsigned char** q) { return i2d_PrivateKey(key.get(), q); });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string curve = argc == 4 ? argv[3] : "p256";
  if ((argc != 3 && argc != 4) || (curve != "p256" && curve != "p384")) {
    std::fprintf(stderr, "usage: raw_issue N THREADS [p256|p384]\n");
    return 2;
  }
  const long n = std::stol(argv[1]);
  const unsigned threads = static_cast<unsigned>(std::stoul(argv[2]));
  bench::Ptr<EVP_PKEY> ca_key(EVP_EC_gen(curve == "p256" ? "P-256" : "P-384"));
  if (!ca_key) bench::die("CA key generation failed");
  const EVP_MD* ca_digest = curve == "p256" ? EVP_sha256() : EVP_sha384();
  bench::Ptr<X509> ca(X509_new());
  X509_set_version(ca.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(ca.get()), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(ca.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("raw bench CA"), -1, -1, 0);
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  X509_gmtime_adj(X509_getm_notBefore(ca.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(ca.get()), 3650L * 86400);
  X509_set_pubkey(ca.get(), ca_key.get());
  add_ext(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(ca.get(), ca_key.get(), ca_digest) == 0) bench::die("sign CA");

  std::vector<Issued> issued(static_cast<std::size_t>(n));
  std::atomic<long> next{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (long i; (i = next++) < n;)
        issued[static_cast<std::size_t>(i)] = issue_one(i, ca_key.get(), ca_digest, ca.get());
    });
  for (auto& th : pool) th.join();
  std::size_t bytes = 0;
  for (const auto& x : issued) bytes += x.cert_der.size() + x.key_der.size();
  std::printf("issued %ld certificates (%zu bytes)\n", n, bytes);
  return 0;
}
