// Bounds on scrypt and PBKDF2 parameters, checked before any derivation.
#include "keysafe/crypto/kdf_bounds.hpp"

#include <limits>

namespace keysafe::crypto {
namespace {

constexpr std::uint64_t k_saturated = std::numeric_limits<std::uint64_t>::max();

// a·b, or k_saturated when it does not fit: a file may hold any value.
std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  std::uint64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? k_saturated : out;
}

std::string size_text(std::uint64_t bytes) {
  if (bytes == k_saturated) return "more than 16 EiB";
  if (bytes >= (std::uint64_t{1} << 30)) return std::to_string(bytes >> 30) + " GiB";
  return std::to_string(bytes >> 20) + " MiB";
}

std::string count_text(std::uint64_t n) {
  return n == k_saturated ? std::string("more than 2^64") : std::to_string(n);
}

}  // namespace

std::string scrypt_out_of_range(std::uint64_t n, std::uint64_t r, std::uint64_t p) {
  const std::uint64_t memory = times(times(128, r), n);
  const std::uint64_t work = times(times(n, r), p);
  if (memory <= k_max_scrypt_memory && work <= k_max_scrypt_work) return {};
  std::string out = "scrypt N = " + std::to_string(n) + ", r = " + std::to_string(r) +
                    ", p = " + std::to_string(p) + " needs ";
  if (memory > k_max_scrypt_memory)
    out += size_text(memory) + " of memory (128·r·N, at most " + size_text(k_max_scrypt_memory) +
           ")";
  if (memory > k_max_scrypt_memory && work > k_max_scrypt_work) out += " and ";
  if (work > k_max_scrypt_work)
    out += count_text(work) + " units of work (N·r·p, at most " +
           std::to_string(k_max_scrypt_work) + ")";
  return out;
}

std::string iterations_out_of_range(std::string_view kdf, std::uint64_t iterations) {
  if (iterations <= k_max_pbkdf2_iterations) return {};
  return std::string(kdf) + " with " + count_text(iterations) + " iterations (at most " +
         std::to_string(k_max_pbkdf2_iterations) + ")";
}

void refuse_kdf_params(Errc code, std::string_view what, std::string problem,
                       std::string remedy) {
  throw Error(code, "key derivation parameters out of range in " + std::string(what),
              std::move(problem) +
                  "; keysafe refuses such a file before deriving anything, so that a file "
                  "cannot make it spend unbounded memory or time",
              std::move(remedy));
}

void check_kdf_params(const KdfParams& params, Errc code, std::string_view what,
                      std::string remedy) {
  // N = 2^log2_n must be representable before it can be judged.
  const std::uint64_t n = params.log2_n < 64 ? std::uint64_t{1} << params.log2_n : k_saturated;
  std::string problem = scrypt_out_of_range(n, params.r, params.p);
  if (params.log2_n >= 64)
    problem = "scrypt N = 2^" + std::to_string(params.log2_n) + " is beyond any bound";
  if (!problem.empty()) refuse_kdf_params(code, what, std::move(problem), std::move(remedy));
}

}  // namespace keysafe::crypto
