// keysafe audit: the append-only log of what happened to keys, and its hash-chain check.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/clock.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
// The first broken link of the chain, or "" when every row is intact.
std::string verify_chain(const std::vector<store::AuditRecord>& rows) {
  Bytes prev(32, 0);
  std::int64_t expected_id = 1;
  for (const auto& r : rows) {
    if (r.id != expected_id)
      return "row " + std::to_string(expected_id) + (r.id > expected_id ? " is missing (removed)"
                                                                        : " is out of order");
    if (r.prev_hash != prev)
      return "row " + std::to_string(r.id) + " does not follow row " + std::to_string(r.id - 1) +
             " (a row was removed or replaced)";
    if (store::audit_hash(r) != r.hash)
      return "row " + std::to_string(r.id) + " was edited (its hash does not match its fields)";
    prev = r.hash;
    ++expected_id;
  }
  return "";
}
}  // namespace

Action setup_audit(CLI::App& cmd) {
  auto verify = std::make_shared<bool>(false);
  cmd.add_flag("--verify", *verify,
               "check the hash chain: exit 8 if a row was edited or removed");
  cmd.footer(R"(
Every key created, imported, exported, backed up, restored or deleted, every certificate
installed and every passphrase change is recorded with its time and user. Each row carries
the SHA-256 of the previous one, so an edited or removed row breaks the chain.

EXAMPLES:
  keysafe audit
  keysafe audit --verify --json)");
  return [verify](Context& ctx) {
    auto store = ctx.open_store();
    const auto rows = store.audit_log();
    const std::string broken = verify_chain(rows);
    const int code = (*verify && !broken.empty()) ? k_exit_damaged : 0;
    if (ctx.options.json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : rows)
        arr.push_back({{"id", r.id}, {"at", ops::format_rfc3339(r.at)}, {"user", r.user},
                       {"action", r.action}, {"entry", r.entry}, {"detail", r.detail},
                       {"hash", to_hex(r.hash)}});
      nlohmann::json j = {{"entries", arr}};
      if (*verify) j["intact"] = broken.empty(), j["problem"] = broken;
      ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
      return code;
    }
    for (const auto& r : rows)
      ctx.out << r.id << "  " << ops::format_rfc3339(r.at) << "  " << r.user << "  " << r.action
              << "  " << (r.entry.empty() ? "-" : r.entry) << "  " << r.detail << '\n';
    if (*verify) {
      if (broken.empty())
        ctx.out << "audit log intact: " << rows.size() << " row(s), hash chain verified\n";
      else
        ctx.out << "AUDIT LOG TAMPERED: " << broken << '\n';
    }
    return code;
  };
}

}  // namespace keysafe::cli
