// deploy: files in the server's layout, test, reload (or roll back), record, probe; and the
// views of what is deployed where (deployments, status).
#include "keysafe/ops/deploy.hpp"

#include <openssl/pem.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "keysafe/deploy/command.hpp"
#include "keysafe/deploy/file_set.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "deploy_steps.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string short_fp(const std::string& fp) { return fp.substr(0, 16) + "..."; }

// The PKCS#8 key as unencrypted PEM ("PRIVATE KEY"), through OpenSSL's secure-heap BIO.
SecureBytes private_key_pem(const SecureBytes& pkcs8) {
  ossl::Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio) ossl::fail(Errc::Crypto, "cannot encode the private key as PEM");
  if (PEM_write_bio(bio.get(), "PRIVATE KEY", "", pkcs8.data(), static_cast<long>(pkcs8.size())) <= 0)
    ossl::fail(Errc::Crypto, "cannot encode the private key as PEM");
  const char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return SecureBytes(data, data + len);
}

struct Target {
  store::EntryRecord entry;
  store::CertificateRecord certificate;
};

Target target_entry(store::Keystore& store, std::string_view name) {
  auto entry = store.entry(name);
  if (!entry)
    throw Error(Errc::NotFound, "there is no entry \"" + std::string(name) + "\" in the store",
                "", "see the entries with: keysafe list");
  if (!entry->key.has_private_key)
    throw Error(Errc::Usage, "\"" + std::string(name) + "\" has no private key to deploy",
                "the entry holds a certificate only",
                "import its key first: keysafe import KEY-FILE");
  if (!entry->current)
    throw Error(Errc::Usage, "\"" + std::string(name) + "\" has no certificate yet",
                "its request is pending: a server needs the certificate with the key",
                "install the certificate the CA returns: keysafe install CERTIFICATE-FILE");
  const store::CertificateRecord current = *entry->current;
  return {std::move(*entry), current};
}

deploy::Material material_of(store::Keystore& store, const Target& t) {
  return detail::deploy_material(store.open_private_key(t.entry.key),
                                 store.certificate_der(t.certificate.id),
                                 store.chain_of(t.certificate.id));
}

}  // namespace

namespace detail {

deploy::Material deploy_material(const SecureBytes& pkcs8, std::span<const std::uint8_t> leaf_der,
                                 const std::vector<Bytes>& chain_der) {
  deploy::Material m;
  m.key_pem = private_key_pem(pkcs8);
  const auto leaf = x509::certificate_from_der(leaf_der);
  m.leaf_pem = x509::certificate_pem(leaf.get());
  // The chain a server sends: the intermediates, not the self-signed root (RFC 8446 §4.4.2
  // allows omitting it, and clients must have it already).
  for (const auto& der : chain_der) {
    const auto c = x509::certificate_from_der(der);
    const bool self_signed = X509_check_issued(c.get(), c.get()) == X509_V_OK;
    ossl::clear_errors();
    if (!self_signed) m.chain_pem.push_back(x509::certificate_pem(c.get()));
  }
  return m;
}

files::TrustedDirectory target_directory(const std::filesystem::path& dir) {
  try {
    return files::TrustedDirectory::resolve(dir);
  } catch (const Error& e) {
    const bool refused = e.code() == Errc::Refused;
    throw Error(e.code(),
                (refused ? "refusing to deploy to " : "cannot deploy to ") + quoted(dir.string()),
                // A refusal's cause names the directory or link; other errors' summaries do.
                refused ? e.cause() : e.summary() + (e.cause().empty() ? "" : ": " + e.cause()),
                e.remedy());
  }
}

std::string remove_created(files::TrustedDirectory& dir) {
  std::string left;
  for (const auto& l : dir.remove_created()) left += "\ncould not remove the created directory " + l;
  return left;
}

std::string command_failure_cause(const std::string& which, const std::string& cmd,
                                  const deploy::CommandOutcome& o) {
  std::string cause = "the " + which + " command `" + cmd + "` failed (" + o.describe() + ")";
  std::string output = o.output;
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  cause += output.empty() ? "; it printed nothing" : "; its output:\n" + output;
  return cause;
}

}  // namespace detail

namespace {

std::optional<std::string> non_empty(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  return s;
}

}  // namespace

namespace detail {

std::optional<std::string> leaf_fingerprint_on_disk(const std::filesystem::path& path,
                                                    std::string& problem) {
  Bytes data;
  try {
    data = files::read_input_file(path);
  } catch (const Error& e) {
    problem = e.summary() + (e.cause().empty() ? "" : ": " + e.cause());
    return std::nullopt;
  }
  ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  ossl::Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  ossl::clear_errors();
  if (!cert) {
    problem = quoted(path.string()) + " holds no PEM certificate";
    return std::nullopt;
  }
  return x509::inspect_certificate(cert.get()).fingerprint_sha256;
}

}  // namespace detail

using detail::command_failure_cause;
using detail::leaf_fingerprint_on_disk;
using detail::remove_created;
using detail::target_directory;

namespace {

// The layout "files" (keysafe adopt): each recorded file at its own path, in its own
// directory, with the content of its role. Each directory is resolved as --to is (component by
// component, nothing another user controls followed) and kept open; the files keep their mode
// (a key loses any access by others) and, as root, their owner and group. Everything else is
// deploy_entry's sequence: files recorded at the last deployment (or adoption) are ours, others
// need --force; test, reload, restore on failure, record, probe.
DeployResult deploy_recorded_files(store::Keystore& store, const DeployRequest& request,
                                   const store::DeploymentRecord& earlier) {
  const Target t = target_entry(store, request.name);
  DeployResult result;
  result.name = request.name;
  store::DeploymentRecord& row = result.record;
  row = earlier;
  row.key_id = t.entry.key.id;
  row.entry = t.entry.key.name;
  row.files.clear();
  const auto pick = [](const std::optional<std::string>& given,
                       const std::optional<std::string>& recorded) {
    return given ? non_empty(given) : recorded;
  };
  row.test_cmd = pick(request.test_cmd, earlier.test_cmd);
  row.reload_cmd = pick(request.reload_cmd, earlier.reload_cmd);
  row.probe = pick(request.probe, earlier.probe);
  row.sni = pick(request.sni, earlier.sni);
  std::optional<deploy::Endpoint> endpoint;
  if (row.probe) endpoint = deploy::parse_endpoint(*row.probe);
  row.certificate_fingerprint = t.certificate.fingerprint_sha256;
  row.deployed_at = request.now;
  result.serial = t.certificate.serial;
  result.not_after = t.certificate.not_after;
  result.previous_fingerprint = earlier.certificate_fingerprint;
  if (earlier.key_id != t.entry.key.id && !request.force)
    throw Error(Errc::Refused, "refusing to deploy \"" + request.name + "\" to " + quoted(earlier.target_dir),
                "those files hold the deployment of \"" + earlier.entry + "\"",
                "deploy elsewhere, or add --force to replace it");
  const deploy::Material material = material_of(store, t);

  // One open directory per distinct parent, each with its files.
  struct Group {
    files::TrustedDirectory dir;
    std::vector<deploy::DeployFile> files;
  };
  std::vector<std::pair<std::string, Group>> groups;
  std::vector<std::string> foreign;
  for (const auto& f : earlier.files) {
    const std::filesystem::path path(f.path);
    const auto role = deploy::parse_role(f.role);
    const std::string parent = path.parent_path().string();
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == parent; });
    if (it == groups.end()) {
      groups.emplace_back(parent, Group{target_directory(parent), {}});
      it = std::prev(groups.end());
      if (!it->second.dir.exists())
        throw Error(Errc::NotFound, "cannot deploy to " + quoted(f.path),
                    "its directory " + quoted(parent) + " does not exist any more",
                    "adopt the server again: keysafe adopt");
    }
    deploy::DeployFile out{path.filename().string(), deploy::role_content(role, material), 0644,
                           deploy::role_holds_key(role), true};
    out.mode = out.holds_key ? 0600 : 0644;
    // An adopted certbot lineage's live/ link is replaced by a regular file; no other link.
    out.replace_certbot_link = true;
    std::string link;
    const auto linked = deploy::read_certbot_link(it->second.dir, out.name, link);
    const auto on_disk =
        linked ? std::optional<std::string>(to_hex(sha256(linked->content))) : deploy::file_sha256(it->second.dir, out.name);
    if (on_disk) {
      // The file keeps its mode (a link's: its archive file's); a file holding the key is
      // never readable by others.
      struct stat st {};
      if (linked) st = linked->status;
      if (linked || ::fstatat(it->second.dir.fd(), out.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        out.mode = static_cast<unsigned>(st.st_mode & 07777) & (out.holds_key ? 0640u : 07777u);
      const bool same = *on_disk == to_hex(sha256(out.content));
      if (*on_disk == f.sha256) result.replaced_own = true;
      else if (!same) foreign.push_back(f.path);
    }
    row.files.push_back({f.path, to_hex(sha256(out.content)), f.role});
    it->second.files.push_back(std::move(out));
  }
  if (!foreign.empty()) {
    std::string list;
    for (const auto& p : foreign) list += "\n  " + p;
    if (!request.force)
      throw Error(Errc::Refused, "refusing to overwrite files changed since keysafe adopted or wrote them",
                  "these files are not what keysafe recorded for " + quoted(earlier.target_dir) + ":" + list,
                  "adopt the server again (keysafe adopt), or add --force to replace them "
                  "(they are restored if the test command fails)");
    result.forced = true;
    result.warnings.push_back("replaced files keysafe did not write (--force):" + list);
  }

  std::vector<deploy::FileSet> written;
  const auto restore_all = [&]() {
    std::string failed;
    for (auto it = written.rbegin(); it != written.rend(); ++it) try {
        it->restore();
      } catch (const Error& e) {
        failed += (failed.empty() ? "" : "\n") + e.cause();
      }
    return failed;
  };
  try {
    for (auto& [parent, g] : groups) written.push_back(deploy::FileSet::write(g.dir, g.files));
  } catch (const Error& e) {
    const std::string failed = restore_all();
    if (failed.empty()) throw;
    throw Error(e.code(), e.summary() + "; restoring the previous files FAILED", e.cause() + "\n" + failed,
                e.remedy());
  }
  const std::map<std::string, std::string> env{{"KEYSAFE_DEPLOY_DIR", earlier.target_dir},
                                               {"KEYSAFE_DEPLOY_NAME", request.name},
                                               {"KEYSAFE_DEPLOY_LAYOUT", row.layout}};
  const auto fail_and_restore = [&](const std::string& summary, const std::string& cause,
                                    const std::string& fix) {
    const std::string failed = restore_all();
    store.record("deploy-failed", request.name,
                 "to " + earlier.target_dir + ": " + summary +
                     (failed.empty() ? "; previous files restored" : "; restoring failed: " + failed));
    store.flush_audit();
    if (!failed.empty())
      throw Error(Errc::DeployFailed, summary + "; restoring the previous files FAILED", cause + "\n" + failed, fix);
    throw Error(Errc::DeployFailed,
                summary + "; the previous files are back byte for byte, and the server still serves them",
                cause, fix);
  };
  if (row.test_cmd && !request.files_only) {
    const auto o = deploy::run_shell(*row.test_cmd, env, request.command_timeout);
    if (!o.ok())
      fail_and_restore("the test command failed, nothing was reloaded",
                       command_failure_cause("test", *row.test_cmd, o),
                       "fix what the output shows, then deploy again");
    result.tested = true;
  }
  if (row.reload_cmd && !request.files_only) {
    const auto o = deploy::run_shell(*row.reload_cmd, env, request.command_timeout);
    if (!o.ok())
      fail_and_restore("the reload command failed", command_failure_cause("reload", *row.reload_cmd, o),
                       "check the server (it may not have reloaded), then deploy again");
    result.reloaded = true;
  }
  std::string paths;
  for (const auto& f : row.files) paths += (paths.empty() ? "" : ", ") + f.path + " (" + f.role + ")";
  store.record("deployed", request.name,
               "certificate serial " + t.certificate.serial + ", sha-256 " +
                   t.certificate.fingerprint_sha256 + ", to the adopted files " + paths +
                   (result.forced ? ", foreign files replaced (--force)" : ""));
  store.write([&](store::Database& db) { store::save_deployment(db, row); });
  if (endpoint && !request.files_only) {
    const auto served = deploy::probe_until(*endpoint, row.sni.value_or(""),
                                            row.certificate_fingerprint, request.probe_patience);
    result.probe = served;
    if (!served.reached)
      throw Error(Errc::DeployFailed, "deployed to " + paths + ", but " + *row.probe + " could not be probed",
                  served.error, "check that the server listens there with TLS, then: keysafe status " + request.name);
    if (served.fingerprint_sha256 != row.certificate_fingerprint)
      throw Error(Errc::DeployFailed,
                  "deployed to " + paths + ", but " + *row.probe + " does not serve the deployed certificate",
                  "it serves sha-256 " + served.fingerprint_sha256 + " (" + served.subject +
                      "); deployed: sha-256 " + row.certificate_fingerprint,
                  "check the reload command; then: keysafe status " + request.name);
  }
  return result;
}

}  // namespace

DeployResult deploy_entry(store::Keystore& store, const DeployRequest& request) {
  // An adopted server's own files (layout "files"): the recorded paths, not a directory.
  if (!request.layout)
    if (auto adopted = store::deployment_at(store.database(), request.target_dir.string());
        adopted && adopted->layout == store::k_files_layout)
      return deploy_recorded_files(store, request, *adopted);
  const Target t = target_entry(store, request.name);
  files::TrustedDirectory target = target_directory(request.target_dir);
  const std::vector<std::filesystem::path> missing_dirs = target.missing();
  const std::filesystem::path dir = target.path();
  const auto earlier = store::deployment_at(store.database(), dir.string());

  DeployResult result;
  result.name = request.name;
  for (const auto& d : missing_dirs) result.created_directories.push_back(d.string());
  store::DeploymentRecord& row = result.record;
  row.key_id = t.entry.key.id;
  row.entry = t.entry.key.name;
  row.target_dir = dir.string();
  const deploy::Layout layout =
      request.layout ? *request.layout
                     : (earlier ? deploy::parse_layout(earlier->layout) : deploy::Layout::Nginx);
  row.layout = std::string(deploy::layout_name(layout));
  const auto pick = [&](const std::optional<std::string>& given,
                        const std::optional<std::string> store::DeploymentRecord::*recorded) {
    return given ? non_empty(given) : (earlier ? (*earlier).*recorded : std::nullopt);
  };
  row.test_cmd = pick(request.test_cmd, &store::DeploymentRecord::test_cmd);
  row.reload_cmd = pick(request.reload_cmd, &store::DeploymentRecord::reload_cmd);
  row.probe = pick(request.probe, &store::DeploymentRecord::probe);
  row.sni = pick(request.sni, &store::DeploymentRecord::sni);
  if (row.sni && !row.probe)
    throw Error(Errc::Usage, "--sni needs --probe", "the server name is sent when probing",
                "add --probe HOST:PORT");
  std::optional<deploy::Endpoint> endpoint;
  if (row.probe) endpoint = deploy::parse_endpoint(*row.probe);
  row.certificate_fingerprint = t.certificate.fingerprint_sha256;
  row.deployed_at = request.now;
  result.serial = t.certificate.serial;
  result.not_after = t.certificate.not_after;

  if (earlier) {
    result.previous_fingerprint = earlier->certificate_fingerprint;
    if (earlier->key_id != t.entry.key.id && !request.force)
      throw Error(Errc::Refused,
                  "refusing to deploy \"" + request.name + "\" to " + quoted(dir.string()),
                  "that directory holds the deployment of \"" + earlier->entry + "\"",
                  "deploy to another directory, or add --force to replace it");
  }

  const auto files = deploy::layout_files(layout, material_of(store, t));

  // Our own files are those whose bytes are what keysafe recorded writing; anything else
  // there is the administrator's, and is replaced only with --force.
  std::vector<std::string> foreign;
  for (const auto& f : files) {
    const auto path = dir / f.name;
    const auto on_disk = deploy::file_sha256(target, f.name);
    if (!on_disk) continue;
    const bool ours = earlier && std::any_of(earlier->files.begin(), earlier->files.end(),
                                             [&](const store::DeployedFile& d) {
                                               return d.path == path.string() && d.sha256 == *on_disk;
                                             });
    const bool same = *on_disk == to_hex(sha256(f.content));
    if (ours) result.replaced_own = true;
    if (!ours && !same) foreign.push_back(path.string());
  }
  if (!foreign.empty()) {
    std::string list;
    for (const auto& p : foreign) list += "\n  " + p;
    if (!request.force)
      throw Error(Errc::Refused, "refusing to overwrite files keysafe did not write",
                  "these files exist and are not those of an earlier keysafe deployment to " +
                      quoted(dir.string()) + " (or were changed since):" + list,
                  "move them away, deploy to another directory, or add --force to replace them "
                  "(they are restored if the test command fails)");
    result.forced = true;
    result.warnings.push_back("replaced files keysafe did not write (--force):" + list);
  }

  for (const auto& f : files)
    row.files.push_back({(dir / f.name).string(), to_hex(sha256(f.content)), {}});

  const std::map<std::string, std::string> env{{"KEYSAFE_DEPLOY_DIR", dir.string()},
                                               {"KEYSAFE_DEPLOY_NAME", request.name},
                                               {"KEYSAFE_DEPLOY_LAYOUT", row.layout}};
  // Created only now, after every check that can refuse: a refused deployment leaves nothing.
  deploy::FileSet written;
  try {
    target.create_missing();
    written = deploy::FileSet::write(target, files);
  } catch (const Error& e) {
    const std::string left = remove_created(target);
    if (left.empty()) throw;
    throw Error(e.code(), e.summary(), e.cause() + left, e.remedy());
  }
  const bool had_files = std::any_of(written.previous().begin(), written.previous().end(),
                                     [](const deploy::PreviousFile& p) { return p.existed; });
  const std::string restored_note =
      !missing_dirs.empty()
          ? "the new files and the directory " + quoted(missing_dirs.front().string()) +
                " that keysafe created were removed"
      : had_files ? "the previous files are back in " + quoted(dir.string()) +
                      " byte for byte, and the server still serves them"
                : std::string("the new files were removed from ") + quoted(dir.string()) +
                      " (it held none before)";

  const auto fail_and_restore = [&](const std::string& summary, const std::string& cause,
                                    const std::string& fix) {
    try {
      written.restore();
    } catch (const Error& e) {
      store.record("deploy-failed", request.name,
                   "to " + dir.string() + ": " + summary + "; restoring failed: " + e.cause());
      store.flush_audit();
      throw Error(Errc::DeployFailed, summary + "; restoring the previous files FAILED",
                  cause + "\n" + e.cause(), e.remedy());
    }
    const std::string left = remove_created(target);
    store.record("deploy-failed", request.name,
                 "to " + dir.string() + ": " + summary + "; previous files restored" +
                     (left.empty() ? "" : "; " + left.substr(1)));
    store.flush_audit();
    throw Error(Errc::DeployFailed, summary + "; " + restored_note, cause + left, fix);
  };

  if (row.test_cmd && !request.files_only) {
    const auto o = deploy::run_shell(*row.test_cmd, env, request.command_timeout);
    if (!o.ok())
      fail_and_restore("the test command failed, nothing was reloaded",
                       command_failure_cause("test", *row.test_cmd, o),
                       "fix what the output shows (a key that does not match the certificate, a "
                       "wrong path in the server configuration), then deploy again");
    result.tested = true;
  }
  if (row.reload_cmd && !request.files_only) {
    const auto o = deploy::run_shell(*row.reload_cmd, env, request.command_timeout);
    if (!o.ok())
      fail_and_restore("the reload command failed",
                       command_failure_cause("reload", *row.reload_cmd, o),
                       "check the server (it may not have reloaded), fix the reload command, "
                       "then deploy again");
    result.reloaded = true;
  }

  std::string detail = "certificate serial " + t.certificate.serial + ", sha-256 " +
                       t.certificate.fingerprint_sha256 + ", private key to " + dir.string() +
                       " (layout " + row.layout + ")";
  if (result.forced) detail += ", foreign files replaced (--force)";
  if (request.files_only) detail += ", files only (recover: test, reload and probe follow)";
  store.record("deployed", request.name, detail);
  store.write([&](store::Database& db) { store::save_deployment(db, row); });

  if (endpoint && !request.files_only) {
    const auto served = deploy::probe_until(*endpoint, row.sni.value_or(""),
                                            row.certificate_fingerprint, request.probe_patience);
    result.probe = served;
    if (!served.reached)
      throw Error(Errc::DeployFailed,
                  "deployed to " + quoted(dir.string()) + ", but " + *row.probe +
                      " could not be probed",
                  served.error,
                  "check that the server listens there with TLS, then: keysafe status " +
                      request.name);
    if (served.fingerprint_sha256 != row.certificate_fingerprint)
      throw Error(Errc::DeployFailed,
                  "deployed to " + quoted(dir.string()) + ", but " + *row.probe +
                      " does not serve the deployed certificate",
                  "it serves sha-256 " + served.fingerprint_sha256 + " (serial " +
                      served.serial_hex + ", " + served.subject + "); deployed: sha-256 " +
                      row.certificate_fingerprint + " (serial " + t.certificate.serial + ")",
                  "check that the server reads its certificate from " + dir.string() +
                      " and that the reload command reloads it; then: keysafe status " +
                      request.name);
  }
  return result;
}

std::vector<RedeployOutcome> redeploy(store::Keystore& store, std::string_view name,
                                      std::int64_t now) {
  auto key = store.key_by_name(name);
  if (!key)
    throw Error(Errc::NotFound, "there is no entry \"" + std::string(name) + "\" in the store", "",
                "see the entries with: keysafe list");
  std::vector<RedeployOutcome> out;
  for (const auto& d : store::deployments(store.database(), key->id)) {
    RedeployOutcome o;
    o.target_dir = d.target_dir;
    DeployRequest r;
    r.name = std::string(name);
    r.target_dir = d.target_dir;
    r.now = now;  // layout, commands, probe: the recorded ones
    try {
      o.result = deploy_entry(store, r);
    } catch (const Error& e) {
      o.error = e;
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<DeploymentView> list_deployments(store::Keystore& store) {
  std::vector<DeploymentView> out;
  std::map<std::int64_t, std::optional<std::string>> current;
  for (auto& d : store::deployments(store.database())) {
    if (!current.count(d.key_id)) {
      std::optional<std::string> fp;
      if (auto e = store.entry(d.entry); e && e->current) fp = e->current->fingerprint_sha256;
      current[d.key_id] = fp;
    }
    DeploymentView v;
    v.current_fingerprint = current[d.key_id];
    v.is_current = v.current_fingerprint == d.certificate_fingerprint;
    v.record = std::move(d);
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<TargetStatus> deployment_status(store::Keystore& store, std::optional<std::string> name,
                                            std::chrono::milliseconds timeout) {
  if (name && !store.key_by_name(*name))
    throw Error(Errc::NotFound, "there is no entry \"" + *name + "\" in the store", "",
                "see the entries with: keysafe list");
  std::vector<TargetStatus> out;
  const auto superseded = store::superseded_entries(store.database());
  for (auto& v : list_deployments(store)) {
    if (name && v.record.entry != *name) continue;
    // Its renewal took its deployments over; a target left on it is not the store's concern.
    if (superseded.count(v.record.key_id) != 0) continue;
    TargetStatus s;
    const auto& d = v.record;
    const std::string current = v.current_fingerprint.value_or("");
    std::string unreachable_why;
    if (d.probe) {
      s.probed = true;
      const auto ep = deploy::parse_endpoint(*d.probe);
      // A reload may be under way: a few attempts before calling the target unreachable. But a
      // refused connection means nothing listens there (a reload keeps the listening socket):
      // that answer is final at once, not after `timeout` of retries.
      auto r = deploy::probe_once(ep, d.sni.value_or(""),
                                  std::min(timeout, std::chrono::milliseconds(3000)));
      if (!r.refused) r = deploy::probe_until(ep, d.sni.value_or(""), current, timeout);
      if (r.reached) s.served_fingerprint = r.fingerprint_sha256;
      else unreachable_why = r.error;
      s.probe = std::move(r);
    } else {
      std::string problem;
      std::filesystem::path leaf_path;
      if (d.layout == store::k_files_layout) {
        for (const auto& f : d.files)
          if (leaf_path.empty() && deploy::role_holds_leaf(deploy::parse_role(f.role))) leaf_path = f.path;
      } else {
        leaf_path = std::filesystem::path(d.target_dir) / deploy::leaf_file(deploy::parse_layout(d.layout));
      }
      s.served_fingerprint = leaf_fingerprint_on_disk(leaf_path, problem);
      if (!s.served_fingerprint) unreachable_why = problem;
    }
    const std::string where = d.probe ? *d.probe : "the files in " + quoted(d.target_dir);
    if (!s.served_fingerprint) {
      s.state = "unreachable";
      s.detail = where + (d.probe ? " is unreachable: " : " cannot be read: ") + unreachable_why;
    } else if (*s.served_fingerprint == current && v.is_current) {
      s.state = "current";
      s.detail = (d.probe ? where + " serves" : where + " (no probe address; compared on disk) hold") +
                 std::string(" the newest certificate");
    } else if (!v.is_current) {
      s.state = "not-deployed";
      s.detail = "renewed but not deployed: the newest certificate (" + short_fp(current) +
                 ") was never deployed here; " + where + (d.probe ? " serves " : " hold ") +
                 short_fp(*s.served_fingerprint) + "; run: keysafe deploy " + d.entry + " --to " +
                 d.target_dir;
    } else {
      s.state = "stale";
      std::string which = "another certificate";
      if (auto c = store.certificate_by_fingerprint(*s.served_fingerprint))
        which = "an older certificate (serial " + c->serial + ")";
      s.detail = (d.probe ? where + " is serving " : where + " hold ") + which + " (" +
                 short_fp(*s.served_fingerprint) + "), not the newest (" + short_fp(current) +
                 ")" + (d.probe ? "; reload the server" : "; the files were changed since deploying");
    }
    s.deployment = std::move(v);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace keysafe::ops
