// What every command runs against: options, streams, environment, clock and terminal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::cli {

struct GlobalOptions {
  std::string store;
  bool json = false;
  bool yes = false;
  bool verbose = false;
  std::string passphrase_file;
  int passphrase_fd = -1;
  std::string key_file;
};

// Everything outside the process that a command touches, injectable for tests.
struct Environment {
  std::function<std::optional<std::string>(const char*)> getenv;
  // For a variable holding a secret (keysafe/secret_variables.hpp): straight into SecureBytes,
  // never through a std::string that would leave a copy behind in freed memory.
  std::function<std::optional<SecureBytes>(const char*)> getenv_secret;
  std::function<std::int64_t()> now;
  // Reads a secret from the terminal without echo; nullopt when there is no terminal.
  std::function<std::optional<SecureBytes>(const std::string& prompt)> read_secret;
  // Asks a yes/no question on the terminal; nullopt when there is no terminal.
  std::function<std::optional<bool>(const std::string& question)> confirm;
  // Whether standard output is a terminal (`-o -` refuses keys and binary data there).
  std::function<bool()> stdout_is_terminal;
};

Environment system_environment();

struct Context {
  std::ostream& out;
  std::ostream& err;
  Environment env;
  GlobalOptions options;

  // --store, else KEYSAFE_STORE, else $XDG_DATA_HOME/keysafe/keystore.db
  // (XDG_DATA_HOME defaults to ~/.local/share).
  std::filesystem::path store_path() const;
  // The store when --store or KEYSAFE_STORE named it (printed commands must name it too).
  std::optional<std::filesystem::path> named_store() const;
  store::Keystore open_store() const;
  // For commands that only read entries (list, show): skips the header checksum.
  store::Keystore open_store_for_listing() const;
  // The store passphrase: --passphrase-file, --passphrase-fd, KEYSAFE_PASSPHRASE, or the terminal.
  SecureBytes store_passphrase(bool new_passphrase) const;
  // Unlocks with the key file (--key-file, KEYSAFE_KEY_FILE) if one is named, else with the
  // store passphrase. One key derivation per process.
  void unlock(store::Keystore& store) const;
  // A row failing its integrity MAC stops the command (exit 4, "tampered").
  // The same, but leaves the store locked when there is no key file, no passphrase source and
  // no terminal (or Enter is pressed at the prompt), and unlocks a tampered store so that
  // check and audit --verify can report it.
  void try_unlock(store::Keystore& store) const;
  std::optional<std::string> key_file() const;
  // Opens the store and unlocks it (one key derivation).
  store::Keystore open_unlocked_store() const;
  // A warning on standard error; its fix commands name the store as fixes() does.
  void warn(const std::string& message) const;
  // `text` (a message that may hold fix commands) with --store PATH added to each
  // "keysafe COMMAND" when the store was named, so that the printed fix runs as printed.
  std::string fixes(std::string_view text) const;
  // The same for an error's cause and fix.
  Error with_fixes(const Error& e) const;
  // `-o -` means standard output. True for "-", after refusing (Errc::Refused) a private key or
  // binary data (DER, PKCS#12, a backup) when standard output is a terminal, whatever the flags:
  // a key on a screen is in its scrollback and logs, and binary bytes can drive the terminal.
  bool writes_to_standard_output(const std::string& output, const std::string& what,
                                 bool private_key, bool binary) const;
  // The impersonation warning before a private key leaves the store, then confirmation:
  // --yes, else a terminal answer, else refusal (Errc::Refused).
  void confirm_key_export(const std::string& what, const std::vector<std::string>& names) const;
};

}  // namespace keysafe::cli
