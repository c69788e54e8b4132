// Fleets, the administrator's side: hosts, signed assignments with sealed keys, re-sealing on
// renewal, and the fleet's state from the agents' reports.
#include "keysafe/ops/fleet.hpp"

#include <openssl/x509.h>

#include <functional>

#include "keysafe/crypto/host_seal.hpp"
#include "keysafe/deploy/probe.hpp"
#include "keysafe/names.hpp"
#include "keysafe/ops/host_key.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/store/header.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string in_quotes(const std::string& s) { return "\"" + s + "\""; }

// Host names appear in role names (at most 63 bytes with the prefix checked by host add), file
// names and messages: an entry name's rules.
void check_host_name(const std::string& name) {
  if (!is_simple_name(name, 63))
    throw Error(Errc::Usage, "invalid host name " + in_quotes(name),
                "a host name has 1 to 63 letters, digits, '.', '-' or '_', and does not start "
                "with '-' or '.'",
                "choose a name such as web1 or web1.example.com");
}

store::HostRecord need_host(store::Database& db, const std::string& name) {
  auto host = store::host_by_name(db, name);
  if (!host)
    throw Error(Errc::NotFound, "there is no host " + in_quotes(name) + " in the store", "",
                "see the hosts with: keysafe host list");
  return *host;
}

// The fleet signing key's private half (made on first use when `create`).
ossl::PKey signing_key(store::Keystore& store, store::Database& db, std::int64_t now,
                       bool& created) {
  created = false;
  if (auto existing = store::fleet_signing_key(db)) {
    const SecureBytes pkcs8 =
        store.open_secret(store::k_fleet_signing_purpose, existing->sealed_private_key);
    return x509::private_key_from_pkcs8(pkcs8);
  }
  ossl::PKey key = crypto::generate_signing_key();
  store::FleetSigningKey row;
  row.public_key = x509::spki_der(key.get());
  row.sealed_private_key = store.seal_secret(store::k_fleet_signing_purpose,
                                             x509::private_key_to_pkcs8(key.get()));
  row.created_at = now;
  store::insert_fleet_signing_key(db, row);
  created = true;
  return key;
}

// Seals `key`'s private key to `host` and signs `a` (its fields set) with `signer`.
void seal_and_sign(store::Keystore& store, const store::HostRecord& host,
                   const store::KeyRecord& key, EVP_PKEY* signer, store::AssignmentRecord& a) {
  const SecureBytes pkcs8 = store.open_private_key(key);
  a.sealed_private_key = crypto::seal_to_host(
      host.public_key, pkcs8, store::host_seal_aad(host, key.id, key.spki_sha256));
  a.signature = crypto::sign_ed25519(signer, store::assignment_message(a, host, key.spki_sha256));
}

std::optional<std::string> non_empty(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  return s;
}

// A new host key pair for `host` (its public fields set), to be written to `key_out`, where
// nothing may exist yet.
ossl::PKey new_host_key(store::HostRecord& host, const std::filesystem::path& key_out) {
  if (std::filesystem::exists(std::filesystem::symlink_status(key_out)))
    throw Error(Errc::AlreadyExists, in_quotes(key_out.string()) + " already exists",
                "a host key file is never overwritten", "choose a path for a new file");
  ossl::PKey key = crypto::generate_host_key();
  host.public_key = x509::spki_der(key.get());
  host.public_key_sha256 = to_hex(sha256(host.public_key));
  return key;
}

// One write transaction that runs `body` with the fleet signing key, then writes the host key
// file inside it: a file that cannot be written leaves no row behind, and rows that cannot be
// stored leave no file. A run again after a conflict (Keystore::write) writes the file afresh.
void write_with_host_key_file(store::Keystore& store, const std::filesystem::path& key_out,
                              EVP_PKEY* host_key, std::int64_t now,
                              const std::function<void(store::Database&, EVP_PKEY*, bool)>& body) {
  bool written = false;
  try {
    store.write([&](store::Database& d) {
      if (written) {
        std::filesystem::remove(key_out);
        written = false;
      }
      bool created = false;
      ossl::PKey signer = signing_key(store, d, now, created);
      body(d, signer.get(), created);
      write_host_key_file(key_out, host_key, x509::spki_der(signer.get()));
      written = true;
    });
  } catch (...) {
    if (written) std::filesystem::remove(key_out);
    throw;
  }
}

}  // namespace

HostAddResult add_host(store::Keystore& store, const std::string& name,
                       const std::filesystem::path& key_out, std::int64_t now,
                       const std::optional<std::string>& role) {
  check_host_name(name);
  auto& db = store.database();
  if (store::host_by_name(db, name))
    throw Error(Errc::AlreadyExists, "there is already a host " + in_quotes(name),
                "host names are unique in a store",
                "choose another name, or give it a new key: keysafe host rotate " + name +
                    " --key-out FILE");
  HostAddResult result;
  ossl::PKey host_key = new_host_key(result.host, key_out);
  result.host.name = name;
  result.host.algorithm = "x25519";
  result.host.created_at = now;
  result.key_file = key_out;
  if (db.backend() == store::Backend::Postgresql) {
    result.host.role = role ? role : default_host_role(name);
    if (!result.host.role) result.host.role = "keysafe_host_" + name;  // refused just below
    // PostgreSQL cuts longer names to 63 bytes, and the store would name a role that is not.
    if (result.host.role->empty() || result.host.role->size() > 63)
      throw Error(Errc::Usage,
                  "the database role name " + in_quotes(*result.host.role) + " is " +
                      (result.host.role->empty() ? "empty" : "longer than 63 bytes"),
                  "PostgreSQL role names are 1 to 63 bytes", "name a shorter role: --role ROLE");
    if (!role && store::role_exists(db, *result.host.role))
      throw Error(Errc::AlreadyExists,
                  "the database role " + in_quotes(*result.host.role) + " exists already",
                  "a host's role is made for it, so that it sees only the host's rows",
                  "choose another host name, or use that role deliberately: --role " +
                      *result.host.role);
    result.role_sql = store::host_role_setup_sql(db, *result.host.role);
    result.role_created = store::may_create_roles(db);
  } else if (role) {
    throw Error(Errc::Usage, "--role needs a PostgreSQL store",
                "a SQLite store has no database roles", "leave --role out");
  }
  store.record("host-added", "",
               "host " + in_quotes(name) + ", x25519 public key sha-256 " +
                   result.host.public_key_sha256 + "; private key written to " + key_out.string());
  write_with_host_key_file(store, key_out, host_key.get(), now,
                           [&](store::Database& d, EVP_PKEY*, bool signing_key_created) {
                             result.signing_key_created = signing_key_created;
                             result.host.id = store::insert_host(d, result.host);
                             // The role and its grants commit with the host (PostgreSQL's DDL
                             // is transactional).
                             if (result.role_created)
                               for (const auto& sql : result.role_sql) d.exec(sql);
                           });
  return result;
}

HostAddResult rotate_host(store::Keystore& store, const std::string& name,
                          const std::filesystem::path& key_out, std::int64_t now) {
  auto& db = store.database();
  HostAddResult result;
  result.host = need_host(db, name);
  const std::string old_sha256 = result.host.public_key_sha256;
  ossl::PKey host_key = new_host_key(result.host, key_out);
  result.key_file = key_out;
  auto moving = store::assignments(db, result.host.id);
  store.record("host-rotated", "",
               "host " + in_quotes(name) + ": x25519 public key sha-256 " + old_sha256 + " -> " +
                   result.host.public_key_sha256 + "; " + std::to_string(moving.size()) +
                   " assignment(s) sealed again; private key written to " + key_out.string());
  write_with_host_key_file(store, key_out, host_key.get(), now,
                           [&](store::Database& d, EVP_PKEY* signer, bool) {
                             store::update_host_key(d, result.host);
                             for (auto& a : moving) {
                               const auto key = store.key_by_id(a.key_id);
                               if (!key) continue;
                               a.assigned_at = now;
                               seal_and_sign(store, result.host, *key, signer, a);
                               store::move_assignment_key(d, a);
                             }
                           });
  return result;
}

std::vector<HostView> list_hosts(store::Keystore& store) {
  auto& db = store.database();
  std::vector<HostView> out;
  for (auto& h : store::hosts(db)) {
    HostView v;
    v.assignments = store::assignments(db, h.id);
    v.host = std::move(h);
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<std::string> default_host_role(const std::string& name) {
  std::string role = "keysafe_host_" + name;
  if (role.size() > 63) return std::nullopt;
  return role;
}

HostRoleGrant grant_host_role(store::Keystore& store, const std::string& name) {
  auto& db = store.database();
  if (db.backend() != store::Backend::Postgresql)
    throw Error(Errc::Usage, "host grant needs a PostgreSQL store",
                "a SQLite store has no database roles: a host reads the file or nothing",
                "use it with --store postgresql://...");
  const store::HostRecord host = need_host(db, name);
  HostRoleGrant g;
  g.host = host.name;
  if (host.role) {
    g.role = *host.role;
  } else if (const auto role = default_host_role(host.name)) {
    g.role = *role;
  } else {
    throw Error(Errc::Usage, "host " + in_quotes(name) + " has no database role",
                "keysafe_host_" + name + " is longer than PostgreSQL's 63 bytes",
                "remove the host and add it again with --role ROLE");
  }
  g.sql = store::host_role_setup_sql(db, g.role);
  g.applied = store::may_create_roles(db);
  store.record("host-role-granted", "",
               "host " + in_quotes(host.name) + ", role " + in_quotes(g.role) +
                   (g.applied ? "" : " (SQL printed for an administrator)"));
  store.write([&](store::Database& d) {
    if (!host.role) store::set_host_role(d, host.id, g.role);
    if (g.applied)
      for (const auto& sql : g.sql) d.exec(sql);
  });
  return g;
}

HostView show_host(store::Keystore& store, const std::string& name) {
  auto& db = store.database();
  HostView v;
  v.host = need_host(db, name);
  v.assignments = store::assignments(db, v.host.id);
  v.events = store::host_events(db, name, 20);
  return v;
}

HostRemoveResult remove_host(store::Keystore& store, const std::string& name, std::int64_t now,
                             bool keep_role) {
  (void)now;
  HostRemoveResult result;
  result.removed = show_host(store, name);
  const HostView& v = result.removed;
  std::string held;
  for (const auto& a : v.assignments) held += (held.empty() ? "" : ", ") + a.entry;
  auto& db = store.database();
  if (v.host.role) {
    result.role_sql = store::host_role_removal_sql(db, *v.host.role, keep_role);
    result.role_removed = !result.role_sql.empty() && store::may_create_roles(db);
  }
  store.record("host-removed", "",
               "host " + in_quotes(name) + " with " + std::to_string(v.assignments.size()) +
                   " assignment(s)" + (held.empty() ? "" : ": " + held) +
                   (result.role_removed ? "; role " + in_quotes(*v.host.role) +
                                              (keep_role ? " lost its grants" : " dropped")
                                        : ""));
  store.write([&](store::Database& d) {
    store::delete_host(d, v.host.id);
    // The role goes with the host (PostgreSQL's DDL is transactional): no login is left that
    // row-level security would now show nothing, or whatever a later host of its name is given.
    if (!result.role_removed) return;
    const std::size_t grants = result.role_sql.size() - (keep_role ? 0 : 1);
    for (std::size_t i = 0; i < grants; ++i) d.exec(result.role_sql[i]);
    if (keep_role) return;
    // A role is the cluster's, its grants each database's: one granted in another database
    // (a copy of the store) cannot be dropped from here, and the host still goes.
    d.exec("SAVEPOINT drop_host_role");
    try {
      d.exec(result.role_sql.back());
      d.exec("RELEASE SAVEPOINT drop_host_role");
    } catch (const Error& e) {
      d.exec("ROLLBACK TO SAVEPOINT drop_host_role");
      result.role_kept_because = e.cause();
    }
  });
  return result;
}

AssignResult assign_entry(store::Keystore& store, const AssignRequest& r) {
  auto& db = store.database();
  const store::HostRecord host = need_host(db, r.host);
  const auto key = store.key_by_name(r.entry);
  if (!key)
    throw Error(Errc::NotFound, "there is no entry " + in_quotes(r.entry) + " in the store", "",
                "see the entries with: keysafe list");
  if (!key->has_private_key)
    throw Error(Errc::Usage, in_quotes(r.entry) + " has no private key to assign",
                "the entry holds a certificate only", "import its key first: keysafe import KEY-FILE");
  if (!r.target_dir.is_absolute())
    throw Error(Errc::Usage, "--to must be an absolute directory on the host",
                in_quotes(r.target_dir.string()) + " is relative: the agent runs elsewhere",
                "give the directory as the host sees it, e.g. --to /etc/nginx/keysafe/" + r.entry);
  for (const auto& part : r.target_dir)
    if (part == "..")
      throw Error(Errc::Usage, "--to must not contain '..'", in_quotes(r.target_dir.string()),
                  "give the directory without '..'");
  if (r.sni && !r.probe)
    throw Error(Errc::Usage, "--sni needs --probe", "the server name is sent when probing",
                "add --probe HOST:PORT");
  if (r.probe) (void)deploy::parse_endpoint(*r.probe);

  store::AssignmentRecord a;
  a.host_id = host.id;
  a.key_id = key->id;
  a.host = host.name;
  a.entry = key->name;
  a.target_dir = r.target_dir.lexically_normal().string();
  while (a.target_dir.size() > 1 && a.target_dir.back() == '/') a.target_dir.pop_back();
  a.layout = std::string(deploy::layout_name(r.layout));
  a.test_cmd = non_empty(r.test_cmd);
  a.reload_cmd = non_empty(r.reload_cmd);
  a.probe = non_empty(r.probe);
  a.sni = non_empty(r.sni);
  a.assigned_at = r.now;

  AssignResult result;
  for (const auto& other : store::assignments(db, host.id)) {
    if (other.key_id == key->id) {
      result.replaced = true;
    } else if (other.target_dir == a.target_dir) {
      throw Error(Errc::Refused,
                  "refusing to assign " + in_quotes(r.entry) + " to " + in_quotes(a.target_dir) +
                      " on " + in_quotes(host.name),
                  "that directory on the host is assigned to " + in_quotes(other.entry),
                  "choose another directory, or first: keysafe unassign " + other.entry +
                      " --host " + host.name);
    }
  }
  store.record("assigned", key->name,
               "to host " + in_quotes(host.name) + ", " + a.target_dir + " (layout " + a.layout +
                   "); private key sealed to the host's key " +
                   host.public_key_sha256.substr(0, 16) + "...");
  store.write([&](store::Database& d) {
    bool created = false;
    ossl::PKey signer = signing_key(store, d, r.now, created);
    seal_and_sign(store, host, *key, signer.get(), a);
    a.id = store::save_assignment(d, a);
  });
  result.assignment = std::move(a);
  return result;
}

store::AssignmentRecord unassign_entry(store::Keystore& store, const std::string& entry,
                                       const std::string& host_name, std::int64_t now) {
  auto& db = store.database();
  const store::HostRecord host = need_host(db, host_name);
  const auto key = store.key_by_name(entry);
  if (!key)
    throw Error(Errc::NotFound, "there is no entry " + in_quotes(entry) + " in the store", "",
                "see the entries with: keysafe list");
  auto a = store::assignment(db, host.id, key->id);
  if (!a)
    throw Error(Errc::NotFound, in_quotes(entry) + " is not assigned to host " + in_quotes(host_name),
                "", "see what it serves: keysafe host show " + host_name);
  store.record("unassigned", entry,
               "from host " + in_quotes(host_name) + " (" + a->target_dir +
                   "); its files stay on the host until removed there");
  store.write([&](store::Database& d) {
    // What the agent wrote there stays keysafe's: a later assignment to that directory may
    // replace exactly those files (the report listing them goes with the assignment).
    if (auto report = store::host_report(d, a->id); report && !report->files.empty())
      store::add_released_files(d, {0, now, host_name, "", entry, ""}, report->files);
    store::delete_assignment(d, a->id);
  });
  return *a;
}

std::size_t reseal_assignments(store::Keystore& store, store::Database& db,
                               std::int64_t old_key_id, std::int64_t new_key_id,
                               std::int64_t now) {
  auto moving = store::assignments(db, std::nullopt, old_key_id);
  if (moving.empty()) return 0;
  const auto key = store.key_by_id(new_key_id);
  if (!key || !key->has_private_key)
    throw Error(Errc::Internal, "the renewal's key is missing while moving its assignments");
  bool created = false;
  ossl::PKey signer = signing_key(store, db, now, created);
  for (auto& a : moving) {
    const auto host = store::host_by_name(db, a.host);
    if (!host) continue;
    // In place: the host's report on it stays, so the fleet shows it stale until the agent
    // deploys the new key.
    a.key_id = new_key_id;
    a.assigned_at = now;
    seal_and_sign(store, *host, *key, signer.get(), a);
    store::move_assignment_key(db, a);
  }
  return moving.size();
}

std::vector<FleetRow> fleet_status(store::Keystore& store, std::int64_t silent_after,
                                   std::int64_t now) {
  auto& db = store.database();
  std::vector<FleetRow> out;
  for (const auto& a : store::assignments(db)) {
    FleetRow row;
    row.host = a.host;
    row.entry = a.entry;
    row.target_dir = a.target_dir;
    if (auto e = store.entry(a.entry); e && e->current)
      row.newest_fingerprint = e->current->fingerprint_sha256;
    const auto report = store::host_report(db, a.id);
    if (report) {
      row.deployed_fingerprint = report->deployed_fingerprint;
      row.served_fingerprint = report->served_fingerprint;
      row.last_report = report->reported_at;
    }
    const std::string newest = row.newest_fingerprint.value_or("");
    if (!report) {
      row.state = "silent";
      row.detail = "host " + in_quotes(a.host) + " has not reported on this entry yet: run keysafe "
                   "agent --host " + a.host + " on it";
    } else if (now - report->reported_at > silent_after) {
      row.state = "silent";
      row.detail = "no report from host " + in_quotes(a.host) + " for " +
                   std::to_string(now - report->reported_at) + " s (more than --silent-after " +
                   std::to_string(silent_after) + " s): is its agent running?";
    } else if (report->state == "failed") {
      row.state = "failed";
      row.detail = report->error.value_or("the agent failed");
    } else if (report->state == "unreachable") {
      row.state = "unreachable";
      row.detail = report->error.value_or("the agent could not reach the server");
    } else if (!row.newest_fingerprint || row.deployed_fingerprint != newest ||
               row.served_fingerprint != newest) {
      row.state = "stale";
      row.detail = row.deployed_fingerprint != newest
                       ? "the newest certificate is not deployed yet: the host's next agent run "
                         "deploys it"
                       : "the server does not serve the newest certificate";
    } else {
      row.state = "current";
      row.detail = "serves the newest certificate";
    }
    if (row.state != "current" && report && report->error && row.state == "stale")
      row.detail += " (last error: " + *report->error + ")";
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace keysafe::ops
