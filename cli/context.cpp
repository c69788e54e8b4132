// Store location, store opening and warnings for commands.
#include "context.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ostream>
#include <string_view>

#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/key_file.hpp"
#include "keysafe/secret_variables.hpp"
#include "commands.hpp"
#include "fix_command.hpp"
#include "passphrase.hpp"

namespace keysafe::cli {

Environment system_environment() {
  Environment env;
  env.getenv = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  env.getenv_secret = [](const char* name) -> std::optional<SecureBytes> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    const std::string_view value(v);
    return SecureBytes(value.begin(), value.end());
  };
  env.now = [] { return ops::now_unix(); };
  env.read_secret = [](const std::string& prompt) { return read_secret_from_terminal(prompt); };
  env.confirm = [](const std::string& question) -> std::optional<bool> {
    auto answer = read_line_from_terminal(question);
    if (!answer) return std::nullopt;
    return *answer == "y" || *answer == "Y" || *answer == "yes" || *answer == "YES";
  };
  env.stdout_is_terminal = [] { return isatty(STDOUT_FILENO) == 1; };
  return env;
}

std::filesystem::path Context::store_path() const {
  if (!options.store.empty()) return options.store;
  if (auto s = env.getenv("KEYSAFE_STORE"); s && !s->empty()) return *s;
  std::filesystem::path base;
  if (auto x = env.getenv("XDG_DATA_HOME"); x && !x->empty()) {
    base = *x;
  } else if (auto h = env.getenv("HOME"); h && !h->empty()) {
    base = std::filesystem::path(*h) / ".local" / "share";
  } else {
    throw Error(Errc::Usage, "cannot tell where the keystore is",
                "neither --store, KEYSAFE_STORE, XDG_DATA_HOME nor HOME is set",
                "name the store with --store PATH");
  }
  return base / "keysafe" / "keystore.db";
}

std::optional<std::filesystem::path> Context::named_store() const {
  const auto from_env = env.getenv("KEYSAFE_STORE");
  if (options.store.empty() && (!from_env || from_env->empty())) return std::nullopt;
  return store_path();
}

store::Keystore Context::open_store() const { return store::Keystore::open(store_path()); }

store::Keystore Context::open_store_for_listing() const {
  return store::Keystore::open_for_listing(store_path());
}

SecureBytes Context::store_passphrase(bool new_passphrase) const {
  return acquire_passphrase(*this, new_passphrase);
}

std::optional<std::string> Context::key_file() const {
  if (!options.key_file.empty()) return options.key_file;
  if (auto f = env.getenv(k_env_key_file); f && !f->empty()) return *f;
  return std::nullopt;
}

namespace {
void warn_integrity_added(const Context& ctx, const store::Keystore& store) {
  const auto removed = store.integrity_added();
  if (!removed) return;
  ctx.warn("integrity MACs were added to this store (made by an older keysafe)" +
           (*removed == 0 ? std::string()
                          : "; its " + std::to_string(*removed) +
                                " key file(s) were removed, as their wrapping cannot carry the "
                                "integrity marker: add them again with keysafe passwd "
                                "--add-key-file FILE"));
}
}  // namespace

void Context::unlock(store::Keystore& store) const {
  if (auto file = key_file())
    store.unlock_with_key_file(ops::read_key_file(*file));
  else
    store.unlock(store_passphrase(false));
  warn_integrity_added(*this, store);
}

void Context::try_unlock(store::Keystore& store) const {
  // For check and audit --verify, which report a failing MAC (exit 8) instead of refusing.
  if (auto file = key_file()) {
    store.unlock_with_key_file(ops::read_key_file(*file), store::OnTampering::Report);
    return;
  }
  if (auto pass = try_acquire_passphrase(*this)) store.unlock(*pass, store::OnTampering::Report);
  warn_integrity_added(*this, store);
}

store::Keystore Context::open_unlocked_store() const {
  auto store = open_store();
  unlock(store);
  return store;
}

void Context::confirm_key_export(const std::string& what,
                                 const std::vector<std::string>& names) const {
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  err << "keysafe: WARNING: " << what << " holds the private key(s) of: " << list << ".\n"
      << "  Whoever holds this file and its passphrase can impersonate these sites.\n"
      << "  Keep it offline, and the passphrase apart from it.\n";
  if (options.yes) return;
  const auto answer = env.confirm("Write the private keys to this file? [y/N] ");
  if (!answer)
    throw Error(Errc::Refused, "refusing to write private keys without confirmation",
                "there is no terminal to confirm on",
                "add --yes once you have read the warning above");
  if (!*answer)
    throw Error(Errc::Refused, "nothing written", "the confirmation was declined",
                "run the command again and answer y");
}

bool Context::writes_to_standard_output(const std::string& output, const std::string& what,
                                        bool private_key, bool binary) const {
  if (output != "-") return false;
  if ((private_key || binary) && env.stdout_is_terminal && env.stdout_is_terminal())
    throw Error(Errc::Refused,
                "refusing to write " + what + " to the terminal",
                private_key ? "a private key shown on a screen stays in its scrollback and logs"
                            : "binary output is unreadable and can upset the terminal",
                "redirect it (-o - > FILE, or into a pipe), or write a file with -o FILE");
  return true;
}

void Context::warn(const std::string& message) const {
  err << "keysafe: warning: " << fixes(message) << '\n';
}

std::string Context::fixes(std::string_view text) const {
  const auto store = named_store();
  if (!store) return std::string(text);
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& spec : commands()) v.emplace_back(spec.name);
    return v;
  }();
  return with_store_option(text, store->string(), names);
}

Error Context::with_fixes(const Error& e) const {
  Error fixed(e.code(), e.summary(), fixes(e.cause()), fixes(e.remedy()));
  fixed.with_openssl_errors(e.openssl_errors());
  return fixed;
}

}  // namespace keysafe::cli
