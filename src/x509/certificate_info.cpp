// Extracting the fields keysafe stores in columns, so listings never decode certificates.
#include "keysafe/x509/certificate_info.hpp"

#include <openssl/asn1.h>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::x509 {
namespace {

std::int64_t to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ossl::clear_errors();
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string serial_hex(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  const ossl::BigNum bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) {
    ossl::clear_errors();
    return "";
  }
  return ossl::take_string(BN_bn2hex(bn.get()));
}

std::string key_algorithm_of(X509* cert) {
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) {
    ossl::clear_errors();
    // A key type OpenSSL cannot decode: name its algorithm OID instead.
    ASN1_OBJECT* alg = nullptr;
    X509_PUBKEY_get0_param(&alg, nullptr, nullptr, nullptr, X509_get_X509_PUBKEY(cert));
    char buf[80] = {};
    if (alg != nullptr) OBJ_obj2txt(buf, sizeof buf, alg, 0);
    return std::string("unsupported:") + buf;
  }
  return describe_key(key);
}

}  // namespace

CertificateInfo inspect_certificate(X509* cert) {
  CertificateInfo info;
  info.subject = name_to_string(X509_get_subject_name(cert));
  info.issuer = name_to_string(X509_get_issuer_name(cert));
  info.serial_hex = serial_hex(cert);
  info.not_before = to_unix(X509_get0_notBefore(cert));
  info.not_after = to_unix(X509_get0_notAfter(cert));
  ossl::GeneralNames sans(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  collect_alt_names(sans.get(), info.dns, info.ip);
  const Bytes der = certificate_der(cert);
  info.fingerprint_sha256 = to_hex(sha256(der));
  info.spki = spki_der(cert);
  info.spki_sha256 = spki_sha256_hex(info.spki);
  info.key_algorithm = key_algorithm_of(cert);
  // basicConstraints cA only: X509_check_ca also calls v1 self-signed leaves CAs.
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  info.self_issued = X509_check_issued(cert, cert) == X509_V_OK;
  ossl::clear_errors();
  return info;
}

Bytes certificate_der(const X509* cert) {
  unsigned char* out = nullptr;
  const int len = i2d_X509(cert, &out);
  Bytes result = ossl::take_bytes(out, len);
  if (len <= 0) ossl::fail(Errc::Crypto, "encoding a certificate failed");
  return result;
}

std::string certificate_pem(const X509* cert) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1)
    ossl::fail(Errc::Crypto, "encoding a certificate as PEM failed");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

ossl::Cert certificate_from_der(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  ossl::Cert cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size())
    ossl::fail(Errc::StoreDamaged, "a stored certificate does not decode");
  return cert;
}

}  // namespace keysafe::x509
