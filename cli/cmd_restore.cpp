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
#include "restore_report.hpp"

namespace keysafe::cli {

namespace {
struct RestoreArgs {
  std::string file;
  bool dry_run = false;
  bool rename = false;
  std::string in_passphrase_file;
  std::string recovery_key;
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
A complete backup (backup --all) also brings back local CAs with every certificate they
issued and revoked and their CRL number, deployments and settings: a CA role joins its entry
(issued records and revocations are added, never removed), a deployment to a directory the
store already deploys to is skipped, and a setting the store has with another value is kept;
each is listed. The audit log gets one event naming the file, its SHA-256 and its date.
To restore and redeploy everything on a new host in one command: keysafe recover.

EXAMPLES:
  keysafe restore www.example.com.kbk --dry-run
  keysafe restore all.kbk --in-passphrase-file /root/backup.pass
  keysafe restore all.p7m --recovery-key recovery.key)");
  return [a](Context& ctx) {
    const Bytes file = files::read_input_file(a->file);
    const auto kind = backup::detect_container(file, a->file);
    auto store = ctx.open_store();  // a missing or damaged store is reported before any prompt
    SecureBytes plain;
    if (kind == backup::ContainerKind::Passphrase) {
      (void)backup::read_header(file, a->file);  // a newer or damaged file, before prompting
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
    const auto payload = backup::decode_payload(plain, a->file);
    const auto plan = ops::plan_restore(store, payload, a->file, a->rename);

    const auto report = [&](bool applied) {
      if (ctx.options.json) {
        nlohmann::json j = restore_plan_json(plan);
        j["file"] = a->file;
        j["dry_run"] = !applied;
        j["backup_created"] = time_or_null(payload.created);
        j["payload_version"] = payload.version;
        ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
        return;
      }
      ctx.out << (applied ? "restored from " : "would restore from ") << a->file
              << " (backup of " << time_or_null(payload.created).get<std::string>() << "):\n";
      render_restore_plan_text(plan, ctx.out);
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
    if (plan.needs_unlock(payload)) ctx.unlock(store);
    ops::apply_restore(store, payload, plan, {a->file, to_hex(sha256(file))}, ctx.env.now());
    report(true);
    return 0;
  };
}

}  // namespace keysafe::cli
