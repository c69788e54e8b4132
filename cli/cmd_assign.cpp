// keysafe assign / unassign: which host serves an entry, from where, and how it reloads.
#include <ostream>

#include "commands.hpp"
#include "keysafe/deploy/probe.hpp"
#include "keysafe/ops/fleet.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_assign(CLI::App& cmd) {
  struct Options {
    std::string entry, host, to, layout = "nginx";
    std::optional<std::string> test_cmd, reload_cmd, probe, sni;
  };
  auto o = std::make_shared<Options>();
  cmd.add_option("ENTRY", o->entry, "the entry the host serves")->required();
  cmd.add_option("--host", o->host, "the host (keysafe host add)")->required()->type_name("NAME");
  cmd.add_option("--to", o->to, "the directory on the host the server reads the files from")
      ->required()
      ->type_name("DIR");
  cmd.add_option("--layout", o->layout,
                 "file layout, as for deploy: nginx, apache, haproxy or pem (default nginx)")
      ->type_name("LAYOUT")
      ->check(CLI::IsMember({"nginx", "apache", "haproxy", "pem"}));
  cmd.add_option("--test-cmd", o->test_cmd,
                 "shell command the agent runs on the host to test the server's configuration")
      ->type_name("CMD");
  cmd.add_option("--reload-cmd", o->reload_cmd, "shell command that reloads the server on the host")
      ->type_name("CMD");
  cmd.add_option("--probe", o->probe, "where the agent checks the served certificate")
      ->type_name("HOST:PORT");
  cmd.add_option("--sni", o->sni, "server name to send when probing")->type_name("NAME");
  cmd.footer(R"(
Records that the host serves ENTRY from DIR, seals the entry's private key to the host's key
(X25519 + HKDF-SHA-256 + AES-256-GCM, bound to the host, the entry and the key) and signs the
assignment with the store's fleet signing key. The host's agent (keysafe agent) deploys it
with the same steps as deploy. A renewal with a new key re-seals it to every assigned host in
the same transaction. Assigning an entry to a host again replaces the earlier fields. Needs
the store passphrase. See docs/FLEET.md.

EXAMPLES:
  keysafe assign www.example.com --host web1 --to /etc/nginx/tls/www --layout nginx \
    --test-cmd 'nginx -t' --reload-cmd 'systemctl reload nginx' \
    --probe 127.0.0.1:443 --sni www.example.com
  keysafe unassign www.example.com --host web1)");
  return [o](Context& ctx) {
    ops::AssignRequest r;
    r.entry = o->entry;
    r.host = o->host;
    r.target_dir = o->to;
    r.layout = deploy::parse_layout(o->layout);
    r.test_cmd = o->test_cmd;
    r.reload_cmd = o->reload_cmd;
    r.probe = o->probe;
    r.sni = o->sni;
    r.now = ctx.env.now();
    if (r.probe && !r.probe->empty()) deploy::parse_endpoint(*r.probe);  // usage errors first
    auto store = ctx.open_store();
    ctx.unlock(store);
    const auto result = ops::assign_entry(store, r);
    const auto& a = result.assignment;
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"entry", a.entry},
                                {"host", a.host},
                                {"target_dir", a.target_dir},
                                {"layout", a.layout},
                                {"replaced", result.replaced}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << (result.replaced ? "re-assigned \"" : "assigned \"") << a.entry << "\" to host \""
            << a.host << "\": " << a.target_dir << " (" << a.layout << ")\n"
            << "  its private key is sealed to the host's key; the host's agent deploys it on "
               "its next run\n";
    return 0;
  };
}

Action setup_unassign(CLI::App& cmd) {
  struct Options {
    std::string entry, host;
  };
  auto o = std::make_shared<Options>();
  cmd.add_option("ENTRY", o->entry, "the entry")->required();
  cmd.add_option("--host", o->host, "the host")->required()->type_name("NAME");
  cmd.footer(R"(
Removes the assignment and the host's sealed copy of the key from the store. The files the
agent wrote stay on the host until removed there; they are recorded (a "released" host
event, path and SHA-256 of each), so a later assignment to the same directory on that host
may replace exactly those files, while any other file there is still refused. Needs the
store passphrase.

EXAMPLES:
  keysafe unassign www.example.com --host web1)");
  return [o](Context& ctx) {
    auto store = ctx.open_store();
    ctx.unlock(store);
    const auto a = ops::unassign_entry(store, o->entry, o->host, ctx.env.now());
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"entry", a.entry}, {"host", a.host}, {"target_dir", a.target_dir}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << "unassigned \"" << a.entry << "\" from host \"" << a.host << "\"; the files in "
            << a.target_dir << " stay on the host until removed there\n";
    return 0;
  };
}

}  // namespace keysafe::cli
