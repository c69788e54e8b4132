#pragma once
// The one rule for the names administrators give to entries, hosts and ACME accounts: they
// appear in file names, role names, URLs and messages, so they are plain ASCII words.
#include <algorithm>
#include <cstddef>
#include <string_view>

namespace keysafe {

// 1 to max_size letters, digits, '.', '_' or '-', not starting with '-' (an option) or '.'
// (a hidden file, "." and "..").
inline bool is_simple_name(std::string_view name, std::size_t max_size) {
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  };
  return !name.empty() && name.size() <= max_size && name.front() != '-' &&
         name.front() != '.' && std::all_of(name.begin(), name.end(), allowed);
}

}  // namespace keysafe
