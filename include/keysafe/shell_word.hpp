// Quoting a word for the fix commands keysafe prints, so that they run as printed in a POSIX
// shell whatever the file or store is called.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace keysafe {

// `word` unchanged when it holds only characters no shell treats specially, else in single
// quotes ('it'\''s'). An empty word is ''.
inline std::string shell_quote(std::string_view word) {
  const auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("_-./=:,+@%").find(c) != std::string_view::npos;
  };
  if (!word.empty() && std::all_of(word.begin(), word.end(), safe)) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace keysafe
