// keysafe adopt: from a server's configuration to entries and deployments of its own files.
#include "keysafe/ops/adopt.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "keysafe/adopt/nginx_config.hpp"
#include "keysafe/deploy/file_set.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/shell_word.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

std::string plural(std::size_t n, const std::string& what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// The address to probe for a listen value: wildcards become loopback (keysafe runs on the
// server); a unix socket or a bare host name without a port has none.
std::optional<std::string> probe_address(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0) return std::nullopt;
  const bool all_digits = !listen.empty() && std::all_of(listen.begin(), listen.end(), ::isdigit);
  if (all_digits) return "127.0.0.1:" + listen;
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit)) return std::nullopt;
  if (host == "*" || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return host + ":" + port;
}

// The name a client sends: the first server_name that is a plain host name.
std::optional<std::string> sni_of(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (!n.empty() && n != "_" && n.find_first_of("*~$") == std::string::npos && n.front() != '.')
      return n;
  return std::nullopt;
}

// Entry names are [A-Za-z0-9._-]: "*.example.com" gives "example.com".
std::string entry_name_from(const std::string& raw) {
  std::string n;
  for (char c : raw)
    n += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-') ? c : '-';
  while (!n.empty() && (n.front() == '-' || n.front() == '.')) n.erase(n.begin());
  if (n.size() > 56) n.resize(56);
  return n;
}

std::string describe_certificates(std::size_t n) {
  if (n == 0) return "no certificate";
  return n == 1 ? "certificate" : "certificate + " + plural(n - 1, "chain certificate");
}

// A file of the pair, read; its problem named when it cannot be used.
std::optional<ImportContents> read_pair_file(const std::string& path, std::string& problem) {
  try {
    const SecureBytes data = files::read_secret_file(path);
    return read_import_file(data, path, std::nullopt);
  } catch (const Error& e) {
    problem = e.code() == Errc::FilePassword
                  ? in_quotes(path) + " is encrypted (nginx reads it with ssl_password_file): import it "
                                   "with keysafe import --in-passphrase-file"
                  : e.summary() + (e.cause().empty() ? "" : ": " + e.cause());
    return std::nullopt;
  }
}

}  // namespace

std::size_t AdoptPlan::adoptable() const {
  return static_cast<std::size_t>(
      std::count_if(pairs.begin(), pairs.end(), [](const AdoptPair& p) { return p.problem.empty(); }));
}

AdoptPlan plan_adopt_nginx(store::Keystore& store, const std::filesystem::path& config, std::int64_t now) {
  AdoptPlan plan;
  plan.server = "nginx";
  plan.config = std::filesystem::absolute(config).lexically_normal().string();
  plan.test_cmd = "nginx -t -q -c " + shell_quote(plan.config);
  plan.reload_cmd = "nginx -s reload -c " + shell_quote(plan.config);
  const auto directives = adopt::load_nginx_config(plan.config);
  const auto sites = adopt::nginx_sites(directives, std::filesystem::path(plan.config).parent_path());

  std::map<std::string, std::size_t> key_by_spki;     // distinct keys in plan.contents
  std::set<std::string> cert_fingerprints;            // distinct certificates in plan.contents
  std::map<std::string, std::size_t> targets_taken;   // label -> uses
  for (const auto& site : sites) {
    AdoptPair p;
    p.server = in_quotes(site.file) + " line " + std::to_string(site.line);
    p.server_names = site.server_names;
    p.certificate_path = site.certificate;
    p.key_path = site.key;
    if (!site.listens.empty()) p.probe = probe_address(site.listens.front());
    p.sni = sni_of(site.server_names);
    p.problem = site.problem;
    const auto variable = [](const std::string& s) { return s.find('$') != std::string::npos; };
    if (p.problem.empty() && (variable(p.certificate_path) || variable(p.key_path)))
      p.problem = "a variable in the path (" + (variable(p.certificate_path) ? p.certificate_path : p.key_path) +
                  "): nginx picks the file per connection; import each file with keysafe import "
                  "and deploy it with keysafe deploy";
    for (const char* scheme : {"engine:", "data:", "store:"})
      if (p.problem.empty() && p.key_path.rfind(scheme, 0) == 0)
        p.problem = std::string("the key is not in a file (") + scheme +
                    "): a key on a token or inline cannot be imported";
    std::optional<ImportContents> cert_file, key_file;
    if (p.problem.empty()) cert_file = read_pair_file(p.certificate_path, p.problem);
    if (p.problem.empty()) key_file = read_pair_file(p.key_path, p.problem);
    if (p.problem.empty() && cert_file->certs.empty())
      p.problem = in_quotes(p.certificate_path) + " holds no certificate";
    if (p.problem.empty() && key_file->keys.size() != 1)
      p.problem = in_quotes(p.key_path) + " holds " + plural(key_file->keys.size(), "private key") +
                  ", not one";
    if (!p.problem.empty()) {
      plan.pairs.push_back(std::move(p));
      continue;
    }
    X509* leaf = cert_file->certs.front().cert.get();
    const auto info = x509::inspect_certificate(leaf);
    EVP_PKEY* key = key_file->keys.front().key.get();
    p.spki_sha256 = x509::spki_sha256_hex(x509::spki_der(key));
    p.subject = info.subject;
    p.not_after = info.not_after;
    p.fingerprint_sha256 = info.fingerprint_sha256;
    p.key_matches = p.spki_sha256 == info.spki_sha256;
    const bool combined = p.certificate_path == p.key_path;
    p.files.push_back({p.certificate_path, combined ? "combined" : "fullchain",
                       describe_certificates(cert_file->certs.size()) +
                           (combined ? " + " + x509::describe_key(key) + " private key" : ""),
                       {}});
    if (!combined) p.files.push_back({p.key_path, "key", x509::describe_key(key) + " private key", {}});
    try {
      // certbot's live/NAME links into archive/NAME are replaced by regular files when
      // deployed (deploy::read_certbot_link); any other symbolic link is refused.
      for (auto& f : p.files) {
        const std::filesystem::path path(f.path);
        const auto dir = files::TrustedDirectory::resolve(path.parent_path());
        if (auto h = deploy::served_file_sha256(dir, path.filename().string())) f.sha256 = *h;
      }
    } catch (const Error& e) {
      // Any other symbolic link is never written through.
      p.problem = e.summary() + (e.cause().empty() ? "" : ": " + e.cause());
      plan.pairs.push_back(std::move(p));
      continue;
    }
    if (auto weak = formats::weak_key_reason(key)) {
      p.problem = "the key in " + in_quotes(p.key_path) + " is weak (" + *weak + "): replace it";
      plan.pairs.push_back(std::move(p));
      continue;
    }
    if (!p.key_matches) {
      p.problem = "the key in " + in_quotes(p.key_path) + " does not match the certificate in " +
                  in_quotes(p.certificate_path) + " (public key SHA-256 " + p.spki_sha256.substr(0, 16) +
                  "... against " + info.spki_sha256.substr(0, 16) + "...)";
      plan.pairs.push_back(std::move(p));
      continue;
    }
    // The entry: one per key, whatever the number of blocks that use it.
    if (auto known = key_by_spki.find(p.spki_sha256); known != key_by_spki.end()) {
      p.action = "shared";
      p.key_index = known->second;
    } else {
      p.key_index = plan.contents.keys.size();
      key_by_spki.emplace(p.spki_sha256, p.key_index);
      std::string name;
      if (auto n = sni_of(site.server_names)) name = entry_name_from(*n);
      if (name.empty())
        if (auto cn = x509::common_name(X509_get_subject_name(leaf))) name = entry_name_from(*cn);
      if (name.empty()) name = "adopted-" + p.spki_sha256.substr(0, 12);
      plan.contents.keys.push_back({std::move(key_file->keys.front().key), name, {}});
      p.action = store.key_by_spki(p.spki_sha256) ? "link" : "create";
    }
    for (auto& c : cert_file->certs)
      if (cert_fingerprints.insert(x509::inspect_certificate(c.cert.get()).fingerprint_sha256).second)
        plan.contents.certs.push_back({std::move(c.cert), {}, {}});
    p.target = p.key_path;
    if (const auto uses = targets_taken[p.key_path]++; uses > 0)
      p.target += "#" + p.sni.value_or("") + "@" + p.probe.value_or(std::to_string(uses + 1));
    plan.pairs.push_back(std::move(p));
  }
  plan.contents.format = "nginx configuration";
  if (!plan.contents.keys.empty()) {
    ImportOptions options;
    options.now = now;
    plan.import = plan_import(store, plan.contents, plan.config, options);
    // The import names the keys in order (items come first for keys, one each).
    for (auto& p : plan.pairs)
      if (p.problem.empty()) p.entry = plan.import.items[p.key_index].name;
  }
  return plan;
}

void apply_adopt(store::Keystore& store, AdoptPlan& plan, std::int64_t now) {
  if (plan.import.entries.empty()) return;
  for (const auto& item : plan.import.items)
    if (item.action != "unchanged")
      store.record("imported", item.name, item.action + " from " + plan.config + " (keysafe adopt " +
                                              plan.server + "): " + item.detail);
  store.merge_entries(plan.import.entries, {});
  rename_paired_keys(store, plan.import);
  for (auto& p : plan.pairs) {
    if (!p.problem.empty()) continue;
    const auto key = store.key_by_name(p.entry);
    if (!key) continue;
    store::DeploymentRecord row;
    row.key_id = key->id;
    row.entry = p.entry;
    row.target_dir = p.target;
    row.layout = store::k_files_layout;
    for (const auto& f : p.files) row.files.push_back({f.path, f.sha256, f.role});
    row.test_cmd = plan.test_cmd;
    row.reload_cmd = plan.reload_cmd;
    row.probe = p.probe;
    if (p.probe) row.sni = p.sni;
    row.certificate_fingerprint = p.fingerprint_sha256;
    row.deployed_at = now;
    std::string paths;
    for (const auto& f : p.files) paths += (paths.empty() ? "" : ", ") + f.path + " (" + f.role + ")";
    store.record("adopted", p.entry, "the " + plan.server + " server block at " + p.server + " reads " + paths);
    store.write([&](store::Database& db) { store::save_deployment(db, row); });
  }
}

}  // namespace keysafe::ops
