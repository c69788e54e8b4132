// What keysafe records and shows about a certificate, extracted once at install time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

struct CertificateInfo {
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string serial_hex;  // uppercase, no separators
  std::int64_t not_before = 0;  // Unix seconds, UTC
  std::int64_t not_after = 0;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::string fingerprint_sha256;  // of the DER certificate, lowercase hex
  Bytes spki;
  std::string spki_sha256;
  std::string key_algorithm;
  bool is_ca = false;
  bool self_issued = false;
};

CertificateInfo inspect_certificate(X509* cert);

Bytes certificate_der(const X509* cert);
std::string certificate_pem(const X509* cert);
ossl::Cert certificate_from_der(std::span<const std::uint8_t> der);

}  // namespace keysafe::x509
