// DNS names, IP addresses and distinguished names: validation, parsing and display.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

// Lowercased; a leading "*." is allowed (RFC 6125 §6.4.3). Throws Errc::Usage.
std::string normalize_dns_name(std::string_view name);
// Canonical text form of an IPv4 or IPv6 address. Throws Errc::Usage.
std::string normalize_ip(std::string_view address);

// "O=Example Ltd,C=GB" (commas inside a value escaped as "\,"). Throws Errc::Usage.
ossl::Name parse_subject(std::string_view dn);

// RFC 2253 text with UTF-8 kept as is.
std::string name_to_string(const X509_NAME* name);
std::optional<std::string> common_name(const X509_NAME* name);

// The DNS and IP entries of a subjectAltName, as they are (for display and matching; a
// certificate someone else signed may hold names keysafe would not sign).
void collect_alt_names(const GENERAL_NAMES* names, std::vector<std::string>& dns,
                       std::vector<std::string>& ip);

// The DNS names and IP addresses a certificate keysafe signs is for (RFC 5280 §4.2.1.6), each
// checked and normalized as normalize_dns_name and normalize_ip do.
struct AltNames {
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  bool empty() const noexcept { return dns.empty() && ip.empty(); }
};

// Names that come from a file or from the store rather than the command line, checked again
// before keysafe signs them: a bad one is Errc::BadInput (exit 1) naming it and `origin`
// (e.g. "the request \"host.req\"").
AltNames checked_alt_names(const std::vector<std::string>& dns, const std::vector<std::string>& ip,
                           std::string_view origin);
// The same for the subjectAltName entries of a certificate or request. An entry that is neither
// a dNSName nor an iPAddress of 4 or 16 octets (e-mail, URI, otherName, ...) is refused too: a
// certificate keysafe signs names host names and addresses, nothing it has not checked.
AltNames checked_alt_names(const GENERAL_NAMES* names, std::string_view origin);

// A name as it can be shown in a message: bytes outside printable ASCII as \xNN.
std::string printable_name(std::string_view name);

}  // namespace keysafe::x509
