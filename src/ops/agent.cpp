// keysafe agent: one pass over a host's assignments. Every assignment is checked (signature,
// seal, key, certificate) before anything is written; due ones are written first, then each
// distinct test and reload command runs once (one server serving several sites tests its
// configuration only when every site's files are there), then every target is probed.
#include "keysafe/ops/agent.hpp"

#include <algorithm>
#include <map>

#include "deploy_steps.hpp"
#include "keysafe/crypto/host_seal.hpp"
#include "keysafe/deploy/file_set.hpp"
#include "keysafe/deploy/probe.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/store/fleet.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }
std::string short_fp(const std::string& fp) { return fp.substr(0, 16) + "..."; }

struct Work {
  store::AssignmentRecord assignment;
  std::optional<store::HostReport> report;
  std::optional<std::string> newest;  // the current certificate's fingerprint
  bool due = false;
  bool failed = false;
  std::string error;
  // Set for due assignments once checked, until written:
  std::vector<deploy::DeployFile> files;
  std::optional<files::TrustedDirectory> dir;
  deploy::FileSet written;
  bool wrote = false;
  AgentOutcome outcome;
};

void fail(Work& w, std::string error) {
  w.failed = true;
  w.error = std::move(error);
}

// Whether the files recorded by the last report are on disk, byte for byte.
bool files_in_place(const store::HostReport& report) {
  if (report.files.empty()) return false;
  return std::all_of(report.files.begin(), report.files.end(), [](const store::DeployedFile& f) {
    return deploy::file_sha256(std::filesystem::path(f.path)) == f.sha256;
  });
}

// Checks a due assignment and prepares its files: the sealed copy opened (the one key
// agreement per deployed entry), the key matched to the stored public key and certificate.
void prepare(store::Keystore& store, const store::HostRecord& host, const HostKeyFile& key,
             const store::AssignedEntry& entry_key, Work& w,
             std::size_t& opened) {
  const auto& a = w.assignment;
  SecureBytes pkcs8;
  ++opened;
  if (!crypto::open_as_host(key.host_key.get(), a.sealed_private_key,
                            store::host_seal_aad(host, entry_key.key_id, entry_key.spki_sha256), pkcs8))
    return fail(w, "its sealed private key does not open with this host's key (it was sealed for "
                   "another host or key, or altered): assign it again from the admin side");
  const auto private_key = x509::private_key_from_pkcs8(pkcs8);
  if (x509::spki_sha256_hex(x509::spki_der(private_key.get())) != entry_key.spki_sha256)
    return fail(w, "its sealed private key is not the entry's key");
  const auto material = detail::deploy_material(pkcs8, store.certificate_der(*entry_key.certificate_id),
                                                store.chain_of(*entry_key.certificate_id));
  w.files = deploy::layout_files(deploy::parse_layout(a.layout), material);
  try {
    w.dir.emplace(detail::target_directory(a.target_dir));
  } catch (const Error& e) {
    return fail(w, e.summary() + (e.cause().empty() ? "" : ": " + e.cause()));
  }
  // Files there that neither the last report nor an unassignment (released) lists as
  // keysafe's, path and content, are the administrator's. The released files are read only
  // when a file is not in the report.
  std::string foreign;
  std::optional<std::vector<store::DeployedFile>> released;
  for (const auto& f : w.files) {
    const auto path = (w.dir->path() / f.name).string();
    const auto on_disk = deploy::file_sha256(*w.dir, f.name);
    if (!on_disk || *on_disk == to_hex(sha256(f.content))) continue;
    const auto listed = [&](const std::vector<store::DeployedFile>& files) {
      return std::any_of(files.begin(), files.end(), [&](const store::DeployedFile& d) {
        return d.path == path && d.sha256 == *on_disk;
      });
    };
    bool ours = w.report && listed(w.report->files);
    if (!ours && !released) released = store::released_files(store.database(), host.name);
    ours = ours || listed(*released);
    if (!ours) foreign += "\n  " + path;
  }
  if (!foreign.empty())
    fail(w, "refusing to overwrite files keysafe did not write:" + foreign +
                "\nmove them away on the host; the agent deploys on its next run");
}

void restore_group(std::vector<Work*>& group, const std::string& why) {
  for (Work* w : group) {
    if (!w->wrote) continue;
    std::string left;
    try {
      w->written.restore();
    } catch (const Error& e) {
      left = "; restoring the previous files FAILED: " + e.cause();
    }
    left += detail::remove_created(*w->dir);
    w->wrote = false;
    fail(*w, why + left);
  }
}

std::map<std::string, std::string> command_environment(const std::vector<Work*>& group,
                                                       const std::string& host) {
  std::map<std::string, std::string> env{{"KEYSAFE_AGENT_HOST", host}};
  // One target: the variables deploy sets. Several share the command: none of them is "the" one.
  if (group.size() == 1) {
    env["KEYSAFE_DEPLOY_DIR"] = group.front()->assignment.target_dir;
    env["KEYSAFE_DEPLOY_NAME"] = group.front()->assignment.entry;
    env["KEYSAFE_DEPLOY_LAYOUT"] = group.front()->assignment.layout;
  }
  return env;
}

// Writes a group's files, then runs its test and reload command once each.
void deploy_group(std::vector<Work*>& group, const AgentOptions& options) {
  for (Work* w : group) {
    try {
      w->dir->create_missing();
      w->written = deploy::FileSet::write(*w->dir, w->files);
      w->wrote = true;
    } catch (const Error& e) {
      fail(*w, e.summary() + (e.cause().empty() ? "" : ": " + e.cause()) +
                   detail::remove_created(*w->dir));
    }
  }
  std::vector<Work*> written;
  for (Work* w : group)
    if (w->wrote) written.push_back(w);
  if (written.empty()) return;
  const auto env = command_environment(written, options.host);
  const auto& a = written.front()->assignment;
  const auto run = [&](const std::optional<std::string>& cmd, const char* which,
                       const char* aftermath) {
    if (!cmd) return true;
    const auto o = deploy::run_shell(*cmd, env, options.command_timeout);
    if (o.ok()) return true;
    restore_group(written, std::string("the ") + which + " command failed, " + aftermath + ": " +
                               detail::command_failure_cause(which, *cmd, o) +
                               "\nthe previous files were restored");
    return false;
  };
  if (!run(a.test_cmd, "test", "nothing was reloaded")) return;
  run(a.reload_cmd, "reload", "the server may not have reloaded");
}

// What the target serves now (probe) or holds (files), against the newest certificate.
void observe(Work& w, const AgentOptions& options) {
  auto& o = w.outcome;
  const auto& a = w.assignment;
  const std::string newest = w.newest.value_or("");
  if (a.probe) {
    const auto ep = deploy::parse_endpoint(*a.probe);
    const auto patience = w.outcome.deployed ? options.probe_patience
                                             : std::min(options.probe_patience,
                                                        std::chrono::milliseconds(3000));
    auto r = deploy::probe_once(ep, a.sni.value_or(""), std::min(patience, std::chrono::milliseconds(3000)));
    if (!r.refused && (!r.reached || r.fingerprint_sha256 != newest))
      r = deploy::probe_until(ep, a.sni.value_or(""), newest, patience);
    if (!r.reached) {
      o.state = "unreachable";
      o.detail = *a.probe + " is unreachable: " + r.error;
      return;
    }
    o.served_fingerprint = r.fingerprint_sha256;
  } else {
    std::string problem;
    o.served_fingerprint = detail::leaf_fingerprint_on_disk(
        std::filesystem::path(a.target_dir) /
            std::string(deploy::leaf_file(deploy::parse_layout(a.layout))),
        problem);
    if (!o.served_fingerprint) {
      o.state = "unreachable";
      o.detail = "the files in " + in_quotes(a.target_dir) + " cannot be read: " + problem;
      return;
    }
  }
  if (*o.served_fingerprint == newest) {
    o.state = "current";
    o.detail = (a.probe ? *a.probe + " serves" : in_quotes(a.target_dir) + " holds") +
               std::string(" the newest certificate (") + short_fp(newest) + ")";
  } else {
    o.state = "stale";
    o.detail = (a.probe ? *a.probe + " serves " : in_quotes(a.target_dir) + " holds ") +
               short_fp(*o.served_fingerprint) + ", not the newest certificate (" +
               short_fp(newest) + ")";
  }
}

// Records a refusal where this connection may: a host role (PostgreSQL row-level security)
// through keysafe_host_refused, under its own host name; otherwise in the audit log and as a
// host event. Inside the caller's write transaction.
void record_refusal(store::Keystore& store, store::Database& db, bool as_host_role,
                    const AgentOptions& options, const std::string& entry, const std::string& why) {
  if (as_host_role) {
    store::record_refusal_as_host(db, entry, why);
    return;
  }
  store.record("host-refused", entry, "agent for host " + in_quotes(options.host) + ": " + why);
  store::add_host_event(db, {0, options.now, options.host, "refused", entry, why});
}

[[noreturn]] void refuse(store::Keystore& store, bool as_host_role, const AgentOptions& options,
                         const std::string& why, const std::string& fix) {
  store.write([&](store::Database& db) { record_refusal(store, db, as_host_role, options, "", why); });
  throw Error(Errc::Refused, "refusing to act as host " + in_quotes(options.host), why, fix);
}

}  // namespace

int AgentRun::exit_code() const {
  bool stale = false;
  bool unreachable = false;
  for (const auto& o : outcomes) {
    if (o.state == "failed") return 1;
    unreachable = unreachable || o.state == "unreachable";
    stale = stale || o.state == "stale";
  }
  return unreachable ? 13 : stale ? 12 : 0;
}

AgentRun run_agent_once(store::Keystore& store, const HostKeyFile& key, const AgentOptions& options) {
  auto& db = store.database();
  const bool as_host_role = store::connected_as_host(db);
  const auto host = store::host_by_name(db, options.host);
  if (!host)
    throw Error(Errc::NotFound, "there is no host " + in_quotes(options.host) + " in the store", "",
                "add it on the admin side: keysafe host add " + options.host +
                    " --key-out FILE, and give this agent that FILE");
  const Bytes own = x509::spki_der(key.host_key.get());
  if (own != host->public_key)
    refuse(store, as_host_role, options,
           "the host key given is not this host's (its public key sha-256 " +
               short_fp(to_hex(sha256(own))) + " differs from the store's " +
               short_fp(host->public_key_sha256) + ")",
           "give the agent the key file made for this host by: keysafe host add " + options.host);
  const auto signing = store::fleet_signing_public_key(db);
  if (!signing || *signing != x509::spki_der(key.signing_public.get()))
    refuse(store, as_host_role, options,
           "the store's fleet signing key is not the one in the host key file (the store was "
           "replaced, or the file belongs to another store)",
           "check --store; if the store was rebuilt, add the host again: keysafe host remove " +
               options.host + " && keysafe host add " + options.host + " --key-out FILE");

  AgentRun run;
  std::vector<Work> work;
  for (auto& a : store::assignments(db, host->id)) {
    Work w;
    w.outcome.entry = a.entry;
    w.outcome.target_dir = a.target_dir;
    w.report = store::host_report(db, a.id);
    w.assignment = std::move(a);
    work.push_back(std::move(w));
  }
  std::vector<store::HostEvent> events;
  std::vector<std::pair<std::string, std::string>> refusals;  // entry, why
  const auto event = [&](const std::string& action, const Work& w, const std::string& detail) {
    events.push_back({0, options.now, options.host, action, w.assignment.entry, detail});
  };

  for (auto& w : work) {
    const auto& a = w.assignment;
    const auto entry_key = store::assigned_entry(db, a.key_id);
    if (!entry_key) {
      fail(w, "its entry is gone from the store");
      continue;
    }
    if (!crypto::verify_ed25519(key.signing_public.get(),
                                store::assignment_message(a, *host, entry_key->spki_sha256),
                                a.signature)) {
      fail(w, "its signature does not verify: the assignment was changed by someone without the "
              "store passphrase; nothing was deployed (assign it again from the admin side)");
      refusals.push_back({a.entry, "assignment to " + a.target_dir + " fails its signature"});
      continue;
    }
    if (!entry_key->certificate_id) {
      fail(w, "the entry has no certificate yet: install the CA's certificate on the admin side");
      continue;
    }
    if (entry_key->certificate_spki_sha256 != entry_key->spki_sha256) {
      fail(w, "its current certificate is not for its key");
      continue;
    }
    w.newest = entry_key->fingerprint_sha256;
    w.outcome.newest_fingerprint = w.newest;
    w.due = !(w.report && w.report->deployed_fingerprint == w.newest && files_in_place(*w.report));
    if (!w.due) continue;
    prepare(store, *host, key, *entry_key, w, run.keys_opened);
    if (w.failed && w.error.rfind("its sealed private key", 0) == 0)
      refusals.push_back({a.entry, w.error});
  }

  // Due assignments grouped by their commands, in the order of their first member.
  std::vector<std::pair<std::pair<std::optional<std::string>, std::optional<std::string>>,
                        std::vector<Work*>>>
      groups;
  for (auto& w : work) {
    if (!w.due || w.failed) continue;
    const auto commands = std::make_pair(w.assignment.test_cmd, w.assignment.reload_cmd);
    auto g = std::find_if(groups.begin(), groups.end(),
                          [&](const auto& entry) { return entry.first == commands; });
    if (g == groups.end()) {
      groups.push_back({commands, {}});
      g = std::prev(groups.end());
    }
    g->second.push_back(&w);
  }
  for (auto& [commands, group] : groups) deploy_group(group, options);

  for (auto& w : work) {
    auto& o = w.outcome;
    o.deployed = w.wrote;
    if (w.failed) {
      o.state = "failed";
      o.detail = w.error;
      if (w.due && w.newest) event("deploy-failed", w, "to " + w.assignment.target_dir + ": " + w.error);
      continue;
    }
    observe(w, options);
    if (w.wrote)
      event("deployed", w,
            "certificate sha-256 " + w.newest.value_or("") + " to " + w.assignment.target_dir +
                " (layout " + w.assignment.layout + "); " + o.state);
  }

  store.write([&](store::Database& d) {
    for (auto& w : work) {
      store::HostReport r;
      r.assignment_id = w.assignment.id;
      r.state = w.outcome.state;
      r.served_fingerprint = w.outcome.served_fingerprint;
      r.reported_at = options.now;
      if (w.wrote) {
        r.deployed_fingerprint = w.newest;
        for (const auto& f : w.files)
          r.files.push_back({(w.dir->path() / f.name).string(), to_hex(sha256(f.content)), {}});
      } else if (w.report) {
        r.deployed_fingerprint = w.report->deployed_fingerprint;
        r.files = w.report->files;
      }
      if (w.outcome.state != "current") r.error = w.outcome.detail;
      store::save_host_report(d, r);
    }
    for (const auto& e : events) store::add_host_event(d, e);
    for (const auto& [entry, why] : refusals)
      record_refusal(store, d, as_host_role, options, entry, why);
  });
  for (auto& w : work) run.outcomes.push_back(std::move(w.outcome));
  return run;
}

}  // namespace keysafe::ops
