// keysafe recover: a lost host back in one command — the store (created if there is none),
// everything in the backup restored, every recorded deployment deployed again, one table.
#include <algorithm>
#include <ostream>

#include "backup_open.hpp"
#include "commands.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/ops/recover.hpp"
#include "render.hpp"
#include "restore_report.hpp"

namespace keysafe::cli {
namespace {

struct RecoverArgs {
  std::string file;
  bool no_deploy = false;
  bool dry_run = false;
  bool rename = false;
  BackupSecrets secrets;
  unsigned kdf_cost = crypto::k_default_log2_n;
};

void render_table(const std::vector<ops::RecoverTarget>& targets, std::ostream& out) {
  if (targets.empty()) {
    out << "the backup records no deployment\n";
    return;
  }
  std::size_t entry_w = 5;
  std::size_t target_w = 6;
  for (const auto& t : targets) {
    entry_w = std::max(entry_w, t.entry.size());
    target_w = std::max(target_w, t.target_dir.size());
  }
  const auto row = [&](const std::string& e, const std::string& t, const std::string& r) {
    out << e << std::string(entry_w - e.size() + 2, ' ') << t
        << std::string(target_w - t.size() + 2, ' ') << r << '\n';
  };
  row("ENTRY", "TARGET", "RESULT");
  for (const auto& t : targets) row(t.entry, t.target_dir, t.result + ": " + t.detail);
}

nlohmann::json targets_json(const std::vector<ops::RecoverTarget>& targets) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : targets) {
    nlohmann::json j = {{"entry", t.entry},
                        {"target_dir", t.target_dir},
                        {"result", t.result},
                        {"detail", t.detail},
                        {"serial", nullptr},
                        {"fingerprint_sha256", nullptr}};
    if (t.deployed) {
      j["serial"] = t.deployed->serial;
      j["fingerprint_sha256"] = t.deployed->record.certificate_fingerprint;
    }
    arr.push_back(std::move(j));
  }
  return arr;
}

}  // namespace

Action setup_recover(CLI::App& cmd) {
  auto a = std::make_shared<RecoverArgs>();
  cmd.add_option("BACKUP", a->file, "backup file written by keysafe backup (best: --all)")
      ->required();
  cmd.add_flag("--no-deploy", a->no_deploy,
               "restore only: deploy nothing (every target is listed as skipped)");
  cmd.add_flag("--dry-run", a->dry_run,
               "open the backup, check every key, show what would be restored and deployed; "
               "write nothing (no store is created)");
  cmd.add_flag("--rename", a->rename,
               "into a store that has another key under an entry's name: restore it under a "
               "new name (as restore --rename)");
  cmd.add_option("--in-passphrase-file", a->secrets.in_passphrase_file,
                 "read the backup passphrase from FILE (else KEYSAFE_IN_PASSPHRASE, else the "
                 "terminal)")
      ->type_name("FILE");
  cmd.add_option("--recovery-key", a->secrets.recovery_key,
                 "private key (PEM) of the recovery certificate, for backups made with "
                 "--recipient")
      ->type_name("FILE");
  cmd.add_option("--kdf-cost", a->kdf_cost,
                 "scrypt cost of a store that recover creates, as log2(N) (default 17; below "
                 "15 for tests only)")
      ->check(CLI::Range(crypto::k_min_log2_n, crypto::k_max_log2_n))
      ->type_name("LOG2N");
  cmd.footer(R"(
After losing a host: creates the store if there is none (its new passphrase from
--passphrase-file, KEYSAFE_PASSPHRASE or the terminal, as for init), restores everything the
backup holds (keys, certificates, local CAs with what they issued and revoked, deployments,
settings, hosts and assignments with the fleet signing key; into an existing store by
restore's rules), then deploys every recorded deployment
again with deploy's own code: layout files, test command, reload command, probe. One table
says, for each entry and target: deployed, failed (with the reason) or skipped.

It runs the backup's test and reload commands as the user running keysafe: check them in
the --dry-run output first (a recipient backup can be made by anyone holding the recovery
certificate). Without a terminal to confirm on, --yes is required.

Exit 0 when every target serves the restored certificate (or, with --no-deploy, once the
restore succeeded); 1 when a target failed (the others are still deployed; the store keeps
everything restored), and the failures are listed.

EXAMPLES:
  keysafe recover /media/offline/all.kbk --dry-run
  keysafe --store /var/lib/keysafe/keystore.db recover all.kbk --yes \
      --passphrase-file /root/store.pass --in-passphrase-file /root/backup.pass
  keysafe recover all.p7m --recovery-key recovery.key --no-deploy --yes)");
  return [a](Context& ctx) {
    const Bytes file = files::read_input_file(a->file);
    const auto path = ctx.store_path();
    const bool store_exists = store::Keystore::exists(path);
    // A store that cannot be used is reported before any prompt.
    std::optional<store::Keystore> store;
    if (store_exists) store.emplace(ctx.open_store());
    const auto payload = open_backup_file(ctx, a->file, file, a->secrets);
    auto plan = store ? ops::plan_restore(*store, payload, a->file, a->rename)
                      : ops::plan_restore(payload, a->file);
    auto targets = ops::plan_redeployment(payload, plan);
    if (a->no_deploy)
      for (auto& t : targets)
        if (t.result == "would deploy") {
          t.result = "skipped";
          t.detail = "--no-deploy";
        }

    const auto report = [&](bool applied, const std::string& status) {
      if (ctx.options.json) {
        const bool ok = std::none_of(targets.begin(), targets.end(),
                                     [](const auto& t) { return t.result == "failed"; });
        ctx.out << nlohmann::json{{"file", a->file},
                                  {"store", path.string()},
                                  {"store_created", applied && !store_exists},
                                  {"dry_run", !applied},
                                  {"backup_created", time_or_null(payload.created)},
                                  {"payload_version", payload.version},
                                  {"restore", restore_plan_json(plan)},
                                  {"targets", targets_json(targets)},
                                  {"ok", ok}}
                       .dump(2, ' ', false, k_invalid_utf8)
                << '\n';
        return;
      }
      ctx.out << status << " from " << a->file << " (backup of "
              << time_or_null(payload.created).get<std::string>() << ") into " << path.string()
              << (store_exists ? "" : applied ? " (created)" : " (would be created)") << ":\n";
      render_restore_plan_text(plan, ctx.out);
      ctx.out << '\n';
      render_table(targets, ctx.out);
    };

    if (plan.has_conflict) {
      if (!ctx.options.json) report(false, "cannot recover");
      throw Error(Errc::AlreadyExists, "cannot recover: the store has other keys under the "
                                       "backup's entry names",
                  "nothing was changed", "add --rename, or recover into another store (--store)");
    }
    if (a->dry_run) {
      report(false, "would recover");
      return 0;
    }
    const auto deploys = std::count_if(targets.begin(), targets.end(),
                                       [](const auto& t) { return t.result == "would deploy"; });
    if (!ctx.options.yes) {
      const auto answer =
          ctx.env.confirm("Restore " + std::to_string(payload.entries.size()) +
                          " entries into " + path.string() + " and deploy to " +
                          std::to_string(deploys) + " target(s), running their commands? [y/N] ");
      if (!answer)
        throw Error(Errc::Refused, "refusing to recover without confirmation",
                    "there is no terminal to confirm on",
                    "check the plan with --dry-run, then add --yes");
      if (!*answer)
        throw Error(Errc::Refused, "nothing recovered", "the confirmation was declined",
                    "run the command again and answer y");
    }

    if (!store) {
      if (a->kdf_cost < 15)
        ctx.warn("--kdf-cost " + std::to_string(a->kdf_cost) +
                 " makes the passphrase cheap to guess: use it for test stores only");
      const SecureBytes pass = ctx.store_passphrase(true);
      store::Keystore::create(path, pass, crypto::KdfParams{a->kdf_cost, 8, 1}, ctx.env.now());
      store.emplace(store::Keystore::open(path));
      store->unlock(pass);
      plan = ops::plan_restore(*store, payload, a->file, a->rename);
    } else {
      ctx.unlock(*store);
    }
    ops::apply_restore(*store, payload, plan, {a->file, to_hex(sha256(file))}, ctx.env.now());
    ops::redeploy_recovered(*store, targets, ctx.env.now());
    report(true, "recovered");
    std::size_t failed = 0;
    for (const auto& t : targets) failed += t.result == "failed" ? 1 : 0;
    if (failed == 0) return 0;
    if (!ctx.options.json)
      ctx.err << "keysafe: " << failed << " of " << targets.size()
              << " target(s) failed (listed above); everything was restored: fix the cause, "
                 "then: keysafe deploy ENTRY --to TARGET\n";
    return 1;
  };
}

}  // namespace keysafe::cli
