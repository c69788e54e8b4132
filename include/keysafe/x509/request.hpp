// PKCS#10 certificate requests: building, signing and inspecting.
#pragma once

#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

struct RequestSpec {
  std::string subject;           // extra RDNs, e.g. "O=Example,C=GB"; may be empty
  std::vector<std::string> dns;  // normalized
  std::vector<std::string> ip;   // normalized
};

// Subject = RequestSpec::subject plus CN = first DNS name (or IP) unless it names a CN;
// subjectAltName = every DNS and IP name (RFC 5280 §4.2.1.6).
ossl::Req build_request(const EVP_PKEY* key, const RequestSpec& spec);

struct RequestInfo {
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  Bytes spki;
  std::string spki_sha256;
};
RequestInfo inspect_request(X509_REQ* req);

bool request_signature_valid(X509_REQ* req);

Bytes request_der(X509_REQ* req);
std::string request_pem(X509_REQ* req);
ossl::Req request_from_der(std::span<const std::uint8_t> der);

}  // namespace keysafe::x509
