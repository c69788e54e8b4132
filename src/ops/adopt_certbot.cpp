// keysafe adopt certbot: certbot's lineages, their renewal configuration and ACME accounts,
// read from a directory treated as hostile (every directory resolved with
// files::TrustedDirectory, every file read with O_NOFOLLOW, only certbot's own live/ -> archive/
// links followed, nothing that leaves the configuration directory), then imported.
#include "keysafe/ops/adopt_certbot.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "keysafe/acme/jws.hpp"
#include "keysafe/adopt/certbot.hpp"
#include "keysafe/deploy/file_set.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/names.hpp"
#include "keysafe/ops/acme.hpp"
#include "keysafe/store/acme.hpp"
#include "keysafe/store/deployments.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }
std::string describe(const Error& e) { return e.summary() + (e.cause().empty() ? "" : ": " + e.cause()); }

// The live files of a lineage and the role each has in keysafe's layout "files".
constexpr std::pair<const char*, const char*> k_live_files[] = {
    {"cert.pem", "cert"}, {"chain.pem", "chain"}, {"fullchain.pem", "fullchain"}, {"privkey.pem", "key"}};
constexpr std::size_t k_max_lineages = 10000;
constexpr std::size_t k_max_json = 64 * 1024;

// A directory under the configuration directory, resolved (links owned by root or us only)
// and required to stay inside it.
files::TrustedDirectory inside(const std::filesystem::path& config, const std::filesystem::path& dir) {
  auto d = files::TrustedDirectory::resolve(dir);
  const std::string base = config.string() + "/";
  if (d.path() != config && d.path().string().rfind(base, 0) != 0)
    throw Error(Errc::Refused, "refusing " + in_quotes(dir.string()),
                "it leads out of the certbot configuration directory (to " + in_quotes(d.path().string()) + ")",
                "keysafe reads only what is inside " + config.string());
  return d;
}

std::string text_of(const SecureBytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// A regular file in `dir`, never through a link; Errc::NotFound when absent.
files::RegularFile read_in(const files::TrustedDirectory& dir, const std::string& name) {
  if (!dir.exists())
    throw Error(Errc::NotFound, "cannot read " + in_quotes((dir.path() / name).string()),
                "its directory does not exist");
  auto f = files::read_regular_at(dir.fd(), dir.path(), name);
  if (!f) throw Error(Errc::NotFound, "cannot read " + in_quotes((dir.path() / name).string()), "it does not exist");
  return std::move(*f);
}

nlohmann::json read_json(const files::TrustedDirectory& dir, const std::string& name) {
  const auto f = read_in(dir, name);
  if (f.content.size() > k_max_json)
    throw Error(Errc::BadInput, in_quotes((dir.path() / name).string()) + " is larger than 64 KiB");
  auto j = nlohmann::json::parse(text_of(f.content), nullptr, false);
  if (!j.is_object())
    throw Error(Errc::BadInput, in_quotes((dir.path() / name).string()) + " is not a JSON object",
                "certbot writes its account files as JSON objects", "check the account directory");
  return j;
}

std::vector<std::string> lineage_names(const std::filesystem::path& config) {
  const auto live = inside(config, config / "live");
  std::vector<std::string> names;
  if (!live.exists()) return names;
  const int fd = ::openat(live.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(Errc::Io, "cannot list " + in_quotes(live.path().string()), std::strerror(errno));
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    throw Error(Errc::Io, "cannot list " + in_quotes(live.path().string()), std::strerror(errno));
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n == "." || n == ".." || n == "README") continue;
    if (names.size() >= k_max_lineages) break;
    names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// The challenge keysafe answers for the lineage's authenticator, or a note why it does not.
void choose_challenge(CertbotLineage& l, const adopt::CertbotRenewalConf& conf) {
  const auto param = [&](const char* k) {
    const auto it = conf.params.find(k);
    return it == conf.params.end() ? std::string() : it->second;
  };
  if (l.authenticator == "webroot") {
    std::set<std::string> roots;
    for (const auto& d : l.dns)
      if (auto it = conf.webroot_map.find(d); it != conf.webroot_map.end()) roots.insert(it->second);
    if (roots.empty())
      for (const auto& w : adopt::certbot_list(param("webroot_path"))) roots.insert(w);
    std::size_t mapped = 0;
    for (const auto& d : l.dns) mapped += conf.webroot_map.count(d);
    if (roots.size() == 1 && (mapped == l.dns.size() || conf.webroot_map.empty())) {
      l.challenge = "http-01-webroot";
      l.challenge_param = *roots.begin();
    } else {
      l.notes.push_back(roots.empty() ? "the webroot authenticator names no webroot directory"
                                      : "the names use " + std::to_string(roots.size()) +
                                            " webroot directories; keysafe answers HTTP-01 for an "
                                            "entry from one");
    }
  } else if (l.authenticator == "standalone") {
    std::string port = param("http01_port");
    if (port.empty()) port = "80";
    std::string address = param("http01_address");
    if (address.empty()) address = "0.0.0.0";  // certbot's standalone listens on every address
    if (address.find(':') != std::string::npos && address.front() != '[') address = "[" + address + "]";
    if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit) || port.size() > 5) {
      l.notes.push_back("the standalone port \"" + port + "\" is not a port number");
    } else {
      l.challenge = "http-01-listen";
      l.challenge_param = address + ":" + port;
      l.notes.push_back("standalone: keysafe renew listens on " + l.challenge_param +
                        " for HTTP-01 (--http-listen " + l.challenge_param + ")");
    }
  } else {
    l.notes.push_back("the authenticator \"" + (l.authenticator.empty() ? "(none)" : l.authenticator) +
                      "\" has no keysafe equivalent: adopted without renewal settings, certbot keeps "
                      "renewing it (renew it with keysafe acme issue ... --webroot, --http-listen or "
                      "--dns-hook under a new name)");
  }
  l.takes_over_renewal = !l.challenge.empty();
}

// The lineage's account: accounts/HOST/PATH/ID with its key (a JWK) and URL (regr.json).
struct AccountFiles {
  std::string dir;
  std::string url;
  ossl::PKey key;
};

AccountFiles read_account(const std::filesystem::path& config, const std::string& server, const std::string& id) {
  if (!is_simple_name(id, 64))
    throw Error(Errc::BadInput, "the renewal configuration names the account " + in_quotes(id),
                "certbot's account ids are hexadecimal", "check the account = line");
  const auto dir = inside(config, config / "accounts" / adopt::certbot_account_subdir(server) / id);
  AccountFiles a;
  a.dir = dir.path().string();
  const auto regr = read_json(dir, "regr.json");
  if (const auto uri = regr.find("uri"); uri != regr.end() && uri->is_string()) a.url = uri->get<std::string>();
  if (a.url.rfind("https://", 0) != 0)
    throw Error(Errc::BadInput, in_quotes(a.dir + "/regr.json") + " records no https account URL",
                "certbot keeps the account URL as \"uri\"", "check the account with certbot show_account");
  auto jwk = read_json(dir, "private_key.json");
  a.key = adopt::private_key_from_jwk(jwk);
  for (auto& [k, v] : jwk.items())
    if (v.is_string()) {
      auto& str = v.get_ref<std::string&>();
      OPENSSL_cleanse(str.data(), str.size());
    }
  return a;
}

}  // namespace

std::size_t CertbotPlan::adoptable() const {
  return static_cast<std::size_t>(
      std::count_if(lineages.begin(), lineages.end(), [](const CertbotLineage& l) { return l.problem.empty(); }));
}

CertbotPlan plan_adopt_certbot(store::Keystore& store, const std::filesystem::path& config_dir,
                               const CertbotOptions& options) {
  CertbotPlan plan;
  const auto root = files::TrustedDirectory::resolve(std::filesystem::absolute(config_dir).lexically_normal());
  if (!root.exists())
    throw Error(Errc::NotFound, "no certbot configuration directory " + in_quotes(config_dir.string()),
                "it does not exist", "give certbot's --config-dir (default /etc/letsencrypt)");
  const std::filesystem::path config = root.path();
  plan.config_dir = config.string();
  if (options.directory_ca_file) {
    plan.directory_ca_pem = read_directory_ca_pem(*options.directory_ca_file);
    plan.directory_ca_file = options.directory_ca_file->string();
  }
  // Files other deployments record already (keysafe adopt nginx of a server that reads the
  // lineage's files): those deployments write them, so the lineage's does not again.
  std::map<std::string, std::string> deployed;  // path -> the deployment's label
  for (const auto& d : store::deployments(store.database()))
    for (const auto& f : d.files) deployed.emplace(f.path, d.target_dir);

  std::map<std::string, std::size_t> key_by_spki;
  std::set<std::string> cert_fingerprints;
  for (const auto& name : lineage_names(config)) {
    CertbotLineage l;
    l.name = name;
    try {
      if (!is_simple_name(name, 56))
        throw Error(Errc::BadInput, "the lineage name " + in_quotes(name) + " is not an entry name",
                    "entry names have letters, digits, '.', '_' or '-'", "import its files with keysafe import");
      const auto live = inside(config, config / "live" / name);
      // Each live file: certbot's link into archive/NAME (that directory must stay inside the
      // configuration directory too), or a regular file keysafe wrote since.
      std::map<std::string, SecureBytes> content;
      for (const auto& [file, role] : k_live_files) {
        std::string link;
        auto f = deploy::read_certbot_link(live, file, link);
        if (f) {
          inside(config, (live.path() / link).lexically_normal().parent_path());
        } else {
          f = read_in(live, file);
        }
        AdoptFile af;
        af.path = (live.path() / file).string();
        af.role = role;
        af.sha256 = to_hex(sha256(f->content));
        af.holds = link.empty() ? "a regular file" : "certbot's link to " + link;
        content[file] = std::move(f->content);
        l.files.push_back(std::move(af));
      }
      auto chain = read_import_file(content["fullchain.pem"], l.files[2].path, std::nullopt);
      auto keyf = read_import_file(content["privkey.pem"], l.files[3].path, std::nullopt);
      if (chain.certs.empty()) throw Error(Errc::BadInput, in_quotes(l.files[2].path) + " holds no certificate");
      if (keyf.keys.size() != 1) throw Error(Errc::BadInput, in_quotes(l.files[3].path) + " holds no single private key");
      X509* leaf = chain.certs.front().cert.get();
      const auto info = x509::inspect_certificate(leaf);
      EVP_PKEY* key = keyf.keys.front().key.get();
      l.spki_sha256 = x509::spki_sha256_hex(x509::spki_der(key));
      l.subject = info.subject;
      l.not_after = info.not_after;
      l.fingerprint_sha256 = info.fingerprint_sha256;
      l.dns = info.dns;
      if (l.spki_sha256 != info.spki_sha256)
        throw Error(Errc::BadInput, "the key in " + in_quotes(l.files[3].path) + " does not match the certificate");
      if (auto weak = formats::weak_key_reason(key)) throw Error(Errc::Refused, "the key is weak (" + *weak + ")");

      // renewal/NAME.conf: how certbot renews it.
      const auto renewal = inside(config, config / "renewal");
      const std::string conf_name = name + ".conf";
      std::optional<files::RegularFile> conf_file;
      if (renewal.exists()) conf_file = files::read_regular_at(renewal.fd(), renewal.path(), conf_name);
      if (!conf_file) {
        l.notes.push_back(renewal.exists() &&
                                  files::read_regular_at(renewal.fd(), renewal.path(),
                                                         conf_name + std::string(k_certbot_adopted_suffix))
                              ? "renewal/" + conf_name + std::string(k_certbot_adopted_suffix) +
                                    " exists: keysafe renews it already"
                              : "no renewal/" + conf_name + ": adopted without renewal settings");
      } else {
        l.renewal_conf = (renewal.path() / conf_name).string();
        const auto conf = adopt::parse_certbot_renewal(text_of(conf_file->content), l.renewal_conf);
        const auto param = [&](const char* k) {
          const auto it = conf.params.find(k);
          return it == conf.params.end() ? std::string() : it->second;
        };
        for (const auto& [file, role] : k_live_files) {
          const std::string stem = std::string(file).substr(0, std::string(file).size() - 4);
          const auto it = conf.top.find(stem == "privkey" ? "privkey" : stem);
          if (it != conf.top.end() && std::filesystem::path(it->second).filename() != file)
            throw Error(Errc::BadInput, l.renewal_conf + " names " + it->second + " as " + stem,
                        "keysafe adopts the lineage's live/" + name + " files only",
                        "import those files with keysafe import");
        }
        l.authenticator = param("authenticator");
        l.server = param("server");
        l.key_type = param("key_type");
        l.certbot_account = param("account");
        if (l.server.empty()) l.server = "https://acme-v02.api.letsencrypt.org/directory";  // certbot's default
        choose_challenge(l, conf);
        if (l.takes_over_renewal) {
          if (l.certbot_account.empty())
            throw Error(Errc::BadInput, l.renewal_conf + " names no account", "certbot writes account = ID",
                        "check the file");
          const auto account = read_account(config, l.server, l.certbot_account);
          l.account_dir = account.dir;
          l.account_url = account.url;
          l.account = "certbot-" + l.certbot_account;
          if (l.account.size() > 64) l.account.resize(64);
          const auto thumbprint = acme::jwk_thumbprint(acme::public_jwk(account.key.get()));
          if (const auto known = store::acme_account_by_name(store.database(), l.account)) {
            if (known->jwk_thumbprint != thumbprint || known->directory_url != l.server)
              throw Error(Errc::AlreadyExists, "the ACME account " + in_quotes(l.account) +
                                                   " in the store is another account",
                          "it has another key or directory", "rename or remove it, then adopt again");
            l.account_action = "existing";
          } else {
            l.account_action = "import";
          }
        }
      }
    } catch (const Error& e) {
      l.problem = describe(e);
    }
    if (!l.problem.empty()) {
      plan.lineages.push_back(std::move(l));
      continue;
    }
    plan.lineages.push_back(std::move(l));
  }

  // Import contents, from the files read again (the plan keeps no secret per lineage).
  for (auto& l : plan.lineages) {
    if (!l.problem.empty()) continue;
    try {
      const auto live = inside(config, config / "live" / l.name);
      std::string link;
      auto keyf = deploy::read_certbot_link(live, "privkey.pem", link);
      if (!keyf) keyf = read_in(live, "privkey.pem");
      auto fullf = deploy::read_certbot_link(live, "fullchain.pem", link);
      if (!fullf) fullf = read_in(live, "fullchain.pem");
      auto keyc = read_import_file(keyf->content, l.files[3].path, std::nullopt);
      auto certs = read_import_file(fullf->content, l.files[2].path, std::nullopt);
      if (keyc.keys.size() != 1 || x509::spki_sha256_hex(x509::spki_der(keyc.keys.front().key.get())) != l.spki_sha256)
        throw Error(Errc::Refused, "the lineage's files changed while they were read");
      if (auto known = key_by_spki.find(l.spki_sha256); known != key_by_spki.end()) {
        l.key_index = known->second;
        l.action = "shared";
      } else {
        l.key_index = plan.contents.keys.size();
        key_by_spki.emplace(l.spki_sha256, l.key_index);
        plan.contents.keys.push_back({std::move(keyc.keys.front().key), l.name, {}});
        l.action = store.key_by_spki(l.spki_sha256) ? "link" : "create";
      }
      for (auto& c : certs.certs)
        if (cert_fingerprints.insert(x509::inspect_certificate(c.cert.get()).fingerprint_sha256).second)
          plan.contents.certs.push_back({std::move(c.cert), {}, {}});
    } catch (const Error& e) {
      l.problem = describe(e);
      continue;
    }
    // The deployment: the live files no other deployment writes.
    std::vector<std::string> elsewhere;
    for (auto it = l.files.begin(); it != l.files.end();) {
      if (auto d = deployed.find(it->path); d != deployed.end()) {
        elsewhere.push_back(it->path + " (deployment " + d->second + ")");
        it = l.files.erase(it);
      } else {
        ++it;
      }
    }
    if (!elsewhere.empty()) {
      std::string list;
      for (const auto& e : elsewhere) list += (list.empty() ? "" : ", ") + e;
      l.notes.push_back("recorded by another deployment already, not again: " + list);
    }
    if (!l.files.empty()) l.target = config.string() + "/live/" + l.name;
  }
  plan.contents.format = "certbot lineage";
  if (!plan.contents.keys.empty()) {
    ImportOptions o;
    o.now = options.now;
    plan.import = plan_import(store, plan.contents, plan.config_dir, o);
    for (auto& l : plan.lineages)
      if (l.problem.empty()) l.entry = plan.import.items[l.key_index].name;
  }
  return plan;
}

void apply_adopt_certbot(store::Keystore& store, CertbotPlan& plan, std::int64_t now) {
  // The accounts first: a lineage whose account the CA does not confirm is not adopted.
  std::map<std::string, std::string> account_problem;  // keysafe account name -> problem
  std::set<std::string> imported;
  for (auto& l : plan.lineages) {
    if (!l.problem.empty() || l.account_action != "import" || imported.count(l.account) ||
        account_problem.count(l.account))
      continue;
    try {
      const auto account = read_account(plan.config_dir, l.server, l.certbot_account);
      ExistingAcmeAccount e;
      e.name = l.account;
      e.directory = l.server;
      e.account_url = account.url;
      e.key = account.key.get();
      e.directory_ca_pem = plan.directory_ca_pem;
      e.origin = "certbot's " + account.dir;
      e.now = now;
      import_acme_account(store, e);
      imported.insert(l.account);
    } catch (const Error& e) {
      account_problem[l.account] = "the ACME account " + l.account_dir + " could not be taken over: " + describe(e);
    }
  }
  for (auto& l : plan.lineages)
    if (l.problem.empty() && account_problem.count(l.account)) l.problem = account_problem[l.account];

  // Keys and certificates, as keysafe import (only keys of lineages still adoptable).
  std::set<std::size_t> wanted;
  for (const auto& l : plan.lineages)
    if (l.problem.empty()) wanted.insert(l.key_index);
  std::vector<store::IncomingEntry> entries;
  for (std::size_t i = 0; i < plan.import.entries.size(); ++i)
    if (i >= plan.contents.keys.size() || wanted.count(i)) entries.push_back(plan.import.entries[i]);
  for (std::size_t i = 0; i < plan.import.items.size(); ++i)
    if (plan.import.items[i].action != "unchanged" && (i >= plan.contents.keys.size() || wanted.count(i)))
      store.record("imported", plan.import.items[i].name,
                   plan.import.items[i].action + " from " + plan.config_dir +
                       " (keysafe adopt certbot): " + plan.import.items[i].detail);
  if (!entries.empty()) store.merge_entries(entries, {});
  rename_paired_keys(store, plan.import);

  const auto renewal = files::TrustedDirectory::resolve(std::filesystem::path(plan.config_dir) / "renewal");
  for (auto& l : plan.lineages) {
    if (!l.problem.empty()) continue;
    const auto key = store.key_by_name(l.entry);
    if (!key) {
      l.problem = "the entry " + in_quotes(l.entry) + " was not stored";
      continue;
    }
    std::optional<store::AcmeAccountRecord> account;
    if (l.takes_over_renewal) account = store::acme_account_by_name(store.database(), l.account);
    store.write([&](store::Database& db) {
      if (!l.target.empty()) {
        store::DeploymentRecord row;
        row.key_id = key->id;
        row.entry = l.entry;
        row.target_dir = l.target;
        row.layout = store::k_files_layout;
        for (const auto& f : l.files) row.files.push_back({f.path, f.sha256, f.role});
        row.certificate_fingerprint = l.fingerprint_sha256;
        row.deployed_at = now;
        store::save_deployment(db, row);
      }
      if (account) {
        store::AcmeEntryRecord settings;
        settings.key_id = key->id;
        settings.account_id = account->id;
        settings.directory_url = account->directory_url;
        settings.challenge = l.challenge;
        settings.challenge_param = l.challenge_param;
        settings.updated_at = now;
        store::put_acme_entry(db, settings);
      }
    });
    std::string paths;
    for (const auto& f : l.files) paths += (paths.empty() ? "" : ", ") + f.path + " (" + f.role + ")";
    store.record("adopted", l.entry,
                 "certbot lineage " + l.name + " in " + plan.config_dir +
                     (paths.empty() ? std::string() : "; deployment of " + paths) +
                     (account ? "; renewed by ACME with the account " + l.account + " (" + l.challenge + " " +
                                    l.challenge_param + ")"
                              : std::string("; renewal stays with certbot")));
    if (!l.takes_over_renewal || l.renewal_conf.empty()) continue;
    // certbot stops renewing it: renewal/NAME.conf is renamed (never over an existing file).
    const std::string from = l.name + ".conf";
    const std::string to = from + std::string(k_certbot_adopted_suffix);
    if (::renameat2(renewal.fd(), from.c_str(), renewal.fd(), to.c_str(), RENAME_NOREPLACE) != 0 ||
        ::fsync(renewal.fd()) != 0) {
      const std::string why = std::strerror(errno);
      l.notes.push_back("could not rename " + l.renewal_conf + " to " + to + " (" + why +
                        "): certbot still renews it too; rename it by hand");
      store.record("adopted", l.entry, "renaming " + l.renewal_conf + " failed: " + why);
    } else {
      store.record("adopted", l.entry,
                   "renewal/" + from + " renamed to " + to + ": certbot no longer renews the lineage");
    }
  }
  store.flush_audit();
}

CertbotRelease release_certbot_lineage(store::Keystore& store, const std::filesystem::path& config_dir,
                                       const std::string& name, std::int64_t now) {
  if (!is_simple_name(name, 56))
    throw Error(Errc::Usage, in_quotes(name) + " is not a lineage name", "lineages are live/NAME",
                "give the name keysafe adopt certbot adopted");
  const auto root = files::TrustedDirectory::resolve(std::filesystem::absolute(config_dir).lexically_normal());
  const auto renewal = inside(root.path(), root.path() / "renewal");
  const std::string from = name + ".conf" + std::string(k_certbot_adopted_suffix);
  const std::string to = name + ".conf";
  if (!renewal.exists() || !files::read_regular_at(renewal.fd(), renewal.path(), from))
    throw Error(Errc::NotFound, "no " + in_quotes((renewal.path() / from).string()),
                "keysafe adopt certbot renames renewal/NAME.conf so when it takes over a lineage",
                "check the name and --config-dir");
  CertbotRelease r;
  r.name = name;
  r.restored = (renewal.path() / to).string();
  // The entry's ACME settings go first: from then on only certbot renews it.
  const std::string lineage_dir = root.path().string() + "/live/" + name;
  std::optional<store::KeyRecord> key;
  for (const auto& d : store::deployments(store.database()))
    if (d.target_dir == lineage_dir) key = store.key_by_id(d.key_id);
  if (!key) key = store.key_by_name(name);
  if (key) {
    r.entry = key->name;
    if (const auto settings = store::acme_entry(store.database(), key->id))
      r.kept.push_back("the ACME account " + in_quotes(settings->account) +
                       " (keysafe acme account list; the same account as certbot's)");
    store.write([&](store::Database& db) { store::remove_acme_entry(db, key->id); });
    r.kept.push_back("the entry " + in_quotes(key->name) + " with its key, certificates and deployments "
                     "(keysafe renew no longer orders it; certbot renews it)");
  }
  if (::renameat2(renewal.fd(), from.c_str(), renewal.fd(), to.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    throw Error(Errc::Io, "cannot rename " + in_quotes((renewal.path() / from).string()) + " back",
                std::strerror(err),
                err == EEXIST ? "renewal/" + to + " exists: compare the two and keep one" : "check the directory");
  }
  ::fsync(renewal.fd());
  store.record("adopt-released", r.entry,
               "certbot lineage " + name + " in " + root.path().string() + ": renewal/" + from +
                   " renamed back to " + to + "; the entry's ACME settings removed, entry, account and "
                   "deployments kept");
  store.flush_audit();
  (void)now;
  return r;
}

}  // namespace keysafe::ops
