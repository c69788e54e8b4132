// Where the store passphrase comes from: never argv.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::cli {

struct Context;

// A secret that is not the store passphrase (a backup's, a PKCS#12 file's): an option naming a
// file, an environment variable, then the terminal.
struct SecretSource {
  std::string file;         // value of the --...-passphrase-file option ("" = not given)
  std::string file_option;  // e.g. "--out-passphrase-file"
  const char* env_var;      // e.g. "KEYSAFE_OUT_PASSPHRASE"
  std::string prompt;       // e.g. "Backup passphrase: "
  bool allow_empty = false;
};
// nullopt only when `optional` and no source has one (no file, no variable, no terminal).
std::optional<SecureBytes> acquire_secret(const Context& ctx, const SecretSource& source,
                                          bool new_secret, bool optional = false);

// --passphrase-file FILE, --passphrase-fd N, KEYSAFE_PASSPHRASE, then the terminal (no echo;
// asked twice for a new passphrase). One trailing newline of a file or fd is not part of it.
SecureBytes acquire_passphrase(const Context& ctx, bool new_passphrase);
// The same, but nullopt instead of an error when there is no source and no terminal.
std::optional<SecureBytes> try_acquire_passphrase(const Context& ctx);

// A new store passphrase (init, passwd): under k_min_passphrase characters it is refused
// (Errc::Refused) unless `allow_weak` (--weak-passphrase); under k_good_passphrase, a warning.
inline constexpr std::size_t k_min_passphrase = 8;
inline constexpr std::size_t k_good_passphrase = 12;
void check_new_passphrase(const Context& ctx, const SecureBytes& pass, bool allow_weak);

// Prompts on /dev/tty with echo off; nullopt when there is no terminal.
std::optional<SecureBytes> read_secret_from_terminal(const std::string& prompt);
// Prompts on /dev/tty and reads one line with echo; nullopt when there is no terminal.
std::optional<std::string> read_line_from_terminal(const std::string& prompt);

}  // namespace keysafe::cli
