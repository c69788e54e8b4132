// keysafe check: the doctor, for people and for monitoring.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/check.hpp"
#include "keysafe/ops/salvage.hpp"
#include "passphrase.hpp"
#include "progress.hpp"
#include "render.hpp"
#include "render_reports.hpp"

namespace keysafe::cli {
namespace {

// The store did not read normally: each entry is read and verified on its own, and what
// still reads is listed with the command that copies it out (exit 8).
int check_damaged(Context& ctx, std::optional<store::Keystore>& opened, const Error& damage) {
  const std::string cause = damage.summary() + (damage.cause().empty() ? "" : ": " + damage.cause());
  if (!opened) {
    try {
      opened.emplace(store::Keystore::open_damaged(ctx.store_path()));
    } catch (const Error&) {
      throw damage;  // not even that far: the original error says why
    }
    if (opened->header_readable()) {
      try {
        ctx.try_unlock(*opened);
      } catch (const Error& e) {
        if (e.code() != Errc::StoreDamaged) throw;  // a damaged header: check it locked
      }
    }
  }
  const auto report = ops::assess_damage(*opened, cause);
  const std::string path = opened->path().string();
  const std::string salvage_fix =
      "keysafe salvage " + path + " --to NEW-STORE copies the " + std::to_string(report.readable()) +
      " readable entr" + (report.readable() == 1 ? "y" : "ies") +
      " into a new store; restore the others from a backup: keysafe --store NEW-STORE restore "
      "BACKUP-FILE";
  if (ctx.options.json) {
    nlohmann::json readable = nlohmann::json::array();
    nlohmann::json lost = nlohmann::json::array();
    nlohmann::json findings = nlohmann::json::array();
    findings.push_back(
        {{"severity", "damaged"}, {"entry", ""}, {"message", cause}, {"fix", salvage_fix}});
    for (const auto& line : report.integrity)
      findings.push_back({{"severity", "damaged"}, {"entry", ""},
                          {"message", "SQLite integrity check: " + line}, {"fix", salvage_fix}});
    for (const auto& e : report.entries) {
      if (e.readable) {
        readable.push_back(*e.name);
        continue;
      }
      lost.push_back({{"name", e.name ? nlohmann::json(*e.name) : nlohmann::json(nullptr)},
                      {"key_id", e.key_id}, {"problem", e.problem}});
      findings.push_back({{"severity", "damaged"}, {"entry", e.name.value_or("")},
                          {"message", e.problem},
                          {"fix", "restore this entry from a backup: keysafe restore BACKUP-FILE"}});
    }
    ctx.out << nlohmann::json{{"store", path},
                              {"entries", report.entries.size()},
                              {"keys_checked", report.keys_checked},
                              {"damaged", true},
                              {"readable", readable},
                              {"lost", lost},
                              {"findings", findings},
                              {"exit_code", k_exit_damaged}}
                   .dump(2, ' ', false, k_invalid_utf8)
            << '\n';
    return k_exit_damaged;
  }
  ctx.out << "DAMAGED (store): " << cause << '\n';
  for (const auto& line : report.integrity)
    ctx.out << "DAMAGED (store): SQLite integrity check: " << line << '\n';
  ctx.out << "what still reads, entry by entry"
          << (report.keys_checked ? " (private keys opened):\n"
                                  : " (private keys NOT opened: no passphrase):\n");
  for (const auto& e : report.entries)
    ctx.out << (e.readable ? "  readable  " : "  DAMAGED   ") << ops::DamageReport::label(e)
            << (e.readable ? std::string() : ": " + e.problem) << '\n';
  ctx.out << "checked " << report.entries.size() << " entr"
          << (report.entries.size() == 1 ? "y" : "ies") << ": " << report.readable()
          << " readable, " << report.entries.size() - report.readable()
          << " damaged; DAMAGE FOUND\n"
          << "fix: " << salvage_fix << '\n';
  return k_exit_damaged;
}

}  // namespace

Action setup_check(CLI::App& cmd) {
  auto name = std::make_shared<std::string>();
  auto strict = std::make_shared<bool>(false);
  cmd.add_option("NAME", *name, "check one entry only");
  cmd.add_flag("--strict", *strict, "exit 7 when there are warnings (not only damage)");
  cmd.footer(R"(
Checks: SQLite integrity, and the file header's format-version bytes (SQLite itself opens
a file with a damaged one read-only, without calling it damage); the store header's
checksum; every row checksum (a changed byte in a name, date or chain verdict); with the
passphrase, every integrity MAC (settings, deployments, key files, CA state and the audit
log's head: a row changed by someone without the passphrase is TAMPERED, exit 8) and that
every sealed key opens and matches its stored public key (without one, neither is checked
and the report says so); that every certificate carries its entry's key,
decodes, and agrees with the columns list shows (subject, issuer, serial, validity, names);
chains; expiry (due as renew --all --due 30 counts it: fewer than 30 days left, or less
than a third of a shorter-lived certificate's validity); keys never backed up or whose backup is older than their newest
certificate; requests pending over 30 days. Superseded entries (replaced by a renewal)
get no warnings.

A store too damaged to read normally (a truncated file, damaged pages) is read entry by
entry: each entry is listed as readable (every row reads and verifies) or damaged, and
keysafe salvage copies the readable ones into a new store.

Exit codes: 0 nothing damaged (warnings printed), 7 warnings with --strict, 8 damaged or
tampered.

EXAMPLES:
  keysafe check
  keysafe check --json --strict --passphrase-file /root/keysafe.pass   # for monitoring)");
  return [name, strict](Context& ctx) {
    // Opened without the header checksum so a damaged header is reported with the rest.
    // A store too damaged to read normally is read entry by entry instead (exit 8).
    std::optional<store::Keystore> opened;
    ops::CheckReport report;
    try {
      opened.emplace(ctx.open_store_for_listing());
      ctx.try_unlock(*opened);
      // A big store takes a while (every sealed key is opened): progress on a terminal.
      Progress progress(ctx, "checking entries");
      report = ops::check_store(
          *opened, name->empty() ? std::nullopt : std::optional<std::string>(*name),
          ctx.env.now(), progress.callback());
      progress.finish();
    } catch (const Error& e) {
      if (e.code() != Errc::StoreDamaged) throw;
      return check_damaged(ctx, opened, e);
    }
    auto& store = *opened;
    const int code = report.damaged()                         ? k_exit_damaged
                     : (*strict && report.has_warnings()) ? k_exit_warnings
                                                              : 0;
    if (ctx.options.json) {
      ctx.out << check_json(report, store.path().string(),
                            [&](std::string_view fix) { return ctx.fixes(fix); }, code)
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return code;
    }
    for (const auto& f : report.findings)
      ctx.out << (f.severity == "damaged"    ? "DAMAGED "
                  : f.severity == "tampered" ? "TAMPERED "
                                             : "warning ")
              << (f.entry.empty() ? std::string("(store)") : f.entry) << ": " << f.message
              << "\n        fix: " << ctx.fixes(f.fix) << '\n';
    ctx.out << "checked " << report.entries << " entr" << (report.entries == 1 ? "y" : "ies")
            << ", " << report.certificates << " certificate(s); "
            << (report.keys_checked ? std::to_string(report.keys_opened) + " private key(s) opened"
                                    : std::string("private keys NOT opened and integrity MACs NOT "
                                                  "verified (no passphrase)"))
            << "; " << (report.damaged() ? "DAMAGE FOUND" : "no damage") << '\n';
    return code;
  };
}

}  // namespace keysafe::cli
