// keysafe agent: on a host, deploy what the store assigns to it; report what it serves.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <ostream>
#include <thread>

#include "commands.hpp"
#include "keysafe/ops/agent.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

nlohmann::json run_json(const ops::AgentRun& run, const std::string& host) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& o : run.outcomes)
    arr.push_back({{"host", host},
                   {"entry", o.entry},
                   {"target_dir", o.target_dir},
                   {"state", o.state},
                   {"deployed", o.deployed},
                   {"newest_fingerprint", o.newest_fingerprint ? nlohmann::json(*o.newest_fingerprint)
                                                               : nlohmann::json(nullptr)},
                   {"served_fingerprint", o.served_fingerprint ? nlohmann::json(*o.served_fingerprint)
                                                               : nlohmann::json(nullptr)},
                   {"detail", o.detail}});
  return arr;
}

}  // namespace

Action setup_agent(CLI::App& cmd) {
  struct Options {
    std::string host, host_key;
    bool once = false;
    int interval = 300;
    double probe_timeout = 10;
  };
  auto o = std::make_shared<Options>();
  cmd.add_option("--host", o->host, "this host's name in the store")->required()->type_name("NAME");
  cmd.add_option("--host-key", o->host_key,
                 "this host's key file (keysafe host add --key-out), mode 0600")
      ->required()
      ->type_name("FILE");
  cmd.add_flag("--once", o->once, "one pass, then exit with the status exit code");
  cmd.add_option("--interval", o->interval, "seconds between passes without --once (default 300)")
      ->type_name("SECONDS")
      ->check(CLI::Range(5, 86400));
  cmd.add_option("--probe-timeout", o->probe_timeout,
                 "seconds to keep probing for a new certificate after a reload (default 10)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.1, 600.0));
  cmd.footer(R"(
Runs on the host, with no store passphrase: reads the host's assignments, checks each one's
signature (made by the store's admins; a changed assignment is refused and recorded), opens
only this host's sealed keys, and deploys every entry whose newest certificate is not in
place: all files first, then each distinct test command and reload command once (one server
serving several sites), with the previous files restored if one fails; then probes each
target and records a report per assignment (keysafe fleet shows them). A second pass changes
nothing. A sealed key is opened only when its entry is deployed, never on a pass with
nothing to do. Commands run with /bin/sh -c, see KEYSAFE_AGENT_HOST (and, for a command of
one target, KEYSAFE_DEPLOY_DIR, KEYSAFE_DEPLOY_NAME, KEYSAFE_DEPLOY_LAYOUT), and no secret.
Exit codes as status: 0 all current, 12 stale, 13 unreachable, 1 failed. Without --once it
runs until SIGTERM or SIGINT (the systemd unit keysafe-agent uses --once with a timer).
See docs/FLEET.md.

EXAMPLES:
  keysafe --store 'postgresql://web1@db/keysafe' agent --host web1 \
    --host-key /etc/keysafe/host.key --once
  keysafe agent --host web1 --host-key /etc/keysafe/host.key --interval 300)");
  return [o](Context& ctx) {
    const auto key = ops::read_host_key_file(o->host_key);
    ops::AgentOptions options;
    options.host = o->host;
    options.probe_patience = std::chrono::milliseconds(static_cast<long>(o->probe_timeout * 1000));
    const auto pass = [&]() {
      auto store = store::Keystore::open_for_host(ctx.store_path());
      options.now = ctx.env.now();
      const auto run = ops::run_agent_once(store, key, options);
      if (ctx.options.json) {
        ctx.out << run_json(run, o->host).dump(2, ' ', false, k_invalid_utf8) << '\n';
      } else {
        if (run.outcomes.empty()) ctx.out << "host \"" << o->host << "\" has no assignments\n";
        for (const auto& r : run.outcomes)
          ctx.out << r.entry << "  " << r.target_dir << "  " << r.state
                  << (r.deployed ? " (deployed now)" : "") << ": " << r.detail << '\n';
      }
      ctx.out.flush();
      return run.exit_code();
    };
    if (o->once) return pass();
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    int code = 0;
    while (!g_stop) {
      try {
        code = pass();
      } catch (const Error& e) {
        // A failed pass (store unreachable, a refusal) is reported and tried again later.
        ctx.err << "keysafe agent: " << e.summary() << (e.cause().empty() ? "" : ": " + e.cause())
                << '\n';
        code = 1;
      }
      for (int waited = 0; waited < o->interval * 10 && !g_stop; ++waited)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return code;
  };
}

}  // namespace keysafe::cli
