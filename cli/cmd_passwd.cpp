// keysafe passwd: a new store passphrase (and KDF cost); only the data key is rewrapped.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/key_file.hpp"
#include "keysafe/secret_variables.hpp"
#include "keysafe/store/sealing.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_passwd(CLI::App& cmd) {
  auto cost = std::make_shared<unsigned>(0);
  auto new_file = std::make_shared<std::string>();
  auto add_key_file = std::make_shared<std::string>();
  cmd.add_option("--kdf-cost", *cost,
                 "new scrypt cost as log2(N) (default: keep the current one); 17 is the default "
                 "of new stores")
      ->check(CLI::Range(store::k_min_log2_n, store::k_max_log2_n))
      ->type_name("LOG2N");
  cmd.add_option("--new-passphrase-file", *new_file,
                 "read the new passphrase from FILE (else KEYSAFE_NEW_PASSPHRASE, else the "
                 "terminal, asked twice)")
      ->type_name("FILE");
  cmd.add_option("--add-key-file", *add_key_file,
                 "instead of changing the passphrase, create FILE (0600) holding a random secret "
                 "that unlocks the store (--key-file FILE / KEYSAFE_KEY_FILE) for unattended "
                 "servers")
      ->type_name("FILE");
  cmd.footer(R"(
The current passphrase comes from the usual sources (--passphrase-file, --passphrase-fd,
KEYSAFE_PASSPHRASE, the terminal). The private keys are not re-encrypted: the data key that
seals them is wrapped again under the new passphrase, in one transaction.

EXAMPLES:
  keysafe passwd
  keysafe passwd --kdf-cost 18 --passphrase-file old.pass --new-passphrase-file new.pass
  keysafe passwd --add-key-file /etc/keysafe/unlock.key   # then: keysafe --key-file ... renew)");
  return [cost, new_file, add_key_file](Context& ctx) {
    auto store = ctx.open_unlocked_store();
    if (!add_key_file->empty()) {
      if (std::filesystem::exists(std::filesystem::symlink_status(*add_key_file)))
        throw Error(Errc::AlreadyExists, "\"" + *add_key_file + "\" already exists",
                    "a key file is never overwritten", "choose a path for a new file");
      const SecureBytes secret = ops::create_key_file(*add_key_file);
      store.record("key-file-added", "", *add_key_file);
      try {
        store.add_key_file(secret, ctx.env.now());
      } catch (...) {
        std::filesystem::remove(*add_key_file);
        throw;
      }
      ctx.out << "created key file " << *add_key_file
              << " (mode 0600): keysafe --key-file " << *add_key_file
              << " ... unlocks this store; keep it as safe as the keys\n";
      return 0;
    }
    const auto pass = acquire_secret(ctx, {*new_file, "--new-passphrase-file",
                                           k_env_new_passphrase, "New keystore passphrase: "},
                                     true);
    store::KdfParams params = store.header().kdf_params;
    if (*cost != 0) params.log2_n = *cost;
    if (params.log2_n < 15)
      ctx.warn("--kdf-cost " + std::to_string(params.log2_n) +
               " makes the passphrase cheap to guess: use it for test stores only");
    store.record("passphrase-changed", "", "scrypt N=2^" + std::to_string(params.log2_n));
    store.rewrap(*pass, params);
    if (ctx.options.json)
      ctx.out << nlohmann::json{{"store", store.path().string()},
                                {"kdf", {{"name", "scrypt"}, {"log2_n", params.log2_n},
                                         {"r", params.r}, {"p", params.p}}}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    else
      ctx.out << "changed the passphrase of " << store.path().string() << " (scrypt N=2^"
              << params.log2_n << ")\n";
    return 0;
  };
}

}  // namespace keysafe::cli
