// Reading fields of a backup's JSON (the clear header and the decrypted payload).
#pragma once

#include <concepts>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace keysafe::backup::detail {

// nlohmann's get<int>() converts a floating-point value with a plain cast, which is undefined
// behaviour when the value is out of the type's range (1e51 as "created" did that under the
// fuzzer); this accepts only integers that fit.
template <std::integral T, class Json>
T integer_field(const Json& object, const char* key) {
  const auto& value = object.at(key);
  if (!value.is_number_integer())
    throw std::invalid_argument(std::string("\"") + key + "\" is not an integer");
  if (value.is_number_unsigned()) {
    if (const auto v = value.template get<std::uint64_t>(); std::in_range<T>(v))
      return static_cast<T>(v);
  } else if (const auto v = value.template get<std::int64_t>(); std::in_range<T>(v)) {
    return static_cast<T>(v);
  }
  throw std::out_of_range(std::string("\"") + key + "\" is out of range");
}

// Why reading failed, for the error's cause: nlohmann's messages without their
// "[json.exception.out_of_range.403] " prefix.
inline std::string reason(const std::exception& ex) {
  std::string_view what = ex.what();
  if (what.starts_with("[json.exception.")) {
    if (const auto end = what.find("] "); end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

}  // namespace keysafe::backup::detail
