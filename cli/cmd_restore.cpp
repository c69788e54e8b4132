// keysafe restore: a backup into any store, verified first, merged by public key.
#include <ostream>

#include "commands.hpp"
#include "keysafe/backup/container.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct RestoreArgs {
  std::string file;
  bool dry_run = false;
  bool rename = false;
  std::string in_passphrase_file;
  std::string recovery_key;
  std::vector<std::string> only;
};

ossl::PKey load_recovery_key(const Context& ctx, const RestoreArgs& a) {
  const SecureBytes data = files::read_secret_file(a.recovery_key);
  std::vector<formats::DecodedKey> keys;
  try {
    keys = formats::read_private_keys(data, a.recovery_key, std::nullopt);
  } catch (const Error& e) {
    if (e.code() != Errc::FilePassword) throw;
    // An encrypted key: its password comes from the in-passphrase sources.
    const auto pass = acquire_secret(ctx, {a.in_passphrase_file, "--in-passphrase-file",
                                           k_env_in_passphrase, "Recovery key password: "},
                                     false);
    keys = formats::read_private_keys(data, a.recovery_key, pass);
  }
  if (keys.size() != 1)
    throw Error(Errc::BadInput, "\"" + a.recovery_key + "\" must hold exactly one private key",
                "it holds " + std::to_string(keys.size()),
                "give the recovery certificate's private key alone");
  return std::move(keys.front().key);
}
}  // namespace

Action setup_restore(CLI::App& cmd) {
  auto a = std::make_shared<RestoreArgs>();
  cmd.add_option("FILE", a->file, "backup file written by keysafe backup")->required();
  cmd.add_flag("--dry-run", a->dry_run,
               "open every key, check it pairs with its certificates, report what would change");
  cmd.add_flag("--rename", a->rename,
               "restore an entry whose name is taken by another key under a new name");
  cmd.add_option("--only", a->only,
                 "restore only the entry of this name from the backup (repeatable; keysafe "
                 "find-key names the backup and entry that hold a key)")
      ->type_name("NAME");
  cmd.add_option("--in-passphrase-file", a->in_passphrase_file,
                 "read the backup passphrase from FILE (else KEYSAFE_IN_PASSPHRASE, else the "
                 "terminal)")
      ->type_name("FILE");
  cmd.add_option("--recovery-key", a->recovery_key,
                 "private key (PEM) of the recovery certificate, for backups made with "
                 "--recipient")
      ->type_name("FILE");
  cmd.footer(R"(
Restores into any store, for example a new one on another machine (keysafe init first).
A key already in the store (same public key) is never duplicated: what it lacks is added.
A name taken by a different key is refused unless --rename. Nothing changes on any error.
--dry-run also works where there is no store yet: it shows what a new store would receive.

EXAMPLES:
  keysafe restore www.example.com.kbk --dry-run
  keysafe restore all.kbk --only www.example.com
  keysafe restore all.kbk --in-passphrase-file /root/backup.pass
  keysafe restore all.p7m --recovery-key recovery.key)");
  return [a](Context& ctx) {
    const Bytes file = files::read_input_file(a->file);
    const auto kind = backup::detect_container(file, a->file);
    // A missing or damaged store is reported before any prompt; a dry run needs none.
    std::error_code no_store;
    const bool new_store =
        a->dry_run && !std::filesystem::exists(ctx.store_path(), no_store) && !no_store;
    std::optional<store::Keystore> store;
    if (!new_store) store.emplace(ctx.open_store());
    SecureBytes plain;
    if (kind == backup::ContainerKind::Passphrase) {
      // A newer or damaged file, or an --only name it does not hold, before prompting.
      ops::check_only_names(backup::read_header(file, a->file).names, a->only, a->file);
      const auto pass = acquire_secret(ctx, {a->in_passphrase_file, "--in-passphrase-file",
                                             k_env_in_passphrase, "Backup passphrase: "},
                                       false);
      plain = backup::open_with_passphrase(file, *pass, a->file);
    } else {
      if (a->recovery_key.empty())
        throw Error(Errc::Usage, "\"" + a->file + "\" is encrypted to a recovery certificate",
                    "opening it needs that certificate's private key",
                    "add --recovery-key RECOVERY-KEY.pem");
      const auto key = load_recovery_key(ctx, *a);
      plain = backup::open_with_recipient_key(file, key.get(), nullptr, a->file);
    }
    auto payload = backup::decode_payload(plain, a->file);
    ops::keep_only_entries(payload, a->only, a->file);
    const auto plan = store ? ops::plan_restore(*store, payload, a->file, a->rename)
                            : ops::plan_restore_into_new_store(payload, a->file);

    const auto report = [&](bool applied) {
      if (ctx.options.json) {
        nlohmann::json actions = nlohmann::json::array();
        for (const auto& x : plan.actions)
          actions.push_back({{"name", x.name}, {"backup_name", x.backup_name},
                             {"action", x.action}, {"detail", x.detail}});
        ctx.out << nlohmann::json{{"file", a->file}, {"dry_run", !applied},
                                  {"new_store", new_store},
                                  {"backup_created", time_or_null(payload.created)},
                                  {"actions", actions}}
                       .dump(2, ' ', false, k_invalid_utf8)
                << '\n';
        return;
      }
      ctx.out << (applied ? "restored from " : "would restore from ") << a->file
              << " (backup of " << time_or_null(payload.created).get<std::string>() << ")"
              << (new_store ? " into a new store at " + ctx.store_path().string() +
                                  " (there is none yet: keysafe init first)"
                            : "")
              << ":\n";
      for (const auto& x : plan.actions)
        ctx.out << "  " << x.action << "  " << x.name << ": " << x.detail << '\n';
    };
    if (plan.has_conflict) {
      if (!ctx.options.json) report(false);
      std::string names;
      for (const auto& x : plan.actions)
        if (x.action == "conflict") names += (names.empty() ? "" : ", ") + x.backup_name;
      throw Error(Errc::AlreadyExists, "cannot restore: the store has other keys named " + names,
                  "the backup's key and the stored key of the same name have different public "
                  "keys; nothing was changed",
                  "restore under new names with --rename, or restore into another store "
                  "(--store)");
    }
    if (a->dry_run) {
      report(false);
      return 0;
    }
    bool needs_unlock = false;
    for (std::size_t i = 0; i < plan.actions.size(); ++i)
      needs_unlock = needs_unlock || (plan.actions[i].action != "unchanged" &&
                                      payload.entries[i].private_key_pkcs8.has_value());
    if (needs_unlock) ctx.unlock(*store);
    ops::apply_restore(*store, payload, plan, ctx.env.now());
    report(true);
    return 0;
  };
}

}  // namespace keysafe::cli
