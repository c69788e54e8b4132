// Fix commands that run as printed: every "keysafe COMMAND ..." keysafe prints names the store
// when the user named it (--store or KEYSAFE_STORE), so a pasted fix acts on the same store.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "keysafe/shell_word.hpp"

namespace keysafe::cli {

// `text` with "--store STORE " inserted after each "keysafe " that starts a command (the next
// word is one of `commands`) and whose command line does not name a store already. A command
// line ends at a newline, "&&", "||", ';', '(' or ')'.
std::string with_store_option(std::string_view text, std::string_view store,
                              std::span<const std::string_view> commands);

}  // namespace keysafe::cli
