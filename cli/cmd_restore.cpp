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
#include "backup_open.hpp"
#include "restore_report.hpp"

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
A complete backup (backup --all) also brings back local CAs with every certificate they
issued and revoked and their CRL number, deployments and settings: a CA role joins its entry
(issued records and revocations are added, never removed), a deployment to a directory the
store already deploys to is skipped, and a setting the store has with another value is kept;
each is listed. It also brings back the fleet (hosts, assignments, the agents' last reports
and the fleet signing key, so the hosts' key files keep working); a store with another fleet
signing key keeps it and skips the backup's hosts. ACME accounts and entries' ACME settings
come back too, so a restored ACME entry renews (keysafe renew NAME); an account whose name the
store has for the same CA account keeps the store's key, one with another account URL is
skipped with the settings that use it. The audit log gets one event naming the file, its SHA-256 and its date.
To restore and redeploy everything on a new host in one command: keysafe recover.
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
    const bool new_store = a->dry_run && !store::Keystore::exists(ctx.store_path());
    std::optional<store::Keystore> store;
    if (!new_store) store.emplace(ctx.open_store());
    // An --only name the backup lacks is refused before any prompt (its clear header).
    if (kind == backup::ContainerKind::Passphrase)
      ops::check_only_names(backup::read_header(file, a->file).names, a->only, a->file);
    auto payload = open_backup_file(ctx, a->file, file, {a->in_passphrase_file, a->recovery_key});
    ops::keep_only_entries(payload, a->only, a->file);
    const auto plan = store ? ops::plan_restore(*store, payload, a->file, a->rename)
                            : ops::plan_restore(payload, a->file);

    const auto report = [&](bool applied) {
      if (ctx.options.json) {
        nlohmann::json j = restore_plan_json(plan);
        j["file"] = a->file;
        j["dry_run"] = !applied;
        j["new_store"] = new_store;
        j["backup_created"] = time_or_null(payload.created);
        j["payload_version"] = payload.version;
        ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
        return;
      }
      ctx.out << (applied ? "restored from " : "would restore from ") << a->file
              << " (backup of " << time_or_null(payload.created).get<std::string>() << ")"
              << (new_store ? " into a new store at " + ctx.store_path().string() +
                                  " (there is none yet: keysafe init first)"
                            : "")
              << ":\n";
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
    if (plan.needs_unlock(payload)) ctx.unlock(*store);
    ops::apply_restore(*store, payload, plan, {a->file, to_hex(sha256(file))}, ctx.env.now());
    report(true);
    return 0;
  };
}

}  // namespace keysafe::cli
