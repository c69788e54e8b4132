// Building certificates and CRLs: CA certificates, end-entity certificates, revocation lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

// What an end-entity certificate is for (RFC 5280 §4.2.1.12 extendedKeyUsage).
enum class LeafProfile { Server, Client };
std::optional<LeafProfile> parse_leaf_profile(std::string_view name);
std::string_view leaf_profile_name(LeafProfile profile) noexcept;

// A random positive serial of 128 bits (RFC 5280 §4.1.2.2: positive, at most 20 octets;
// CA/Browser Forum: at least 64 bits from a CSPRNG).
ossl::BigNum random_serial();
// Uppercase hex without separators, as certificates.serial stores it.
std::string serial_hex(const BIGNUM* serial);
// Parses uppercase or lowercase hex (optional "0x", ':' separators allowed). Throws Usage.
ossl::BigNum parse_serial_hex(std::string_view hex);

struct Validity {
  std::int64_t not_before = 0;  // Unix seconds
  std::int64_t not_after = 0;
};

// A CA certificate: basicConstraints CA:TRUE critical (pathLenConstraint when given),
// keyUsage keyCertSign+cRLSign critical, SKI, AKI. Self-signed when `issuer_cert` is null.
ossl::Cert build_ca_certificate(EVP_PKEY* key, const X509_NAME* subject, const Validity& validity,
                                const BIGNUM* serial, X509* issuer_cert, EVP_PKEY* issuer_key,
                                std::optional<int> path_len);

struct LeafSpec {
  const EVP_PKEY* public_key = nullptr;
  const X509_NAME* subject = nullptr;
  // Copied as is (it comes from the request, or subject_alt_name()); may be null.
  const X509_EXTENSION* subject_alt_name = nullptr;
  LeafProfile profile = LeafProfile::Server;
  Validity validity;
  const BIGNUM* serial = nullptr;
};

// An end-entity certificate: basicConstraints CA:FALSE critical, keyUsage critical
// (digitalSignature, and keyEncipherment for RSA keys), extendedKeyUsage, subjectAltName,
// SKI, AKI. Signed by `ca_key`; with a null `ca_cert` it is self-signed (`ca_key` must then
// be the private half of `public_key`).
ossl::Cert build_leaf_certificate(X509* ca_cert, EVP_PKEY* ca_key, const LeafSpec& spec);

// A subjectAltName extension of DNS names and IP addresses (already normalized); an empty
// handle when both lists are empty.
ossl::Extension subject_alt_name(const std::vector<std::string>& dns,
                                 const std::vector<std::string>& ip);
// A copy of the request's subjectAltName extension; an empty handle when it has none.
ossl::Extension request_subject_alt_name(X509_REQ* request);

// A PKCS#10 request signed by `key` with exactly this subject and subjectAltName (copied,
// e.g. from the certificate being renewed); `san` may be null.
ossl::Req build_request_with(EVP_PKEY* key, const X509_NAME* subject, const X509_EXTENSION* san);
// A copy of the certificate's subjectAltName extension; an empty handle when it has none.
ossl::Extension certificate_subject_alt_name(X509* cert);

// RFC 5280 §5.3.1 reason codes by their ASN.1 names ("keyCompromise", "superseded", ...).
std::optional<int> parse_revocation_reason(std::string_view name);
std::string revocation_reason_name(int reason);
std::vector<std::string> revocation_reason_names();

struct RevokedSerial {
  std::string serial_hex;
  std::int64_t revoked_at = 0;
  std::optional<int> reason;  // absent = unspecified (the extension is omitted, §5.3.1)
};

// A v2 CRL (RFC 5280 §5): thisUpdate, nextUpdate, cRLNumber, AKI, one entry per serial.
ossl::Crl build_crl(X509* ca_cert, EVP_PKEY* ca_key, const std::vector<RevokedSerial>& revoked,
                    std::int64_t crl_number, std::int64_t this_update, std::int64_t next_update);
Bytes crl_der(X509_CRL* crl);
std::string crl_pem(X509_CRL* crl);

}  // namespace keysafe::x509
