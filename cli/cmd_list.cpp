// keysafe list: every entry, or those expiring soon, from indexed columns.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/inventory.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_list(CLI::App& cmd) {
  auto expiring = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  cmd.add_option("--expiring", *expiring,
                 "only certificates that expire within DAYS (e.g. 30 or 30d), expired ones "
                 "included; exit code 10 if any expires within DAYS, 11 if any has expired")
      ->type_name("DAYS");
  cmd.add_flag("--all", *all,
               "also list superseded entries (NAME.replaced-DATE, replaced by a renewal)");
  cmd.footer(R"(
Needs no passphrase. Keys never backed up show NEVER in the BACKUP column. An entry replaced
by a renewal with a new key is superseded: it keeps its key until deleted, but is listed only
with --all and never by --expiring.

EXAMPLES:
  keysafe list
  keysafe list --expiring 30 --json)");
  return [expiring, all](Context& ctx) {
    std::optional<std::int64_t> days;
    if (!expiring->empty()) days = ops::parse_days(*expiring);
    auto store = ctx.open_store_for_listing();
    const auto now = ctx.env.now();
    const auto entries = ops::list_entries(store, now, days, *all);
    if (ctx.options.json) {
      render_entries_json(entries, ctx.out);
    } else if (entries.empty()) {
      ctx.out << (days ? "nothing expires within " + std::to_string(*days) + " days\n"
                       : ctx.fixes("the store is empty: keysafe create NAME --dns NAME\n"));
    } else {
      render_entry_table(entries, ctx.out);
    }
    if (!days) return 0;
    bool expired = false;
    for (const auto& e : entries) expired = expired || (e.not_after && *e.not_after < now);
    if (expired) return k_exit_expired;
    return entries.empty() ? 0 : k_exit_expiring;
  };
}

}  // namespace keysafe::cli
