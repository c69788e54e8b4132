// The fleet in complete backups: collected beside the entries, restored after them in the same
// transaction, sealed to each host again and signed with the backup's fleet signing key.
#include "fleet_backup.hpp"

#include <algorithm>
#include <map>

#include "keysafe/crypto/host_seal.hpp"
#include "keysafe/store/fleet.hpp"
#include "keysafe/store/header.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/ops/fleet.hpp"
#include "store_roles.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

[[noreturn]] void damaged(const std::string& what) {
  throw Error(Errc::Damaged, "the backup is damaged: " + what,
              "a complete backup names only entries and hosts it holds",
              "use another copy of the backup");
}

const backup::BackupEntry* entry_of(const backup::BackupPayload& payload,
                                    const std::string& name, const std::string& spki) {
  for (const auto& e : payload.entries)
    if (e.name == name && e.spki_sha256 == spki) return &e;
  return nullptr;
}

std::size_t host_index(const backup::BackupPayload& payload, const std::string& name) {
  for (std::size_t i = 0; i < payload.hosts.size(); ++i)
    if (payload.hosts[i].name == name) return i;
  damaged("an assignment names the host " + quoted(name) + ", which is not in it");
}

// The backup's fleet signing key, checked: its private half carries its public half.
ossl::PKey signing_key(const backup::BackupFleetSigningKey& k) {
  ossl::PKey key;
  try {
    key = x509::private_key_from_pkcs8(k.private_key_pkcs8);
  } catch (const Error&) {
    damaged("its fleet signing key does not decode");
  }
  if (x509::spki_der(key.get()) != k.public_key)
    damaged("its fleet signing key does not match its recorded public key");
  return key;
}

std::string describe_assignment(const backup::BackupAssignment& a) {
  std::string out = describe_target(a.layout, a.test_cmd, a.reload_cmd, a.probe, a.sni);
  out += a.report ? "; its agent's last report (" + a.report->state + ") kept"
                  : "; no report from its agent yet";
  return out;
}

}  // namespace

void collect_fleet(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                   backup::BackupPayload& payload) {
  auto& db = store.database();
  if (auto k = store::fleet_signing_key(db)) {
    backup::BackupFleetSigningKey b;
    b.public_key = k->public_key;
    b.private_key_pkcs8 = store.open_secret(store::k_fleet_signing_purpose, k->sealed_private_key);
    b.created_at = k->created_at;
    (void)signing_key(b);  // a key that does not pair is not backed up as if it did
    payload.fleet_signing_key = std::move(b);
  }
  for (auto& h : store::hosts(db))
    payload.hosts.push_back(
        {h.name, h.algorithm, h.public_key, h.public_key_sha256, h.role, h.created_at});
  std::map<std::int64_t, const store::KeyRecord*> by_id;
  for (const auto& k : keys) by_id[k.id] = &k;
  for (auto& a : store::assignments(db)) {
    const auto key = by_id.find(a.key_id);
    if (key == by_id.end()) continue;  // not among the entries backed up
    backup::BackupAssignment b;
    b.host = a.host;
    b.entry = a.entry;
    b.spki_sha256 = key->second->spki_sha256;
    b.target_dir = a.target_dir;
    b.layout = a.layout;
    b.test_cmd = a.test_cmd;
    b.reload_cmd = a.reload_cmd;
    b.probe = a.probe;
    b.sni = a.sni;
    b.assigned_at = a.assigned_at;
    if (auto r = store::host_report(db, a.id)) {
      backup::BackupHostReport br;
      br.state = r->state;
      br.deployed_fingerprint = r->deployed_fingerprint;
      br.served_fingerprint = r->served_fingerprint;
      for (const auto& f : r->files) br.files.push_back({f.path, f.sha256, f.role});
      br.error = r->error;
      br.reported_at = r->reported_at;
      b.report = std::move(br);
    }
    payload.assignments.push_back(std::move(b));
  }
}

void plan_fleet(store::Keystore* store, const backup::BackupPayload& payload, RestorePlan& plan) {
  if (!payload.fleet_signing_key && !payload.hosts.empty())
    damaged("it has hosts but no fleet signing key");
  std::map<std::string, std::string> names;  // backup entry name -> name in the store
  for (std::size_t i = 0; i < payload.entries.size(); ++i)
    names[payload.entries[i].name] = plan.actions[i].name;

  // The host key files of the backup's hosts trust the backup's signing key: with another key
  // in the store, its hosts would refuse every assignment, so none is restored.
  bool other_signing_key = false;
  if (payload.fleet_signing_key) {
    (void)signing_key(*payload.fleet_signing_key);
    RestoreItemAction item;
    item.name = "fleet-signing-key";
    const auto existing = store ? store::fleet_signing_key(store->database())
                                : std::optional<store::FleetSigningKey>();
    const std::string sha = to_hex(sha256(payload.fleet_signing_key->public_key));
    if (!existing) {
      item.action = "create";
      item.detail = "Ed25519, public key sha-256 " + sha.substr(0, 16) +
                    "... (the one every host key file of the backup trusts)";
    } else if (existing->public_key == payload.fleet_signing_key->public_key) {
      item.action = "unchanged";
      item.detail = "the store has this fleet signing key";
    } else {
      other_signing_key = true;
      item.action = "skip";
      item.detail = "the store has another fleet signing key, which the backup's host key files "
                    "do not trust: its hosts and assignments are not restored (add them again: "
                    "keysafe host add NAME --key-out FILE, then keysafe assign)";
    }
    plan.fleet_signing_key.push_back(std::move(item));
  }

  const auto stored_hosts = store ? store::hosts(store->database()) : std::vector<store::HostRecord>();
  for (const auto& h : payload.hosts) {
    RestoreItemAction item;
    item.name = h.name;
    if (h.public_key_sha256 != to_hex(sha256(h.public_key)))
      damaged("the public key of host " + quoted(h.name) + " does not match its hash");
    const auto same_name = store ? store::host_by_name(store->database(), h.name)
                                 : std::optional<store::HostRecord>();
    if (other_signing_key) {
      item.action = "skip";
      item.detail = "the store's fleet signing key is not the backup's";
    } else if (same_name && same_name->public_key == h.public_key) {
      item.action = "unchanged";
      item.detail = "the store has this host with this key";
    } else if (same_name) {
      item.action = "skip";
      item.detail = "the store has another host named " + quoted(h.name) +
                    " (another key): the backup's is not restored";
    } else if (store && std::any_of(stored_hosts.begin(), stored_hosts.end(), [&](const auto& x) {
                 return x.public_key == h.public_key;
               })) {
      item.action = "skip";
      item.detail = "the store has this host key under another name";
    } else {
      item.action = "create";
      item.detail = h.algorithm + ", public key sha-256 " + h.public_key_sha256.substr(0, 16) +
                    "...: its host key file works with the restored store";
      if (store && store->database().backend() == store::Backend::Postgresql &&
          !store::may_create_roles(store->database()))
        item.detail += "; this connection may not grant its database role: keysafe host grant " +
                       h.name;
    }
    plan.hosts.push_back(std::move(item));
  }

  for (const auto& a : payload.assignments) {
    const auto* entry = entry_of(payload, a.entry, a.spki_sha256);
    if (entry == nullptr) damaged("the assignment to " + quoted(a.target_dir) + " has no entry in it");
    const auto& host = plan.hosts[host_index(payload, a.host)];
    check_backup_target("assignment", a.layout, a.target_dir);
    RestoreItemAction item;
    item.name = names.count(a.entry) ? names[a.entry] : a.entry;
    item.host = a.host;
    item.target = a.target_dir;
    if (host.action == "skip") {
      item.action = "skip";
      item.detail = "its host is not restored";
    } else if (!entry->private_key_pkcs8) {
      item.action = "skip";
      item.detail = "the backup holds no private key of " + quoted(a.entry) + " to seal to the host";
    } else if (host.action == "unchanged") {
      auto& db = store->database();
      const auto stored_host = store::host_by_name(db, a.host);
      const auto key = store->key_by_spki(a.spki_sha256);
      const auto on_host = store::assignments(db, stored_host->id);
      const auto same_key = std::find_if(on_host.begin(), on_host.end(), [&](const auto& x) {
        return key && x.key_id == key->id;
      });
      const auto same_dir = std::find_if(on_host.begin(), on_host.end(), [&](const auto& x) {
        return x.target_dir == a.target_dir;
      });
      if (same_key != on_host.end()) {
        item.action = "unchanged";
        item.detail = "the store assigns this entry to this host already (to " +
                      quoted(same_key->target_dir) + ")";
      } else if (same_dir != on_host.end()) {
        item.action = "skip";
        item.detail = "the store assigns " + quoted(same_dir->entry) + " to " +
                      quoted(a.target_dir) + " on this host";
      } else {
        item.action = "create";
        item.detail = describe_assignment(a);
      }
    } else {
      item.action = "create";
      item.detail = describe_assignment(a);
    }
    plan.assignments.push_back(std::move(item));
  }
}

void keep_fleet_of(backup::BackupPayload& payload, const std::vector<std::string>& only) {
  std::erase_if(payload.assignments, [&](const backup::BackupAssignment& a) {
    return std::find(only.begin(), only.end(), a.entry) == only.end();
  });
  std::erase_if(payload.hosts, [&](const backup::BackupHost& h) {
    return std::none_of(payload.assignments.begin(), payload.assignments.end(),
                        [&](const auto& a) { return a.host == h.name; });
  });
  if (payload.hosts.empty()) payload.fleet_signing_key.reset();
}

void apply_fleet(store::Keystore& store, const backup::BackupPayload& payload,
                 const RestorePlan& plan) {
  if (!payload.fleet_signing_key) return;
  auto& db = store.database();
  const auto& k = *payload.fleet_signing_key;
  if (plan.fleet_signing_key.front().action == "skip") return;
  if (plan.fleet_signing_key.front().action == "create")
    store::insert_fleet_signing_key(
        db, {k.public_key, store.seal_secret(store::k_fleet_signing_purpose, k.private_key_pkcs8),
             k.created_at});
  const ossl::PKey signer = signing_key(k);

  for (std::size_t i = 0; i < payload.hosts.size(); ++i) {
    if (plan.hosts[i].action != "create") continue;
    const auto& h = payload.hosts[i];
    store::HostRecord row;
    row.name = h.name;
    row.algorithm = h.algorithm;
    row.public_key = h.public_key;
    row.public_key_sha256 = h.public_key_sha256;
    row.role = h.role;
    row.created_at = h.created_at;
    // PostgreSQL: the host's login role (its own, or the default for a host from a SQLite
    // store) gets its grants on this database, as host add gives them; a connection that may
    // not manage roles leaves that to `keysafe host grant NAME` (the plan says so).
    const bool on_postgresql = db.backend() == store::Backend::Postgresql;
    if (on_postgresql && !row.role) row.role = default_host_role(h.name);
    (void)store::insert_host(db, row);
    if (on_postgresql && row.role && store::may_create_roles(db))
      for (const auto& sql : store::host_role_setup_sql(db, *row.role)) db.exec(sql);
  }

  for (std::size_t i = 0; i < payload.assignments.size(); ++i) {
    if (plan.assignments[i].action != "create") continue;
    const auto& b = payload.assignments[i];
    const auto host = store::host_by_name(db, b.host);
    const auto key = store.key_by_spki(b.spki_sha256);
    if (!host || !key)
      throw Error(Errc::Internal, "the host or entry of the assignment to " +
                                      quoted(b.target_dir) + " was not restored");
    store::AssignmentRecord a;
    a.host_id = host->id;
    a.key_id = key->id;
    a.target_dir = b.target_dir;
    a.layout = b.layout;
    a.test_cmd = b.test_cmd;
    a.reload_cmd = b.reload_cmd;
    a.probe = b.probe;
    a.sni = b.sni;
    a.assigned_at = b.assigned_at;
    // Sealed and signed as `assign` does, bound to the key's row id in this store.
    const auto& pkcs8 = *entry_of(payload, b.entry, b.spki_sha256)->private_key_pkcs8;
    a.sealed_private_key = crypto::seal_to_host(
        host->public_key, pkcs8, store::host_seal_aad(*host, key->id, key->spki_sha256));
    a.signature = crypto::sign_ed25519(signer.get(),
                                       store::assignment_message(a, *host, key->spki_sha256));
    const std::int64_t id = store::save_assignment(db, a);
    if (!b.report) continue;
    store::HostReport r;
    r.assignment_id = id;
    r.state = b.report->state;
    r.deployed_fingerprint = b.report->deployed_fingerprint;
    r.served_fingerprint = b.report->served_fingerprint;
    for (const auto& f : b.report->files) r.files.push_back({f.path, f.sha256, f.role});
    r.error = b.report->error;
    r.reported_at = b.report->reported_at;
    store::save_host_report(db, r);
  }
}

}  // namespace keysafe::ops
