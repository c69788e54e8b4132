// The backup file's outer layer: passphrase (scrypt + AES-256-GCM) or recipient (CMS
// AuthEnvelopedData, AES-256-GCM) encryption around the payload. docs/FORMAT.md describes both.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/crypto/aead.hpp"
#include "keysafe/crypto/kdf.hpp"

namespace keysafe::backup {

inline constexpr std::string_view k_magic_line = "KEYSAFE-BACKUP 1\n";
inline constexpr int k_container_version = 1;

enum class ContainerKind { Passphrase, Recipient };

// What the clear (authenticated) header of a passphrase backup says.
struct ContainerHeader {
  int version = k_container_version;
  crypto::KdfParams kdf;
  Bytes salt;
  std::int64_t created = 0;
  std::vector<std::string> names;
  std::vector<std::string> spki_sha256;
  // One per name: whether the entry's private key is in the backup. Empty in headers written
  // before keysafe recorded it (find-key then treats every entry as holding its key).
  std::vector<bool> private_key;
};

// Throws BadInput when the data is neither kind of keysafe backup.
ContainerKind detect_container(std::span<const std::uint8_t> file, std::string_view source);

Bytes seal_with_passphrase(std::span<const std::uint8_t> payload,
                           std::span<const std::uint8_t> passphrase, const crypto::KdfParams& kdf,
                           std::int64_t created, const std::vector<std::string>& names,
                           const std::vector<std::string>& spki_sha256,
                           const std::vector<bool>& private_key = {});
// Reads the header without the passphrase (to list what a backup holds, or say it is newer).
ContainerHeader read_header(std::span<const std::uint8_t> file, std::string_view source);
// FilePassword when the passphrase does not open it; Damaged when altered or truncated.
SecureBytes open_with_passphrase(std::span<const std::uint8_t> file,
                                 std::span<const std::uint8_t> passphrase,
                                 std::string_view source);

// CMS AuthEnvelopedData (RFC 5083) with AES-256-GCM content encryption (RFC 5084) to one RSA
// or EC certificate: `openssl cms -decrypt -inform DER -inkey KEY -in FILE` reads it.
Bytes seal_to_recipient(std::span<const std::uint8_t> payload, X509* recipient);
// Opens AuthEnvelopedData, and EnvelopedData with AES-256-CBC as keysafe wrote before.
SecureBytes open_with_recipient_key(std::span<const std::uint8_t> file, EVP_PKEY* key,
                                    X509* cert, std::string_view source);
// True when the file is (Auth)EnvelopedData addressed to `recipient` (checked after writing).
bool addressed_to(std::span<const std::uint8_t> file, X509* recipient);

}  // namespace keysafe::backup
