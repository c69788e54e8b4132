// ACME Renewal Information (ARI, RFC 9773): the certificate's identifier, the CA's suggested
// renewal window, and when to renew within it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <openssl/x509.h>

#include "keysafe/acme/http.hpp"

namespace keysafe::acme {

// RFC 9773 §4.1: base64url(authorityKeyIdentifier keyIdentifier) "." base64url(the serial's
// DER INTEGER content octets, a leading zero byte included).
std::string ari_cert_id(std::span<const std::uint8_t> key_identifier,
                        std::span<const std::uint8_t> serial_der);
// The same from a certificate; nullopt when it has no authorityKeyIdentifier keyIdentifier
// (ARI cannot name it, and renewal falls back to --due).
std::optional<std::string> ari_cert_id(X509* cert);

struct RenewalWindow {
  std::int64_t start = 0;  // Unix seconds
  std::int64_t end = 0;
  std::string explanation_url;            // "" when none (or not https)
  std::optional<std::int64_t> retry_after;  // when to ask again (Unix seconds)
};
// Parses a renewalInfo response (RFC 9773 §4.2). A body that is not JSON, lacks
// suggestedWindow, has times that are not RFC 3339, or an end not after its start throws
// Errc::BadInput naming the URL. The Retry-After header is bounded to 1 minute .. 1 day.
RenewalWindow parse_renewal_info(const HttpResponse& r, std::int64_t now);

// RFC 3339 date-time (e.g. 2025-01-02T04:00:00Z, 2025-01-02T05:00:00.5+01:00) as Unix seconds
// (fractions dropped); nullopt when it is not one.
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// RFC 9773 §4.2: a time chosen uniformly in [start, end) by `random` (any 64-bit value); the
// certificate is due once now reaches it.
std::int64_t choose_renewal_time(const RenewalWindow& window, std::uint64_t random);

}  // namespace keysafe::acme
