// certbot's own files, read for keysafe adopt certbot: a lineage's renewal configuration
// (renewal/NAME.conf, configobj syntax, parsed with inih), its ACME account key (a JWK in
// accounts/.../private_key.json) and the symbolic links of live/NAME into archive/NAME.
// Nothing here writes; everything read is treated as hostile input.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::adopt {

// renewal/NAME.conf as certbot writes it (configobj): top-level `key = value` lines (cert,
// privkey, chain, fullchain, archive_dir, version), the [renewalparams] section (account,
// authenticator, server, key_type, webroot_path, http01_port, ...) and its [[webroot_map]]
// subsection (domain = webroot directory). Values are unquoted; a configobj list
// ("/var/www/html,") stays as written (certbot_list splits it).
struct CertbotRenewalConf {
  std::map<std::string, std::string> top;
  std::map<std::string, std::string> params;       // [renewalparams]
  std::map<std::string, std::string> webroot_map;  // [[webroot_map]] under [renewalparams]
  std::vector<std::string> ignored;  // sections keysafe does not read, for the plan's notes
};

// Errc::BadInput naming the file and line for what inih rejects, for what inih would read
// differently from configobj (a line longer than inih's 200 bytes, a " ;" inih takes for a
// comment, an indented continuation line, a key given twice) and for a nesting certbot never
// writes. The text is at most 64 KiB.
CertbotRenewalConf parse_certbot_renewal(std::string_view text, const std::string& source);

// A configobj list value: "a, b," -> {"a", "b"}; a single value -> {value}. Quotes removed.
std::vector<std::string> certbot_list(std::string_view value);

// A private JWK (RFC 7518 §6.2.2, §6.3.2: RSA with n, e, d, p, q, dp, dq, qi; EC P-256/P-384
// with crv, x, y, d) as an EVP_PKEY, built with EVP_PKEY_fromdata and checked
// (EVP_PKEY_private_check / pairwise). Errc::BadInput for a missing or malformed member,
// Errc::Unsupported for another key type or curve.
ossl::PKey private_key_from_jwk(const nlohmann::json& jwk);

// certbot's account directory for an ACME server URL: accounts/HOST[:PORT]/PATH, as certbot's
// account storage names it ("https://127.0.0.1:14000/dir" -> "127.0.0.1:14000/dir"). Errc::BadInput
// for a URL that is not https or that would leave accounts/ ("..", empty components).
std::string certbot_account_subdir(std::string_view server_url);

}  // namespace keysafe::adopt
