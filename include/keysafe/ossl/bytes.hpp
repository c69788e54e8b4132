// Byte buffers, secret buffers that cleanse themselves, hashing and hex.
#pragma once

#include <openssl/crypto.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keysafe {

using Bytes = std::vector<std::uint8_t>;

// Overwrites memory before releasing it, so secrets do not linger on the heap.
template <class T>
struct CleansingAllocator {
  using value_type = T;
  CleansingAllocator() noexcept = default;
  template <class U>
  CleansingAllocator(const CleansingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept {
    OPENSSL_cleanse(p, n * sizeof(T));
    ::operator delete(p);
  }
  template <class U>
  bool operator==(const CleansingAllocator<U>&) const noexcept {
    return true;
  }
};

// Secrets (passphrases, data keys, plaintext private keys). Never a std::string:
// short strings live inline and escape the allocator.
using SecureBytes = std::vector<std::uint8_t, CleansingAllocator<std::uint8_t>>;

inline std::span<const std::uint8_t> as_span(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string to_hex(std::span<const std::uint8_t> data);
Bytes sha256(std::span<const std::uint8_t> data);
// SHA-256 used as a key (a KEK from a high-entropy secret): written straight into a cleansing
// buffer, never through a Bytes that would leave it on the heap.
SecureBytes sha256_secret(std::span<const std::uint8_t> data);
Bytes random_bytes(std::size_t n);
SecureBytes random_secret(std::size_t n);

// Base64 (RFC 4648, no line breaks) with OpenSSL's encoder; from_base64 throws Errc::Damaged.
std::string to_base64(std::span<const std::uint8_t> data);
template <class Out = Bytes>
Out from_base64(std::string_view text);

}  // namespace keysafe
