// keysafe audit: the append-only log of what happened to keys, and its hash-chain check.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/audit.hpp"
#include "keysafe/ops/clock.hpp"
#include "render.hpp"
#include "render_reports.hpp"

namespace keysafe::cli {

Action setup_audit(CLI::App& cmd) {
  auto verify = std::make_shared<bool>(false);
  cmd.add_flag("--verify", *verify,
               "check the hash chain, and with the passphrase the MAC'd head: exit 8 if a row "
               "was edited or removed");
  cmd.footer(R"(
Every key created, imported, exported, backed up, restored or deleted, every certificate
installed and every passphrase change is recorded with its time and user. Each row carries
the SHA-256 of the previous one, so an edited or removed row breaks the chain.

Anyone who can write the store file can rebuild a consistent chain, or cut rows off its end.
So the log's head (its last id and hash) also carries a MAC keyed from the data key, moved by
every command that unlocks the store. With the passphrase (--passphrase-file, ..., or typed at
the prompt), --verify checks it too; without one only the chain is checked, and the output
says so. Rows written by commands that do not unlock the store (install of a certificate,
delete, import of certificates) are covered by the MAC from the next command that does.

EXAMPLES:
  keysafe audit
  keysafe audit --verify --json)");
  return [verify](Context& ctx) {
    auto store = ctx.open_store();
    if (*verify) ctx.try_unlock(store);
    const auto verdict = ops::verify_audit(store);
    const auto& rows = verdict.rows;
    std::string broken;
    for (const auto& p : verdict.problems) broken += (broken.empty() ? "" : "; ") + p;
    const int code = (*verify && !broken.empty()) ? k_exit_damaged : 0;
    if (ctx.options.json) {
      ctx.out << audit_json(verdict, *verify).dump(2, ' ', false, k_invalid_utf8) << '\n';
      return code;
    }
    for (const auto& r : rows)
      ctx.out << r.id << "  " << ops::format_rfc3339(r.at) << "  " << r.user << "  " << r.action
              << "  " << (r.entry.empty() ? "-" : r.entry) << "  " << r.detail << '\n';
    if (*verify) {
      if (broken.empty())
        ctx.out << "audit log intact: " << rows.size() << " row(s), hash chain verified"
                << (verdict.keyed ? ", head MAC verified\n"
                                  : "; head MAC NOT verified (no passphrase): rows cut off the "
                                    "end or a rebuilt chain need it to be caught\n");
      else
        ctx.out << "AUDIT LOG TAMPERED: " << broken << '\n';
    }
    return code;
  };
}

}  // namespace keysafe::cli
