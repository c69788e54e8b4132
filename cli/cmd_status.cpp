// keysafe status: does every deployment target serve the entry's newest certificate?
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/deploy.hpp"
#include "render.hpp"
#include "render_reports.hpp"

namespace keysafe::cli {

Action setup_status(CLI::App& cmd) {
  auto name = std::make_shared<std::string>();
  auto timeout = std::make_shared<double>(5);
  cmd.add_option("NAME", *name, "only this entry's targets");
  cmd.add_option("--timeout", *timeout,
                 "seconds to keep trying each probe address before calling it unreachable "
                 "(default 5)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.1, 600.0));
  cmd.footer(R"(
For each recorded deployment, connects to its probe address with TLS and compares the
served certificate with the newest certificate of the entry in the store. A target without
a probe address is judged by the certificate file on disk instead (and says so). States:
  current        serves the newest certificate
  not-deployed   renewed but not deployed: the newest certificate was never deployed there
  stale          serving an older certificate (the server was not reloaded, or the files
                 were changed)
  unreachable    no TLS answer at the probe address (or the files cannot be read)
Exit codes: 0 every target serves the newest certificate; 12 some target is stale or not
deployed; 13 some target is unreachable (13 wins over 12). Needs no passphrase.

EXAMPLES:
  keysafe status
  keysafe status www.example.com --json)");
  return [name, timeout](Context& ctx) {
    auto store = ctx.open_store();
    std::optional<std::string> only;
    if (!name->empty()) only = *name;
    const auto statuses = ops::deployment_status(
        store, only, std::chrono::milliseconds(static_cast<long>(*timeout * 1000)));
    bool stale = false;
    bool unreachable = false;
    for (const auto& s : statuses) {
      stale = stale || s.state == "stale" || s.state == "not-deployed";
      unreachable = unreachable || s.state == "unreachable";
    }
    if (ctx.options.json) {
      ctx.out << status_json(statuses, [&](std::string_view fix) { return ctx.fixes(fix); })
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    } else if (statuses.empty()) {
      ctx.out << (only ? "\"" + *only + "\" is not deployed anywhere\n"
                       : std::string("nothing is deployed: keysafe deploy NAME --to DIR\n"));
    } else {
      for (const auto& s : statuses)
        ctx.out << s.deployment.record.entry << "  " << s.deployment.record.target_dir << "  "
                << s.state << ": " << ctx.fixes(s.detail) << '\n';
    }
    if (unreachable) return k_exit_unreachable;
    return stale ? k_exit_stale : 0;
  };
}

}  // namespace keysafe::cli
