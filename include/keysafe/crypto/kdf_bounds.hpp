// The one validator for key-derivation parameters read from any file (store header, backups,
// PKCS#12, encrypted PKCS#8): a file must not choose how much memory or time keysafe spends.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keysafe/crypto/kdf.hpp"
#include "keysafe/error.hpp"

namespace keysafe::crypto {

// scrypt needs 128·r·N bytes and N·r·p units of work; 64x the default (2^17·8·1) is the most
// any file may ask for, and PBKDF2 at most ten million iterations (~10 s of SHA-256).
inline constexpr std::uint64_t k_max_scrypt_memory = std::uint64_t{1} << 30;
inline constexpr std::uint64_t k_max_scrypt_work = std::uint64_t{1} << 26;
inline constexpr std::uint64_t k_max_pbkdf2_iterations = 10'000'000;

// Empty when within the bounds, else which parameters exceed which bound, e.g.
// "scrypt N = 1024, r = 1048576, p = 1 needs 128 GiB of memory (128·r·N, at most 1 GiB)".
// N is the cost itself, not its logarithm; values are as read from the file.
std::string scrypt_out_of_range(std::uint64_t n, std::uint64_t r, std::uint64_t p);
// Iterated derivations (PBKDF2, PBES1, the PKCS#12 MAC and PBE key derivation): `kdf` names
// which one in the message.
std::string iterations_out_of_range(std::string_view kdf, std::uint64_t iterations);

// Raises `code` with the summary "key derivation parameters out of range in <what>".
[[noreturn]] void refuse_kdf_params(Errc code, std::string_view what, std::string problem,
                                    std::string remedy);

// The check for keysafe's own scrypt parameters (N = 2^log2_n): throws like refuse_kdf_params.
void check_kdf_params(const KdfParams& params, Errc code, std::string_view what,
                      std::string remedy);

}  // namespace keysafe::crypto
