// keysafe check: the doctor, for people and for monitoring.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/check.hpp"
#include "passphrase.hpp"
#include "progress.hpp"
#include "render.hpp"

namespace keysafe::cli {

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

Exit codes: 0 nothing damaged (warnings printed), 7 warnings with --strict, 8 damaged or
tampered.

EXAMPLES:
  keysafe check
  keysafe check --json --strict --passphrase-file /root/keysafe.pass   # for monitoring)");
  return [name, strict](Context& ctx) {
    // Opened without the header checksum so a damaged header is reported with the rest.
    auto store = ctx.open_store_for_listing();
    ctx.try_unlock(store);
    // A big store takes a while (every sealed key is opened): progress on a terminal.
    Progress progress(ctx, "checking entries");
    const auto report = ops::check_store(
        store, name->empty() ? std::nullopt : std::optional<std::string>(*name), ctx.env.now(),
        progress.callback());
    progress.finish();
    const int code = report.damaged()                         ? k_exit_damaged
                     : (*strict && report.has_warnings()) ? k_exit_warnings
                                                              : 0;
    if (ctx.options.json) {
      nlohmann::json findings = nlohmann::json::array();
      for (const auto& f : report.findings)
        findings.push_back({{"severity", f.severity}, {"entry", f.entry},
                            {"message", f.message}, {"fix", ctx.fixes(f.fix)}});
      ctx.out << nlohmann::json{{"store", store.path().string()},
                                {"entries", report.entries},
                                {"certificates", report.certificates},
                                {"keys_checked", report.keys_checked},
                                {"keys_opened", report.keys_opened},
                                {"damaged", report.damaged()},
                                {"warnings", report.has_warnings()},
                                {"findings", findings},
                                {"exit_code", code}}
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
