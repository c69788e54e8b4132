// keysafe deploy: an entry's key and certificate into a server's directory, tested, reloaded,
// probed.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/deploy.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

nlohmann::json deployment_files_json(const std::vector<store::DeployedFile>& files) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& f : files) arr.push_back({{"path", f.path}, {"sha256", f.sha256}});
  return arr;
}

nlohmann::json optional_json(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

nlohmann::json deploy_result_json(const ops::DeployResult& r) {
  const auto& d = r.record;
  nlohmann::json probe = nullptr;
  if (r.probe)
    probe = {{"address", *d.probe},
             {"sni", optional_json(d.sni)},
             {"served_fingerprint_sha256", r.probe->fingerprint_sha256},
             {"served_serial", r.probe->serial_hex},
             {"served_subject", r.probe->subject}};
  return {{"name", r.name},
          {"target_dir", d.target_dir},
          {"layout", d.layout},
          {"files", deployment_files_json(d.files)},
          {"fingerprint_sha256", d.certificate_fingerprint},
          {"serial", r.serial},
          {"not_after", time_or_null(r.not_after)},
          {"previous_fingerprint_sha256", optional_json(r.previous_fingerprint)},
          {"replaced_own_files", r.replaced_own},
          {"forced", r.forced},
          {"created_directories", r.created_directories},
          {"test_cmd", optional_json(d.test_cmd)},
          {"reload_cmd", optional_json(d.reload_cmd)},
          {"tested", r.tested},
          {"reloaded", r.reloaded},
          {"probe", probe},
          {"warnings", r.warnings}};
}

void render_deploy_text(const ops::DeployResult& r, std::ostream& out) {
  const auto& d = r.record;
  std::string names;
  for (const auto& f : d.files)
    names += (names.empty() ? "" : ", ") + std::filesystem::path(f.path).filename().string();
  out << "deployed \"" << r.name << "\" (serial " << r.serial << ", valid until "
      << ops::format_rfc3339(r.not_after) << ") to " << d.target_dir << " as " << d.layout
      << " files: " << names << '\n';
  for (const auto& created : r.created_directories)
    out << "  created the directory " << created << " (mode 0755)\n";
  if (r.tested) out << "  test passed: " << *d.test_cmd << '\n';
  if (r.reloaded) out << "  reloaded: " << *d.reload_cmd << '\n';
  if (r.probe)
    out << "  " << *d.probe << " serves it (sha-256 " << r.probe->fingerprint_sha256 << ")\n";
  else
    out << "  not probed (no --probe HOST:PORT): the served certificate was not checked\n";
}

}  // namespace

Action setup_deploy(CLI::App& cmd) {
  struct Options {
    std::string name;
    std::string to;
    std::optional<std::string> layout, test_cmd, reload_cmd, probe, sni;
    bool force = false;
    double probe_timeout = 10;
  };
  auto o = std::make_shared<Options>();
  cmd.add_option("NAME", o->name, "the entry to deploy (its key and current certificate)")
      ->required();
  cmd.add_option("--to", o->to,
                 "the directory the server reads its certificate and key from; created (mode "
                 "0755, with its missing parents) when it does not exist")
      ->required()
      ->type_name("DIR");
  cmd.add_option("--layout", o->layout,
                 "file layout: nginx (fullchain.pem, privkey.pem), apache (cert.pem, chain.pem, "
                 "privkey.pem), haproxy (haproxy.pem: certificate, chain and key), pem (cert.pem, "
                 "chain.pem, fullchain.pem, privkey.pem); default: the earlier deployment's, "
                 "else nginx")
      ->type_name("LAYOUT")
      ->check(CLI::IsMember({"nginx", "apache", "haproxy", "pem"}));
  cmd.add_option("--test-cmd", o->test_cmd,
                 "shell command that checks the server's configuration with the new files (e.g. "
                 "'nginx -t'); if it fails the previous files are restored")
      ->type_name("CMD");
  cmd.add_option("--reload-cmd", o->reload_cmd,
                 "shell command that makes the server read the new files (e.g. 'systemctl reload "
                 "nginx')")
      ->type_name("CMD");
  cmd.add_option("--probe", o->probe,
                 "after reloading, connect with TLS and check that the server serves the "
                 "deployed certificate")
      ->type_name("HOST:PORT");
  cmd.add_option("--sni", o->sni, "server name to send when probing (default: none)")
      ->type_name("NAME");
  cmd.add_option("--probe-timeout", o->probe_timeout,
                 "seconds to keep probing for the new certificate after a reload (default 10)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.1, 600.0));
  cmd.add_flag("--force", o->force,
               "overwrite files in DIR that keysafe did not write, or another entry's deployment");
  cmd.footer(R"(
Writes the private key (mode 0600) and the certificate files atomically, one by one, keeping
the previous files in memory. Runs the test command; if it fails, puts the previous files
back byte for byte and stops (the server, not reloaded, still serves them). Otherwise runs
the reload command, records the deployment (keysafe deployments), writes an audit row, and
probes HOST:PORT until the served certificate is the deployed one. Asks no confirmation:
writing the key where the server reads it is the purpose of this command. Files of an
earlier deployment to DIR are replaced; other files are left alone unless --force. A DIR
that does not exist is created, with its missing parents, mode 0755 (the output says so);
if the deployment then fails, the directories it created are removed again.
DIR is opened from / component by component without following a symlink another user owns,
and every write and rollback is relative to it. Refused (exit 6): a directory on the path
owned by another user than root or you, or writable by group or others without the sticky
bit (fix: chown root DIR && chmod go-w DIR).
The commands run with /bin/sh -c and see KEYSAFE_DEPLOY_DIR, KEYSAFE_DEPLOY_NAME and
KEYSAFE_DEPLOY_LAYOUT, but no secret: no KEYSAFE_*PASSPHRASE* or KEYSAFE_KEY_FILE variable,
no descriptor but stdin (/dev/null), stdout and stderr. Deploying again to DIR reuses the recorded layout, commands and
probe unless given (an empty --test-cmd '' removes one). Needs the store passphrase.
See docs/DEPLOY.md.

EXAMPLES:
  keysafe deploy www.example.com --to /etc/nginx/tls/www --test-cmd 'nginx -t' \
    --reload-cmd 'systemctl reload nginx' --probe 127.0.0.1:443 --sni www.example.com
  keysafe deploy www.example.com --to /etc/haproxy/certs/www --layout haproxy \
    --test-cmd 'haproxy -c -f /etc/haproxy/haproxy.cfg' --reload-cmd 'systemctl reload haproxy'
  keysafe deploy intranet --to /etc/apache2/tls/intranet --layout apache)");
  return [o](Context& ctx) {
    ops::DeployRequest r;
    r.name = o->name;
    r.target_dir = o->to;
    if (o->layout) r.layout = deploy::parse_layout(*o->layout);
    r.test_cmd = o->test_cmd;
    r.reload_cmd = o->reload_cmd;
    r.probe = o->probe;
    r.sni = o->sni;
    r.force = o->force;
    r.now = ctx.env.now();
    r.probe_patience = std::chrono::milliseconds(static_cast<long>(o->probe_timeout * 1000));
    if (r.probe && !r.probe->empty()) deploy::parse_endpoint(*r.probe);  // usage errors first
    auto store = ctx.open_store();
    ctx.unlock(store);
    const auto result = ops::deploy_entry(store, r);
    for (const auto& w : result.warnings) ctx.warn(w);
    if (ctx.options.json)
      ctx.out << deploy_result_json(result).dump(2, ' ', false, k_invalid_utf8) << '\n';
    else
      render_deploy_text(result, ctx.out);
    return 0;
  };
}

}  // namespace keysafe::cli
