// Reading and writing PKCS#12 (.p12/.pfx) files: keys, certificates, friendly names, MACs.
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

// True when `data` decodes as a DER/BER PFX (RFC 7292 §4); says nothing about its password.
bool looks_like_pkcs12(std::span<const std::uint8_t> data);

struct Pkcs12Key {
  ossl::PKey key;
  std::string friendly_name;  // UTF-8; empty when the bag has none
  Bytes local_key_id;         // pairs the key with its certificate; empty when absent
};

struct Pkcs12Cert {
  ossl::Cert cert;
  std::string friendly_name;
  Bytes local_key_id;
};

struct Pkcs12Contents {
  std::vector<Pkcs12Key> keys;
  std::vector<Pkcs12Cert> certs;
  bool mac_present = false;
  std::string mac_algorithm;          // "sha1", "sha256", ... ; empty without a MAC
  std::vector<std::string> warnings;  // e.g. "integrity could not be checked (no MAC)"
};

// Every key and certificate in every bag of every safe (plain and password-encrypted, nested
// SafeContents too). Without a password both an absent (NULL) and an empty ("") password are
// tried, since producers differ. Loads OpenSSL's legacy provider (RC2-40 bags) once.
// Throws Error: FilePassword (wrong or missing password), Unsupported (PBMAC1, GOST, or another
// MAC/encryption algorithm this OpenSSL lacks, named), Damaged (truncated or malformed),
// BadInput (not PKCS#12: PEM, a Java JKS keystore, anything else).
Pkcs12Contents read_pkcs12(std::span<const std::uint8_t> data, std::string_view source,
                           const std::optional<SecureBytes>& password);

// Modern: PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) key and certificate bags, HMAC-SHA-256 MAC —
//   OpenSSL 3, Java 11.0.12+/17, NSS, GnuTLS, Windows Server 2019+.
// Compat: pbeWithSHA1And3-KeyTripleDES-CBC key and certificate bags, HMAC-SHA-1 MAC — what
//   Windows Server 2016, macOS Keychain and old Java also read (never RC2-40).
enum class Pkcs12Profile { Modern, Compat };

// Iteration counts (see pkcs12.cpp for why these values).
inline constexpr int k_pkcs12_modern_iterations = 100000;
inline constexpr int k_pkcs12_compat_iterations = 10000;

// A PFX holding `key` (required), `cert` (may be null) and `chain`, with friendlyName and
// localKeyId on the key and its certificate. `password` must not contain a NUL byte.
Bytes write_pkcs12(const EVP_PKEY* key, const X509* cert, const std::vector<const X509*>& chain,
                   std::string_view friendly_name, std::span<const std::uint8_t> password,
                   Pkcs12Profile profile);

}  // namespace keysafe::formats
