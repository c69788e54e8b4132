// scrypt (RFC 7914) key derivation from a passphrase, shared by the store header and passphrase
// backups; every parameter set is bounded (kdf_bounds.hpp) before it is used.
#pragma once

#include <cstdint>
#include <span>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::crypto {

struct KdfParams {
  std::uint32_t log2_n = 17;  // scrypt N = 2^17 (OWASP's floor), r = 8, p = 1
  std::uint32_t r = 8;
  std::uint32_t p = 1;
};
inline constexpr std::uint32_t k_default_log2_n = 17;
inline constexpr std::uint32_t k_min_log2_n = 10;  // low-cost stores, for tests only
// With r = 8, 2^20 is the largest N within the 1 GiB memory bound (128·r·N, kdf_bounds.hpp).
inline constexpr std::uint32_t k_max_log2_n = 20;

inline constexpr std::size_t k_key_size = 32;

// Throws Errc::Internal when `params` are beyond the bounds (callers check them first, with
// the error their file deserves: check_kdf_params).
SecureBytes derive_kek(std::span<const std::uint8_t> passphrase, std::span<const std::uint8_t> salt,
                       const KdfParams& params);
// How many scrypt derivations this process has run (store unlocks, rewraps and backup-file
// passphrases): shown by KEYSAFE_STATS=1, so the one-derivation-per-command rule is checkable.
std::uint64_t kdf_derivations() noexcept;

}  // namespace keysafe::crypto
