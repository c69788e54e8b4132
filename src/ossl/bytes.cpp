// Hashing, hex and randomness over byte buffers.
#include "keysafe/ossl/bytes.hpp"

#include <openssl/evp.h>
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

SecureBytes sha256_secret(std::span<const std::uint8_t> data) {
  SecureBytes out(SHA256_DIGEST_LENGTH);
  if (SHA256(data.data(), data.size(), out.data()) == nullptr)
    ossl::fail(Errc::Crypto, "SHA-256 failed");
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

std::string to_base64(std::span<const std::uint8_t> data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

template <class Out>
Out from_base64(std::string_view text) {
  if (text.size() % 4 != 0) throw Error(Errc::Damaged, "bad base64 (length not a multiple of 4)");
  Out out(3 * (text.size() / 4) + 1);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) throw Error(Errc::Damaged, "bad base64");
  std::size_t len = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts '=' padding as zero bytes.
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}
template Bytes from_base64<Bytes>(std::string_view);
template SecureBytes from_base64<SecureBytes>(std::string_view);

}  // namespace keysafe
