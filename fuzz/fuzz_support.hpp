// Shared by the libFuzzer targets: every reader must either return or throw keysafe::Error.
// Anything else (another exception, a crash, a sanitizer report) is a bug in the reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"

namespace keysafe::fuzz {

inline std::span<const std::uint8_t> input(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

inline SecureBytes password(std::string_view text) { return SecureBytes(text.begin(), text.end()); }

// Runs `read`; a keysafe::Error is the expected outcome for bad input.
template <typename F>
void expect_error_or_success(F&& read) {
  try {
    read();
  } catch (const keysafe::Error&) {
  }
}

}  // namespace keysafe::fuzz
