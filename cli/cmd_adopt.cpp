// keysafe adopt nginx|apache|haproxy: what a running server already uses, taken over in one command.
#include <ctime>
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/adopt.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "render.hpp"

namespace keysafe::cli {

// keysafe adopt certbot (cmd_adopt_certbot.cpp): the subcommand, its action set in `action`.
CLI::App* add_adopt_certbot(CLI::App& adopt, Action& action);

namespace {

struct AdoptArgs {
  std::string config;
  bool dry_run = false;
};

// A server keysafe adopts from: its subcommand, default configuration and reader.
struct AdoptServerCommand {
  CLI::App* command = nullptr;
  std::string default_config;
  ops::AdoptPlan (*plan)(store::Keystore&, const std::filesystem::path&, std::int64_t) = nullptr;
};

std::string date_of(std::int64_t t) {
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

nlohmann::json plan_json(const ops::AdoptPlan& plan, bool dry_run) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : plan.pairs) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : p.files)
      files.push_back({{"path", f.path}, {"role", f.role}, {"holds", f.holds}, {"sha256", f.sha256}});
    pairs.push_back({{"server", p.server},
                     {"server_names", p.server_names},
                     {"certificate", p.certificate_path},
                     {"key", p.key_path},
                     {"chain", p.chain_path.empty() ? nlohmann::json() : nlohmann::json(p.chain_path)},
                     {"files", files},
                     {"entry", p.entry},
                     {"subject", p.subject},
                     {"not_after", p.not_after},
                     {"fingerprint_sha256", p.fingerprint_sha256},
                     {"key_matches", p.key_matches},
                     {"action", p.action},
                     {"adopted", p.problem.empty() && !dry_run},
                     {"problem", p.problem.empty() ? nlohmann::json() : nlohmann::json(p.problem)},
                     {"target", p.target},
                     {"probe", p.probe ? nlohmann::json(*p.probe) : nlohmann::json()},
                     {"sni", p.sni ? nlohmann::json(*p.sni) : nlohmann::json()}});
  }
  return {{"server", plan.server},   {"config", plan.config},         {"dry_run", dry_run},
          {"test_cmd", plan.test_cmd}, {"reload_cmd", plan.reload_cmd}, {"pairs", pairs},
          {"adoptable", plan.adoptable()}, {"not_adoptable", plan.pairs.size() - plan.adoptable()}};
}

void print_plan(std::ostream& out, const ops::AdoptPlan& plan, bool dry_run) {
  out << (dry_run ? "would adopt from " : "adopted from ") << plan.server << " configuration "
      << plan.config << ":\n";
  for (const auto& p : plan.pairs) {
    out << "\n  " << plan.block_kind << " " << p.server;
    if (!p.server_names.empty()) {
      out << " (";
      for (std::size_t i = 0; i < p.server_names.size(); ++i) out << (i ? " " : "") << p.server_names[i];
      out << ")";
    }
    out << "\n";
    if (p.problem.empty()) {
      out << "    entry " << p.entry << ": "
          << (p.action == "create" ? "new entry"
              : p.action == "link" ? "already in the store (linked, not duplicated)"
                                   : "the same key as an earlier block (one entry, another deployment)")
          << "\n    certificate " << p.subject << ", expires " << date_of(p.not_after)
          << ", key matches\n";
      for (const auto& f : p.files) out << "    " << f.path << ": " << f.holds << " (" << f.role << ")\n";
      if (p.probe) out << "    probe " << *p.probe << (p.sni ? " with SNI " + *p.sni : std::string()) << "\n";
    } else {
      out << "    NOT ADOPTED: " << p.problem << "\n";
      if (!p.certificate_path.empty()) out << "    certificate " << p.certificate_path << "\n";
      if (!p.key_path.empty()) out << "    key " << p.key_path << "\n";
      if (!p.chain_path.empty()) out << "    chain " << p.chain_path << "\n";
    }
  }
  out << "\n" << plan.adoptable() << " of " << plan.pairs.size() << " pairs "
      << (dry_run ? "can be adopted" : "adopted") << "; test command: " << plan.test_cmd
      << "; reload command: " << plan.reload_cmd << "\n";
}

}  // namespace

Action setup_adopt(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto a = std::make_shared<AdoptArgs>();
  auto* nginx = cmd.add_subcommand(
      "nginx", "adopt every certificate and key an nginx configuration uses");
  nginx->add_option("--config", a->config, "the main configuration file (default /etc/nginx/nginx.conf)")
      ->type_name("FILE");
  nginx->add_flag("--dry-run", a->dry_run, "show the plan; change nothing");
  std::vector<AdoptServerCommand> servers{{nginx, "/etc/nginx/nginx.conf", &ops::plan_adopt_nginx}};
  nginx->footer(R"(
Reads the configuration as nginx does (include with globs, relative paths from the main
file's directory) and finds each server block's ssl_certificate / ssl_certificate_key (inherited
from the http level too), server_name and listen. Each pair is imported (keys encrypted into
the store; a key already stored is linked, not duplicated; a pair used by several blocks is one
entry with several deployments) and recorded as a deployment of those exact files (layout
"files"), with `nginx -t -q -c CONF` / `nginx -s reload -c CONF` and a TLS probe of the listen
address with the block's server name. Nothing is written under the configuration's
directories. Pairs that cannot be adopted (a key that does not match, a missing file, a
variable in a path, a key on a token) are listed with the reason; the rest is adopted.
Off a terminal, --yes is required. Exit 0 when every pair was adopted, 1 when some were not.

EXAMPLES:
  keysafe adopt nginx --dry-run
  keysafe adopt nginx --yes
  keysafe adopt nginx --config /srv/nginx/nginx.conf --json --yes
  keysafe status && keysafe renew www.example.com   # redeploys to the adopted files)");
  auto* apache = cmd.add_subcommand(
      "apache", "adopt every certificate and key an Apache httpd configuration uses");
  apache->add_option("--config", a->config, "the main configuration file (default /etc/apache2/apache2.conf)")
      ->type_name("FILE");
  apache->add_flag("--dry-run", a->dry_run, "show the plan; change nothing");
  apache->footer(R"(
Reads the configuration as httpd does (Include/IncludeOptional with globs and directories,
relative paths from ServerRoot, Define and ${VAR}, <IfModule>/<IfDefine>/<IfFile>, quoted
arguments, "\" line continuations) and finds each <VirtualHost>'s SSLCertificateFile,
SSLCertificateKeyFile (absent: the key is in the certificate file) and SSLCertificateChainFile,
ServerName / ServerAlias and address. Each pair is imported and recorded as a deployment of
those exact files (layout "files"), with `apachectl -f CONF -t` / `apachectl -f CONF -k graceful`
and a TLS probe of the virtual host's address with its ServerName as SNI. Nothing is written
under the configuration's directories. Pairs that cannot be adopted (a key that does not
match, a missing file, an undefined ${VAR} in a path) are listed with the reason; the rest is
adopted. Off a terminal, --yes is required. Exit 0 when every pair was adopted, 1 when some
were not.

EXAMPLES:
  keysafe adopt apache --dry-run
  keysafe adopt apache --yes
  keysafe adopt apache --config /srv/httpd/httpd.conf --json --yes)");
  servers.push_back({apache, "/etc/apache2/apache2.conf", &ops::plan_adopt_apache});
  auto* haproxy = cmd.add_subcommand(
      "haproxy", "adopt every certificate and key an HAProxy configuration loads");
  haproxy->add_option("--config", a->config, "the configuration file or directory (default /etc/haproxy/haproxy.cfg)")
      ->type_name("FILE");
  haproxy->add_flag("--dry-run", a->dry_run, "show the plan; change nothing");
  haproxy->footer(R"(
Reads the configuration as haproxy does (quotes, escapes, "$VAR" in double quotes, .if
blocks, the global crt-base and pidfile) and finds every certificate each `bind ... crt`
loads: a file, every certificate file of a crt directory (not dot files nor the .key, .ocsp,
.issuer and .sctl companions), and each line of a crt-list (its SNI filters name the site).
A file without a key takes its FILE.key companion. Each file is imported and recorded as a
deployment of that exact file (layout "files": certificate, chain and key in one file, role
"combined"; with a FILE.key, the key there), with `haproxy -c -q -f CONF` and a reload
through the global pidfile (`haproxy -D -f CONF -sf $(cat PIDFILE)`; `kill -USR2`
in master-worker mode; `systemctl reload haproxy` without a pidfile), and a TLS probe of the
bind address with the certificate's name as SNI. Off a terminal, --yes is required. Exit 0
when every pair was adopted, 1 when some were not.

EXAMPLES:
  keysafe adopt haproxy --dry-run
  keysafe adopt haproxy --config /etc/haproxy/haproxy.cfg --yes)");
  servers.push_back({haproxy, "/etc/haproxy/haproxy.cfg", &ops::plan_adopt_haproxy});
  Action certbot_action;
  auto* certbot = add_adopt_certbot(cmd, certbot_action);
  return [a, servers, certbot, certbot_action](Context& ctx) {
    if (certbot->parsed()) return certbot_action(ctx);
    const AdoptServerCommand* server = &servers.front();
    for (const auto& s : servers)
      if (s.command->parsed()) server = &s;
    const std::string config = a->config.empty() ? server->default_config : a->config;
    auto store = ctx.open_store();
    const std::int64_t now = ctx.env.now();
    auto plan = server->plan(store, config, now);
    if (!a->dry_run && plan.adoptable() > 0 && !ctx.options.yes) {
      print_plan(ctx.err, plan, true);
      const auto answer = ctx.env.confirm("adopt " + std::to_string(plan.adoptable()) + " pairs?");
      if (!answer)
        throw Error(Errc::Refused, "refusing to adopt without --yes",
                    "there is no terminal to confirm the plan on",
                    "check the plan with --dry-run, then add --yes");
      if (!*answer) throw Error(Errc::Refused, "nothing was adopted", "the plan was not confirmed", "");
    }
    std::vector<std::string> backups;
    if (!a->dry_run && plan.adoptable() > 0) {
      // Deployment rows carry the store's row MAC: unlocked even when every key is stored already.
      ctx.unlock(store);
      ops::apply_adopt(store, plan, now);
      if (plan.import.needs_unlock)
        if (auto backup_config = ops::auto_backup_config(store))
          for (const auto& item : plan.import.items)
            if (item.private_key && item.action != "unchanged")
              backups.push_back(ops::auto_backup(store, *backup_config, item.name, now).string());
    }
    if (ctx.options.json) {
      auto j = plan_json(plan, a->dry_run);
      j["backup_files"] = backups;
      ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
    } else {
      print_plan(ctx.out, plan, a->dry_run);
      for (const auto& b : backups) ctx.out << "automatic backup written to " << b << '\n';
    }
    return plan.adoptable() == plan.pairs.size() ? 0 : 1;
  };
}

}  // namespace keysafe::cli
