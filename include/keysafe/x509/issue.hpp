// Building certificates and CRLs: CA certificates, end-entity certificates, revocation lists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/x509/names.hpp"

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
  // Checked names (checked_alt_names); the subjectAltName is built from them, never copied.
  AltNames alt_names;
  LeafProfile profile = LeafProfile::Server;
  Validity validity;
  const BIGNUM* serial = nullptr;
};

// An end-entity certificate: basicConstraints CA:FALSE critical, keyUsage critical
// (digitalSignature, and keyEncipherment for RSA keys), extendedKeyUsage, subjectAltName,
// SKI, AKI. Signed by `ca_key`; with a null `ca_cert` it is self-signed (`ca_key` must then
// be the private half of `public_key`).
ossl::Cert build_leaf_certificate(X509* ca_cert, EVP_PKEY* ca_key, const LeafSpec& spec);

// A subjectAltName value built one GENERAL_NAME at a time: a dNSName IA5String per DNS name,
// an iPAddress of 4 or 16 octets (a2i_IPADDRESS) per address. Never parsed from OpenSSL's
// "DNS:a,IP:b" configuration text, where a comma inside a name would start another entry.
// Each name is checked again (normalize_dns_name/normalize_ip). Null when `names` is empty.
ossl::GeneralNames general_names(const AltNames& names);

// The subjectAltName names of a request or certificate, checked (checked_alt_names; `origin`
// names the file or entry in the error). A second subjectAltName extension, or one that does
// not decode, is Errc::BadInput too.
AltNames request_alt_names(X509_REQ* request, std::string_view origin);
AltNames certificate_alt_names(X509* cert, std::string_view origin);

// A PKCS#10 request signed by `key` with exactly this subject and these names (e.g. those of
// the certificate being renewed).
ossl::Req build_request_with(EVP_PKEY* key, const X509_NAME* subject, const AltNames& names);
// Adds a subjectAltName extension request (PKCS#9 extensionRequest) of `names` to `request`,
// built by general_names(); nothing when `names` is empty.
void add_request_alt_names(X509_REQ* request, const AltNames& names);

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
