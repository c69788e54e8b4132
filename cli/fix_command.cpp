// Fix commands that run as printed (see fix_command.hpp).
#include "fix_command.hpp"

#include <algorithm>

namespace keysafe::cli {
namespace {

bool word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

// Where the command line starting at `from` ends.
std::size_t command_end(std::string_view text, std::size_t from) {
  std::size_t end = text.size();
  for (std::string_view stop : {"\n", "&&", "||", ";", "(", ")"})
    end = std::min(end, text.find(stop, from));
  return end;
}

}  // namespace

std::string with_store_option(std::string_view text, std::string_view store,
                              std::span<const std::string_view> commands) {
  constexpr std::string_view k_program = "keysafe ";
  std::string out;
  std::size_t copied = 0;
  for (std::size_t at = text.find(k_program); at != std::string_view::npos;
       at = text.find(k_program, at + 1)) {
    // "keysafe" as a word of its own, not the end of "libkeysafe" or a path.
    if (at > 0 && (word_char(text[at - 1]) || text[at - 1] == '/' || text[at - 1] == '.'))
      continue;
    const std::size_t word = at + k_program.size();
    std::size_t word_end = word;
    while (word_end < text.size() && word_char(text[word_end])) ++word_end;
    const std::string_view command = text.substr(word, word_end - word);
    if (std::find(commands.begin(), commands.end(), command) == commands.end()) continue;
    const std::string_view line = text.substr(word, command_end(text, word) - word);
    if (line.find("--store") != std::string_view::npos) continue;
    out.append(text.substr(copied, word - copied));
    out += "--store " + shell_quote(store) + " ";
    copied = word;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace keysafe::cli
