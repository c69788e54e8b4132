// Hashing, hex and randomness over byte buffers.
#include "keysafe/ossl/bytes.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "keysafe/ossl/errors.hpp"

namespace keysafe {

std::string to_hex(std::span<const std::uint8_t> data) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (auto b : data) {
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

Bytes sha256(std::span<const std::uint8_t> data) {
  Bytes out(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), out.data());
  return out;
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (RAND_bytes(out.data(), static_cast<int>(n)) != 1)
    ossl::fail(Errc::Crypto, "the random number generator failed");
  return out;
}

SecureBytes random_secret(std::size_t n) {
  SecureBytes out(n);
  if (RAND_priv_bytes(out.data(), static_cast<int>(n)) != 1)
    ossl::fail(Errc::Crypto, "the random number generator failed");
  return out;
}

}  // namespace keysafe
