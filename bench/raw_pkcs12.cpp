// Baseline for `keysafe export --format pfx` and `keysafe import FILE.pfx`: PKCS12_create and
// PKCS12_parse at keysafe's modern profile (AES-256-CBC bags with PBKDF2-HMAC-SHA-256, 100000
// iterations; HMAC-SHA-256 MAC, 100000 iterations), reading and writing files.
// Usage: raw_pkcs12 export KEY.pem CERT.pem OUT.p12 | raw_pkcs12 import IN.p12
// The password is $BENCH_PASS.
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include <cstring>

#include "common.hpp"

int main(int argc, char** argv) {
  const char* pass = std::getenv("BENCH_PASS");
  if (pass == nullptr || argc < 3) {
    std::fprintf(stderr, "usage: BENCH_PASS=... raw_pkcs12 export KEY CERT OUT | import IN\n");
    return 2;
  }
  if (std::strcmp(argv[1], "export") == 0 && argc == 5) {
    bench::Ptr<BIO> kb(BIO_new_file(argv[2], "rb"));
    bench::Ptr<BIO> cb(BIO_new_file(argv[3], "rb"));
    if (!kb || !cb) bench::die("cannot read the key or certificate");
    bench::Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    bench::Ptr<X509> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!key || !cert) bench::die("bad key or certificate");
    // mac_iter -1: no MAC from PKCS12_create (it would use SHA-1); HMAC-SHA-256 set below.
    PKCS12* p12 = PKCS12_create(pass, "bench", key.get(), cert.get(), nullptr, NID_aes_256_cbc,
                                NID_aes_256_cbc, 100000, -1, 0);
    if (p12 == nullptr) bench::die("PKCS12_create failed");
    if (PKCS12_set_mac(p12, pass, -1, nullptr, 0, 100000, EVP_sha256()) != 1)
      bench::die("PKCS12_set_mac failed");
    bench::Ptr<BIO> out(BIO_new_file(argv[4], "wb"));
    if (!out || i2d_PKCS12_bio(out.get(), p12) != 1) bench::die("cannot write");
    PKCS12_free(p12);
    return 0;
  }
  if (std::strcmp(argv[1], "import") == 0 && argc == 3) {
    bench::Ptr<BIO> in(BIO_new_file(argv[2], "rb"));
    if (!in) bench::die("cannot read");
    PKCS12* p12 = d2i_PKCS12_bio(in.get(), nullptr);
    if (p12 == nullptr) bench::die("not PKCS#12");
    EVP_PKEY* key = nullptr;
    X509* cert = nullptr;
    STACK_OF(X509)* ca = nullptr;
    if (PKCS12_parse(p12, pass, &key, &cert, &ca) != 1) bench::die("PKCS12_parse failed");
    std::printf("%s\n", key != nullptr && cert != nullptr ? "key and certificate" : "incomplete");
    EVP_PKEY_free(key);
    X509_free(cert);
    sk_X509_pop_free(ca, X509_free);
    PKCS12_free(p12);
    return 0;
  }
  return 2;
}
