// How a column value is encoded for the row MACs (keysafe_row_mac on SQLite, keysafe itself on
// PostgreSQL) and store copy's table digests: one encoding, so both backends and both uses agree.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/database.hpp"

namespace keysafe::store {

inline void put_be64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

// (type tag, 8-byte big-endian length, bytes): ("ab","c") and ("a","bc") differ, and NULL
// (no bytes) differs from an empty text. For text, blobs and NULL.
inline void encode_value(Bytes& out, Value::Type type, std::string_view bytes) {
  out.push_back(static_cast<std::uint8_t>(type));
  put_be64(out, bytes.size());
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// An integer as 8 bytes big-endian (length 8).
inline void encode_integer(Bytes& out, std::int64_t value) {
  out.push_back(static_cast<std::uint8_t>(Value::Type::Integer));
  put_be64(out, 8);
  put_be64(out, static_cast<std::uint64_t>(value));
}

inline void encode_value(Bytes& out, const Value& v) {
  if (v.type == Value::Type::Integer)
    encode_integer(out, v.integer);
  else
    encode_value(out, v.type, v.bytes);
}

// How many columns a comma-separated column list names.
inline int column_count(std::string_view columns) {
  return 1 + static_cast<int>(std::count(columns.begin(), columns.end(), ','));
}

}  // namespace keysafe::store
