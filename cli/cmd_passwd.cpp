// keysafe passwd: a new store passphrase (and KDF cost); only the data key is rewrapped.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/key_file.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_passwd(CLI::App& cmd) {
  auto cost = std::make_shared<unsigned>(0);
  auto new_file = std::make_shared<std::string>();
  auto add_key_file = std::make_shared<std::string>();
  auto rotate = std::make_shared<bool>(false);
  auto weak = std::make_shared<bool>(false);
  cmd.add_option("--kdf-cost", *cost,
                 "new scrypt cost as log2(N) (default: keep the current one); 17 is the default "
                 "of new stores")
      ->check(CLI::Range(crypto::k_min_log2_n, crypto::k_max_log2_n))
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
  cmd.add_flag("--rotate-data-key", *rotate,
               "instead of changing the passphrase, make a new data key: every private key is "
               "re-sealed, so an old copy of the store and its passphrase open nothing added "
               "afterwards; removes every key file (add them again with --add-key-file)");
  cmd.add_flag("--weak-passphrase", *weak,
               "accept a new passphrase under 8 characters (test stores only)");
  cmd.footer(R"(
A new passphrase under 12 characters gets a warning; under 8 it is refused without
--weak-passphrase. Passphrase files must not be readable by group or others (chmod 600).

The current passphrase comes from the usual sources (--passphrase-file, --passphrase-fd,
KEYSAFE_PASSPHRASE, the terminal). The private keys are not re-encrypted: the data key that
seals them is wrapped again under the new passphrase, in one transaction. An old copy of the
store file still opens with the old passphrase, and so does every key sealed before.

--rotate-data-key replaces the data key itself (the passphrase stays): every sealed key is
re-sealed and every integrity MAC recomputed under the new key, the header rewrapped, in one
transaction. Keys added afterwards are sealed with a key no old copy holds. Key files wrap
the old data key and cannot be rewrapped without their secret, so they are removed; add them
again with keysafe passwd --add-key-file FILE. Needs the passphrase, not a key file.

EXAMPLES:
  keysafe passwd
  keysafe passwd --kdf-cost 18 --passphrase-file old.pass --new-passphrase-file new.pass
  keysafe passwd --add-key-file /etc/keysafe/unlock.key   # then: keysafe --key-file ... renew
  keysafe passwd --rotate-data-key)");
  return [cost, new_file, add_key_file, rotate, weak](Context& ctx) {
    if (*rotate && (!add_key_file->empty() || *cost != 0 || !new_file->empty()))
      throw Error(Errc::Usage, "--rotate-data-key is used alone",
                  "it keeps the passphrase and its cost; --add-key-file, --kdf-cost and "
                  "--new-passphrase-file are separate changes",
                  "run keysafe passwd --rotate-data-key, then the other change");
    if (*rotate && ctx.key_file())
      throw Error(Errc::Usage, "--rotate-data-key needs the store passphrase, not a key file",
                  "the new data key is wrapped under the passphrase",
                  "run it without --key-file / KEYSAFE_KEY_FILE");
    auto store = ctx.open_unlocked_store();
    if (*rotate) {
      const std::size_t removed = store.rotate_data_key();
      if (ctx.options.json) {
        ctx.out << nlohmann::json{{"store", store.path().string()},
                                  {"data_key_rotated", true},
                                  {"key_files_removed", removed}}
                       .dump(2, ' ', false, k_invalid_utf8)
                << '\n';
      } else {
        ctx.out << "rotated the data key of " << store.path().string()
                << ": every private key re-sealed under a new key\n";
        if (removed > 0)
          ctx.out << "removed " << removed
                  << " key file(s), which opened the old data key; add them again with: "
                     "keysafe passwd --add-key-file FILE\n";
      }
      return 0;
    }
    if (!add_key_file->empty()) {
      ops::add_key_file(store, *add_key_file, ctx.env.now());
      ctx.out << "created key file " << *add_key_file
              << " (mode 0600): keysafe --key-file " << *add_key_file
              << " ... unlocks this store; keep it as safe as the keys\n";
      return 0;
    }
    const auto pass = acquire_secret(ctx, {*new_file, "--new-passphrase-file",
                                           k_env_new_passphrase, "New keystore passphrase: "},
                                     true);
    check_new_passphrase(ctx, *pass, *weak);
    crypto::KdfParams params = store.header().kdf_params;
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
