// keysafe adopt: from a server's configuration to entries and deployments of its own files.
#include "keysafe/ops/adopt.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <set>
#include <thread>

#include "keysafe/deploy/file_set.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/ossl/errors.hpp"
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
  // HAProxy's "ipv4@" / "ipv6@" prefixes; Apache's _default_; an empty host is every address.
  for (const char* family : {"ipv4@", "ipv6@"})
    if (host.rfind(family, 0) == 0) host.erase(0, 5);
  if (host.empty() || host == "*" || host == "0.0.0.0" || host == "_default_") host = "127.0.0.1";
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
                  ? in_quotes(path) + " is encrypted (the server reads it with a passphrase): import it "
                                   "with keysafe import --in-passphrase-file"
                  : e.summary() + (e.cause().empty() ? "" : ": " + e.cause());
    return std::nullopt;
  }
}

// The files one source names, read and decoded, each with its own problem.
struct SourceFiles {
  std::optional<ImportContents> cert, key, chain;
  std::string cert_problem, key_problem, chain_problem;
};

// Every source's files, decoded on every core: decoding (a private key costs about 0.4 ms in
// OpenSSL 3.0) is most of an adoption's time, and each file stands alone. A key named only
// as a fallback (FILE.key) is read later, when the certificate file turns out to hold none.
std::vector<SourceFiles> read_source_files(const std::vector<AdoptSource>& sources) {
  std::vector<SourceFiles> out(sources.size());
  std::vector<std::exception_ptr> failures(sources.size());
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i; (i = next++) < sources.size();) {
      const AdoptSource& s = sources[i];
      SourceFiles& f = out[i];
      if (!s.problem.empty()) continue;
      try {
        f.cert = read_pair_file(s.certificate, f.cert_problem);
        if (!s.key.empty() && s.key != s.certificate) f.key = read_pair_file(s.key, f.key_problem);
        if (!s.chain.empty()) f.chain = read_pair_file(s.chain, f.chain_problem);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    }
    ossl::clear_errors();  // this thread's queue
  };
  const unsigned threads = sources.size() < 16 ? 1u : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (auto& h : helpers) h.join();
  for (const auto& e : failures)
    if (e) std::rethrow_exception(e);
  return out;
}

}  // namespace

std::size_t AdoptPlan::adoptable() const {
  return static_cast<std::size_t>(
      std::count_if(pairs.begin(), pairs.end(), [](const AdoptPair& p) { return p.problem.empty(); }));
}

AdoptPlan plan_adopt(store::Keystore& store, const AdoptServer& server, const std::vector<AdoptSource>& sources,
                     std::int64_t now) {
  AdoptPlan plan;
  plan.server = server.name;
  plan.block_kind = server.block_kind;
  plan.config = server.config;
  plan.test_cmd = server.test_cmd;
  plan.reload_cmd = server.reload_cmd;

  std::map<std::string, std::size_t> key_by_spki;     // distinct keys in plan.contents
  std::set<std::string> cert_fingerprints;            // distinct certificates in plan.contents
  std::map<std::string, std::size_t> targets_taken;   // label -> uses
  std::vector<SourceFiles> files = read_source_files(sources);
  for (std::size_t index = 0; index < sources.size(); ++index) {
    const AdoptSource& source = sources[index];
    AdoptPair p;
    p.server = source.server;
    p.server_names = source.server_names;
    p.certificate_path = source.certificate;
    p.key_path = source.key;
    p.chain_path = source.chain;
    if (!source.listen.empty()) p.probe = probe_address(source.listen);
    p.sni = sni_of(source.server_names);
    p.problem = source.problem;
    SourceFiles& read = files[index];
    auto& cert_file = read.cert;
    auto& key_file = read.key;
    auto& chain_file = read.chain;
    if (p.problem.empty()) p.problem = read.cert_problem;
    if (p.problem.empty() && cert_file->certs.empty())
      p.problem = in_quotes(p.certificate_path) + " holds no certificate";
    if (p.problem.empty() && p.key_path.empty()) {
      // The key in the certificate file (Apache without SSLCertificateKeyFile, HAProxy's crt),
      // else a companion file beside it (HAProxy's FILE.key).
      std::error_code ec;
      if (!cert_file->keys.empty() || source.key_fallback.empty() ||
          !std::filesystem::exists(source.key_fallback, ec)) {
        p.key_path = p.certificate_path;
      } else {
        p.key_path = source.key_fallback;
        key_file = read_pair_file(p.key_path, read.key_problem);
      }
    }
    const bool combined = p.certificate_path == p.key_path;
    ImportContents* key_source = nullptr;  // the certificate file itself when combined
    if (p.problem.empty()) {
      if (!combined) p.problem = read.key_problem;
      key_source = combined ? &*cert_file : key_file ? &*key_file : nullptr;
    }
    if (combined && p.problem.empty() && key_source->keys.empty()) {
      p.problem = in_quotes(p.certificate_path) + " holds no private key and no key file is named for it" +
                  (source.key_fallback.empty() ? std::string() : " (nor is there " + in_quotes(source.key_fallback) + ")");
    }
    if (p.problem.empty() && key_source->keys.size() != 1)
      p.problem = in_quotes(p.key_path) + " holds " + plural(key_source->keys.size(), "private key") +
                  ", not one";
    if (p.problem.empty() && !p.chain_path.empty()) {
      p.problem = read.chain_problem;
      if (p.problem.empty() && chain_file->certs.empty())
        p.problem = in_quotes(p.chain_path) + " (the chain file) holds no certificate";
    }
    if (!p.problem.empty()) {
      plan.pairs.push_back(std::move(p));
      continue;
    }
    X509* leaf = cert_file->certs.front().cert.get();
    const auto info = x509::inspect_certificate(leaf);
    EVP_PKEY* key = key_source->keys.front().key.get();
    // The key matches when its public key is the certificate's (compared, not re-encoded:
    // encoding a public key costs as much as decoding the certificate).
    p.key_matches = EVP_PKEY_eq(X509_get0_pubkey(leaf), key) == 1;
    p.spki_sha256 = p.key_matches ? info.spki_sha256 : x509::spki_sha256_hex(x509::spki_der(key));
    p.subject = info.subject;
    p.not_after = info.not_after;
    p.fingerprint_sha256 = info.fingerprint_sha256;
    if (!p.sni && source.sni_from_certificate) {
      if (!info.dns.empty() && info.dns.front().find('*') == std::string::npos) p.sni = info.dns.front();
      else if (auto cn = x509::common_name(X509_get_subject_name(leaf))) p.sni = sni_of({*cn});
    }
    const std::string key_holds = x509::describe_key(key) + " private key";
    // The roles decide what a later deploy writes to each file: a separate chain file keeps the
    // leaf alone in the certificate file.
    p.files.push_back({p.certificate_path,
                       combined ? "combined" : (p.chain_path.empty() ? "fullchain" : "cert"),
                       describe_certificates(cert_file->certs.size()) + (combined ? " + " + key_holds : ""),
                       {}});
    if (!combined) p.files.push_back({p.key_path, "key", key_holds, {}});
    if (!p.chain_path.empty())
      p.files.push_back({p.chain_path, "chain", plural(chain_file->certs.size(), "chain certificate"), {}});
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
      if (p.sni) name = entry_name_from(*p.sni);
      if (name.empty())
        if (auto cn = x509::common_name(X509_get_subject_name(leaf))) name = entry_name_from(*cn);
      if (name.empty()) name = "adopted-" + p.spki_sha256.substr(0, 12);
      plan.contents.keys.push_back({std::move(key_source->keys.front().key), name, {}});
      p.action = "create";  // or "link", once the import has looked the key up (below)
    }
    // Distinct certificates by their DER's SHA-256 (no second decoding of the public key).
    for (auto* file : {&*cert_file, chain_file ? &*chain_file : nullptr}) {
      if (file == nullptr) continue;
      for (auto& c : file->certs)
        if (cert_fingerprints.insert(to_hex(sha256(x509::certificate_der(c.cert.get())))).second)
          plan.contents.certs.push_back({std::move(c.cert), {}, {}});
    }
    p.target = p.key_path;
    if (const auto uses = targets_taken[p.key_path]++; uses > 0)
      p.target += "#" + p.sni.value_or("") + "@" + p.probe.value_or(std::to_string(uses + 1));
    plan.pairs.push_back(std::move(p));
  }
  plan.contents.format = server.name + " configuration";
  if (!plan.contents.keys.empty()) {
    ImportOptions options;
    options.now = now;
    plan.import = plan_import(store, plan.contents, plan.config, options);
    // The import names the keys in order (items come first for keys, one each).
    for (auto& p : plan.pairs) {
      if (!p.problem.empty()) continue;
      const auto& item = plan.import.items[p.key_index];
      p.entry = item.name;
      if (p.action == "create" && item.action != "create") p.action = "link";  // stored already
    }
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
  // Every deployment in one transaction: one commit (and one audit chain extension) for the
  // whole server, not one per pair.
  std::vector<store::DeploymentRecord> rows;
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
    store.record("adopted", p.entry, "the " + plan.server + " " + plan.block_kind + " at " + p.server + " reads " + paths);
    rows.push_back(std::move(row));
  }
  store.write([&](store::Database& db) {
    for (const auto& row : rows) store::save_deployment(db, row);
  });
}

}  // namespace keysafe::ops
