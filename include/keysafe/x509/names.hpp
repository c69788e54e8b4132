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

// The DNS and IP entries of a subjectAltName.
void collect_alt_names(const GENERAL_NAMES* names, std::vector<std::string>& dns,
                       std::vector<std::string>& ip);

}  // namespace keysafe::x509
