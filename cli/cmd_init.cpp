// keysafe init: create the encrypted store.
#include <ostream>

#include "commands.hpp"
#include "passphrase.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_init(CLI::App& cmd) {
  auto cost = std::make_shared<unsigned>(crypto::k_default_log2_n);
  cmd.add_option("--kdf-cost", *cost,
                 "scrypt cost as log2(N): 17 (default, ~0.4 s and 128 MiB per unlock) up to 20 "
                 "(1 GiB); values below 15 are for test stores only")
      ->check(CLI::Range(crypto::k_min_log2_n, crypto::k_max_log2_n))
      ->type_name("LOG2N");
  auto weak = std::make_shared<bool>(false);
  cmd.add_flag("--weak-passphrase", *weak,
               "accept a passphrase under 8 characters (test stores only)");
  cmd.footer(R"(
Creates the keystore file (mode 0600, never over an existing file). The store passphrase
protects every private key in it: keep it safe, without it no key can be opened. A passphrase
under 12 characters gets a warning; under 8 it is refused without --weak-passphrase. A
passphrase file must not be readable by group or others (chmod 600), as for key files.

A postgresql:// URI creates the store in an empty database instead (or in the schema the
URI names: ?options=-csearch_path%3Dkeysafe, created when missing). Passwords come from
libpq's own sources (~/.pgpass, PGPASSFILE, PGPASSWORD, client certificates), never from the
URI. See docs/POSTGRESQL.md.

EXAMPLES:
  keysafe init
  keysafe --store postgresql://keysafe@db1.example.net/keysafe init
  keysafe --store /srv/keys/keystore.db init --passphrase-file /root/keysafe.pass)");
  return [cost, weak](Context& ctx) {
    const auto path = ctx.store_path();
    const bool in_database = store::is_database_uri(path.string());
    // Refuse before asking for a passphrase (a database is checked for emptiness at create).
    if (in_database && store::Keystore::exists(path))
      throw Error(Errc::AlreadyExists, "a keystore already exists in the database " + path.string(),
                  "keysafe init never overwrites an existing store (it may hold your keys)",
                  "use that store, or choose another database or schema with --store");
    if (!in_database && std::filesystem::exists(std::filesystem::symlink_status(path)))
      throw Error(Errc::AlreadyExists, "a file already exists at \"" + path.string() + "\"",
                  "keysafe init never overwrites an existing file (it may hold your keys)",
                  "use that store, or choose another path with --store");
    if (*cost < 15)
      ctx.warn("--kdf-cost " + std::to_string(*cost) +
               " makes the passphrase cheap to guess: use it for test stores only");
    const SecureBytes pass = ctx.store_passphrase(true);
    check_new_passphrase(ctx, pass, *weak);
    const crypto::KdfParams params{*cost, 8, 1};
    const auto now = ctx.env.now();
    store::Keystore::create(path, pass, params, now);
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"store", path.string()},
                                {"kdf", {{"name", "scrypt"}, {"log2_n", params.log2_n},
                                         {"r", params.r}, {"p", params.p}}},
                                {"created", time_or_null(now)}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    } else {
      ctx.out << "created keystore " << path.string() << " (scrypt N=2^" << params.log2_n
              << (in_database ? ")\n" : ", mode 0600)\n")
              << "next: keysafe create NAME --dns NAME\n";
    }
    return 0;
  };
}

}  // namespace keysafe::cli
