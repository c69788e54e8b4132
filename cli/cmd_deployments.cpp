// keysafe deployments: what is deployed where, from the store alone (no probing).
#include <iomanip>
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/deploy.hpp"
#include "render.hpp"
#include "render_reports.hpp"

namespace keysafe::cli {

Action setup_deployments(CLI::App& cmd) {
  cmd.footer(R"(
Lists every recorded deployment: entry, directory, layout, probe address, the certificate
deployed there (CURRENT yes when it is the entry's newest certificate) and when. Needs no
passphrase and connects to nothing; keysafe status probes the servers.

EXAMPLES:
  keysafe deployments
  keysafe deployments --json)");
  return [](Context& ctx) {
    auto store = ctx.open_store();
    const auto views = ops::list_deployments(store);
    if (ctx.options.json) {
      ctx.out << deployments_json(views).dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    if (views.empty()) {
      ctx.out << "nothing is deployed: keysafe deploy NAME --to DIR\n";
      return 0;
    }
    std::size_t wn = 5, wd = 9, wp = 5;
    for (const auto& v : views) {
      wn = std::max(wn, v.record.entry.size());
      wd = std::max(wd, v.record.target_dir.size());
      wp = std::max(wp, v.record.probe.value_or("-").size());
    }
    const auto row = [&](const std::string& n, const std::string& d, const std::string& l,
                         const std::string& p, const std::string& f, const std::string& c,
                         const std::string& t) {
      ctx.out << std::left << std::setw(static_cast<int>(wn)) << n << "  "
              << std::setw(static_cast<int>(wd)) << d << "  " << std::setw(7) << l << "  "
              << std::setw(static_cast<int>(wp)) << p << "  " << std::setw(19) << f << "  "
              << std::setw(7) << c << "  " << t << '\n';
    };
    row("ENTRY", "DIRECTORY", "LAYOUT", "PROBE", "DEPLOYED (SHA-256)", "CURRENT", "WHEN");
    for (const auto& v : views)
      row(v.record.entry, v.record.target_dir, v.record.layout, v.record.probe.value_or("-"),
          v.record.certificate_fingerprint.substr(0, 16) + "...", v.is_current ? "yes" : "NO",
          ops::format_rfc3339(v.record.deployed_at));
    return 0;
  };
}

}  // namespace keysafe::cli
