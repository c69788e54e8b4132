// A P-256 key and a self-signed certificate for the micro-benchmarks (made with OpenSSL).
#pragma once

#include <openssl/x509.h>

#include "keysafe/ossl/handles.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace bench {

struct Fixture {
  keysafe::ossl::PKey key = keysafe::x509::generate_key(keysafe::x509::KeyAlgorithm::EcP256);
  keysafe::ossl::Cert cert{X509_new()};
  Fixture() {
    X509_set_version(cert.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("www.bench.example"), -1,
                               -1, 0);
    X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 90L * 86400);
    X509_set_pubkey(cert.get(), key.get());
    X509_sign(cert.get(), key.get(), EVP_sha256());
  }
};

}  // namespace bench
