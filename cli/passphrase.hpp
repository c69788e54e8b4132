// Where the store passphrase comes from: never argv.
#pragma once

#include <optional>
#include <string>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::cli {

struct Context;

// --passphrase-file FILE, --passphrase-fd N, KEYSAFE_PASSPHRASE, then the terminal (no echo;
// asked twice for a new passphrase). One trailing newline of a file or fd is not part of it.
SecureBytes acquire_passphrase(const Context& ctx, bool new_passphrase);

// Prompts on /dev/tty with echo off; nullopt when there is no terminal.
std::optional<SecureBytes> read_secret_from_terminal(const std::string& prompt);

}  // namespace keysafe::cli
