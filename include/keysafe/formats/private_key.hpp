// Reading private keys from PEM/DER files, judging their strength, and writing encrypted PKCS#8.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::formats {

struct DecodedKey {
  ossl::PKey key;
  // How it was stored: "PKCS#8", "encrypted PKCS#8", "PKCS#1 RSA", "SEC1 EC", "traditional DSA",
  // "traditional encrypted PEM", or one of "DER PKCS#8", "DER encrypted PKCS#8",
  // "DER PKCS#1 RSA", "DER SEC1 EC", "DER traditional DSA".
  std::string format;
};

// Every private key in `data`: all private-key blocks of a PEM file (certificates and other
// blocks are skipped), or one DER key (PKCS#8 plain or encrypted, PKCS#1 RSA, SEC1 EC, DSA).
// `password` decrypts encrypted PKCS#8 and traditional (Proc-Type/DEK-Info) PEM keys; it is
// never prompted for. Each key passes check_private_key. `source` names the file in messages.
// Throws Error: FilePassword (encrypted and no password, or a wrong one), Unsupported (an
// encryption or key algorithm this OpenSSL lacks, named), Damaged (a key block that does not
// decode, broken PEM), BadInput (no private key in the file, or another kind of file).
std::vector<DecodedKey> read_private_keys(std::span<const std::uint8_t> data,
                                          std::string_view source,
                                          const std::optional<SecureBytes>& password);

// Refuses keys that are broken or trivially breakable whatever the policy: OpenSSL's own
// consistency check (EVP_PKEY_check) and, for RSA, primes of balanced size (OpenSSL 3.0
// accepts an RSA key with q = 2). Throws Damaged or BadInput naming `source`.
void check_private_key(const EVP_PKEY* key, std::string_view source);

// Why a key is below keysafe's policy ("RSA key of 1024 bits (below 2048)", "DSA key (DSA is
// deprecated)", "EC key of 192 bits (below 224)"), or nullopt when it is fine.
std::optional<std::string> weak_key_reason(const EVP_PKEY* key);

// The key as "-----BEGIN ENCRYPTED PRIVATE KEY-----" PEM: PKCS#8 with PBES2, PBKDF2-HMAC-SHA256
// (k_pkcs8_pbkdf2_iterations) and AES-256-CBC, as `openssl pkey -passin` reads it.
std::string encrypted_pkcs8_pem(const EVP_PKEY* key, std::span<const std::uint8_t> password);

// OWASP's 2023 figure for PBKDF2-HMAC-SHA256; ≈0.14 s to open here, paid once per import.
inline constexpr int k_pkcs8_pbkdf2_iterations = 600000;

}  // namespace keysafe::formats
