// Envelope encryption: scrypt derives a key-encryption key that wraps one random data key,
// and the data key seals every private key with AES-256-GCM (docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <span>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::store {

struct KdfParams {
  std::uint32_t log2_n = 17;  // scrypt N = 2^17 (OWASP's floor), r = 8, p = 1
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};
inline constexpr std::uint32_t k_default_log2_n = 17;
inline constexpr std::uint32_t k_min_log2_n = 10;  // low-cost stores, for tests only
inline constexpr std::uint32_t k_max_log2_n = 22;

inline constexpr std::size_t k_key_size = 32;
inline constexpr std::size_t k_nonce_size = 12;
inline constexpr std::size_t k_tag_size = 16;

SecureBytes derive_kek(std::span<const std::uint8_t> passphrase, std::span<const std::uint8_t> salt,
                       const KdfParams& params);
// How many scrypt derivations this process has run (store unlocks, rewraps and backup-file
// passphrases): shown by KEYSAFE_STATS=1, so the one-derivation-per-command rule is checkable.
std::uint64_t kdf_derivations() noexcept;

// nonce || ciphertext || tag. Returns false from `open` when the tag does not verify.
Bytes aead_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext,
                std::span<const std::uint8_t> aad);
bool aead_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
               std::span<const std::uint8_t> aad, SecureBytes& plaintext);

}  // namespace keysafe::store
