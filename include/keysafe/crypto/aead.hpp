// AES-256-GCM (NIST SP 800-38D) sealing with associated data: the store's data key and
// private keys, and the body of passphrase backups.
#pragma once

#include <cstdint>
#include <span>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::crypto {

inline constexpr std::size_t k_nonce_size = 12;
inline constexpr std::size_t k_tag_size = 16;

// nonce || ciphertext || tag. Returns false from `open` when the tag does not verify.
Bytes aead_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext,
                std::span<const std::uint8_t> aad);
bool aead_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
               std::span<const std::uint8_t> aad, SecureBytes& plaintext);

}  // namespace keysafe::crypto
