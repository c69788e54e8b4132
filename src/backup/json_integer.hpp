// Integers read from a backup's JSON. nlohmann's get<int>() converts a floating-point value with
// a plain cast, which is undefined behaviour when the value is out of the type's range
// (1e51 as "created" did that under the fuzzer); this accepts only integers that fit.
#pragma once

#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace keysafe::backup::detail {

template <std::integral T, class Json>
T integer_field(const Json& object, const char* key) {
  const auto& value = object.at(key);
  if (!value.is_number_integer())
    throw std::invalid_argument(std::string("\"") + key + "\" is not an integer");
  const bool fits = value.is_number_unsigned()
                        ? std::in_range<T>(value.template get<std::uint64_t>())
                        : std::in_range<T>(value.template get<std::int64_t>());
  if (!fits) throw std::out_of_range(std::string("\"") + key + "\" is out of range");
  return value.is_number_unsigned() ? static_cast<T>(value.template get<std::uint64_t>())
                                    : static_cast<T>(value.template get<std::int64_t>());
}

}  // namespace keysafe::backup::detail
