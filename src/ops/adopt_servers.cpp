// keysafe adopt nginx|apache|haproxy: each server's configuration read by its own reader
// (src/adopt/), turned into the sources the shared core plans (plan_adopt), with the server's
// own test and reload commands for the configuration that was read.
#include <filesystem>

#include "keysafe/adopt/apache_config.hpp"
#include "keysafe/adopt/haproxy_config.hpp"
#include "keysafe/adopt/nginx_config.hpp"
#include "keysafe/ops/adopt.hpp"
#include "keysafe/shell_word.hpp"

namespace keysafe::ops {
namespace {

std::string absolute_config(const std::filesystem::path& config) {
  return std::filesystem::absolute(config).lexically_normal().string();
}

std::string block_at(const std::string& file, int line) {
  return "\"" + file + "\" line " + std::to_string(line);
}

}  // namespace

AdoptPlan plan_adopt_nginx(store::Keystore& store, const std::filesystem::path& config,
                           std::int64_t now) {
  AdoptServer server;
  server.name = "nginx";
  server.block_kind = "server block";
  server.config = absolute_config(config);
  server.test_cmd = "nginx -t -q -c " + shell_quote(server.config);
  server.reload_cmd = "nginx -s reload -c " + shell_quote(server.config);
  const auto directives = adopt::load_nginx_config(server.config);
  const auto sites =
      adopt::nginx_sites(directives, std::filesystem::path(server.config).parent_path());
  std::vector<AdoptSource> sources;
  for (const auto& site : sites) {
    AdoptSource s;
    s.server = block_at(site.file, site.line);
    s.server_names = site.server_names;
    if (!site.listens.empty()) s.listen = site.listens.front();
    s.certificate = site.certificate;
    s.key = site.key;
    s.problem = site.problem;
    const auto variable = [](const std::string& v) { return v.find('$') != std::string::npos; };
    if (s.problem.empty() && (variable(s.certificate) || variable(s.key)))
      s.problem = "a variable in the path (" + (variable(s.certificate) ? s.certificate : s.key) +
                  "): nginx picks the file per connection; import each file with keysafe import "
                  "and deploy it with keysafe deploy";
    for (const char* scheme : {"engine:", "data:", "store:"})
      if (s.problem.empty() && s.key.rfind(scheme, 0) == 0)
        s.problem = std::string("the key is not in a file (") + scheme +
                    "): a key on a token or inline cannot be imported";
    sources.push_back(std::move(s));
  }
  return plan_adopt(store, server, sources, now);
}

AdoptPlan plan_adopt_apache(store::Keystore& store, const std::filesystem::path& config,
                            std::int64_t now) {
  AdoptServer server;
  server.name = "apache";
  server.block_kind = "virtual host";
  server.config = absolute_config(config);
  // apachectl reads /etc/apache2/envvars (the APACHE_* variables Debian's configuration uses)
  // and passes -f to httpd, so the configuration that was read is the one tested and reloaded.
  server.test_cmd = "apachectl -f " + shell_quote(server.config) + " -t";
  server.reload_cmd = "apachectl -f " + shell_quote(server.config) + " -k graceful";
  const auto parsed = adopt::load_apache_config(server.config);
  std::vector<AdoptSource> sources;
  for (const auto& site : parsed.sites) {
    AdoptSource s;
    s.server = block_at(site.file, site.line);
    s.server_names = site.server_names;
    if (!site.addresses.empty()) s.listen = site.addresses.front();
    s.certificate = site.certificate;
    s.key = site.key;
    s.chain = site.chain;
    s.problem = site.problem;
    sources.push_back(std::move(s));
  }
  return plan_adopt(store, server, sources, now);
}

AdoptPlan plan_adopt_haproxy(store::Keystore& store, const std::filesystem::path& config,
                             std::int64_t now) {
  AdoptServer server;
  server.name = "haproxy";
  server.block_kind = "bind line";
  server.config = absolute_config(config);
  const auto parsed = adopt::load_haproxy_config(server.config);
  const std::string conf = shell_quote(server.config);
  server.test_cmd = "haproxy -c -q -f " + conf;
  // The reload needs the running process: through the pidfile of the global section (a
  // master process re-executes on SIGUSR2; a daemon is replaced by a new one that takes
  // over its sockets with -sf), else the system service.
  if (parsed.pidfile.empty()) {
    server.reload_cmd = "systemctl reload haproxy";
  } else {
    const std::string pid = shell_quote(parsed.pidfile);
    server.reload_cmd = parsed.master_worker ? "kill -USR2 \"$(cat " + pid + ")\""
                                             : "haproxy -D -f " + conf + " -sf $(cat " + pid + ")";
  }
  std::vector<AdoptSource> sources;
  for (const auto& site : parsed.sites) {
    AdoptSource s;
    s.server = block_at(site.file, site.line) + " (" + site.section + ", " + site.source + ")";
    for (const auto& f : site.sni_filters)
      if (!f.empty() && f[0] != '!') s.server_names.push_back(f);
    if (!site.addresses.empty()) s.listen = site.addresses.front();
    s.certificate = site.certificate;
    s.key_fallback = adopt::haproxy_key_companion(parsed, site.certificate);
    s.sni_from_certificate = true;
    s.problem = site.problem;
    sources.push_back(std::move(s));
  }
  return plan_adopt(store, server, sources, now);
}

}  // namespace keysafe::ops
