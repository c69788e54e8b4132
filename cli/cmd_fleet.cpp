// keysafe fleet: every host × entry, from the agents' reports.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/fleet.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_fleet(CLI::App& cmd) {
  struct Options {
    std::int64_t silent_after = 2 * ops::k_default_agent_interval;
  };
  auto o = std::make_shared<Options>();
  cmd.add_option("--silent-after", o->silent_after,
                 "seconds without a report after which a host counts as silent (default 600, "
                 "twice the agent's default interval)")
      ->type_name("SECONDS")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{10} * 365 * 86400));
  cmd.footer(R"footer(
One row per host and assigned entry: the newest certificate, the one the host's agent last
deployed and the one it saw served, the time of its last report, and a state: current,
stale (the newest is not deployed or not served yet), unreachable, failed (the agent's last
pass failed there; the detail says why), silent (no report within --silent-after).
Exit codes as status: 0 all current, 12 when any is stale, 13 when any is unreachable or
silent, 1 when any failed. Needs no passphrase. See docs/FLEET.md.

EXAMPLES:
  keysafe fleet
  keysafe fleet --json | jq -r '.[] | select(.state != "current") | "\(.host) \(.entry)"')footer");
  return [o](Context& ctx) {
    auto store = ctx.open_store_for_listing();
    const auto rows = ops::fleet_status(store, o->silent_after, ctx.env.now());
    if (ctx.options.json) {
      nlohmann::json arr = nlohmann::json::array();
      const auto opt = [](const std::optional<std::string>& s) {
        return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
      };
      for (const auto& r : rows)
        arr.push_back({{"host", r.host},
                       {"entry", r.entry},
                       {"target_dir", r.target_dir},
                       {"newest_fingerprint", opt(r.newest_fingerprint)},
                       {"deployed_fingerprint", opt(r.deployed_fingerprint)},
                       {"served_fingerprint", opt(r.served_fingerprint)},
                       {"last_report", time_or_null(r.last_report)},
                       {"state", r.state},
                       {"detail", r.detail}});
      ctx.out << arr.dump(2, ' ', false, k_invalid_utf8) << '\n';
    } else if (rows.empty()) {
      ctx.out << ctx.fixes("no assignments: keysafe assign ENTRY --host NAME --to DIR\n");
    } else {
      for (const auto& r : rows)
        ctx.out << r.host << "  " << r.entry << "  " << r.state << ": " << r.detail << '\n';
    }
    bool failed = false, unreachable = false, stale = false;
    for (const auto& r : rows) {
      failed = failed || r.state == "failed";
      unreachable = unreachable || r.state == "unreachable" || r.state == "silent";
      stale = stale || r.state == "stale";
    }
    if (failed) return 1;
    if (unreachable) return k_exit_unreachable;
    return stale ? k_exit_stale : 0;
  };
}

}  // namespace keysafe::cli
