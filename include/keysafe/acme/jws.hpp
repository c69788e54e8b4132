// JSON Web Signatures for ACME (RFC 8555 §6.2): base64url, JWKs and their RFC 7638
// thumbprints, and flattened JWS objects signed ES256/ES384 (raw r‖s) or RS256.
#pragma once

#include <nlohmann/json.hpp>

#include <span>
#include <string>
#include <string_view>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::acme {

// RFC 4648 §5, without padding (RFC 7515 §2).
std::string base64url(std::span<const std::uint8_t> data);
inline std::string base64url(std::string_view text) { return base64url(as_span(text)); }
// Throws Errc::BadInput on a character outside the alphabet or an impossible length.
Bytes from_base64url(std::string_view text);

// The public JWK of an EC (P-256, P-384) or RSA key, with only the required members (RFC 7518
// §6.2.1, §6.3.1), so that it is also the thumbprint's input. Throws Errc::Unsupported.
nlohmann::json public_jwk(const EVP_PKEY* key);
// RFC 7638: base64url(SHA-256(the required members, sorted, no whitespace)).
std::string jwk_thumbprint(const nlohmann::json& jwk);
// A public key from a JWK (EC P-256/P-384 or RSA): for tests and for checking a CA's answer.
ossl::PKey key_from_jwk(const nlohmann::json& jwk);

// "ES256" (P-256), "ES384" (P-384) or "RS256" (RSA); throws Errc::Unsupported for others.
std::string jws_algorithm(const EVP_PKEY* key);

// The JWS signature bytes of `signing_input` (RFC 7515 §5.1): for EC the fixed-size r‖s
// (RFC 7518 §3.4), for RSA PKCS#1 v1.5 with SHA-256.
Bytes jws_sign(EVP_PKEY* key, std::string_view signing_input);
// Verifies a signature made as jws_sign makes it (tests; a JWS from elsewhere).
bool jws_verify(EVP_PKEY* key, std::string_view signing_input, std::span<const std::uint8_t> sig);

// A flattened JWS (RFC 7515 §7.2.2) as ACME posts it: `protected_header` gets "alg" added;
// the caller sets "nonce", "url" and either "jwk" or "kid". An empty `payload` string is
// POST-as-GET (RFC 8555 §6.3), whose payload is the empty string.
nlohmann::json flattened_jws(EVP_PKEY* key, nlohmann::json protected_header,
                             std::string_view payload);

// The external account binding of newAccount (RFC 8555 §7.3.4): a flattened JWS, HS256 with
// the CA's MAC key, over the account's public JWK, its protected header {alg, kid, url}.
nlohmann::json external_account_binding(std::string_view eab_kid,
                                        std::span<const std::uint8_t> mac_key,
                                        const nlohmann::json& account_jwk,
                                        const std::string& new_account_url);

}  // namespace keysafe::acme
