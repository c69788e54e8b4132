// Complete backups: CA roles (with issued records and revocations), deployments and settings,
// collected beside the entries and restored after them in the same transaction.
#include "store_roles.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "keysafe/deploy/layout.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/store/deployments.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

[[noreturn]] void damaged(const std::string& what) {
  throw Error(Errc::Damaged, "the backup is damaged: " + what,
              "a complete backup names only entries it holds", "use another copy of the backup");
}

// Backup entry name -> the name restore gives it in the store (merge, rename).
std::map<std::string, std::string> store_names(const backup::BackupPayload& payload,
                                               const RestorePlan& plan) {
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < payload.entries.size(); ++i)
    out[payload.entries[i].name] = plan.actions[i].name;
  return out;
}

const backup::BackupEntry* entry_of(const backup::BackupPayload& payload,
                                    const std::string& name, const std::string& spki) {
  for (const auto& e : payload.entries)
    if (e.name == name && e.spki_sha256 == spki) return &e;
  return nullptr;
}

// The user-facing name of a setting, as `keysafe config` spells it.
std::string setting_label(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return key;
}

std::string describe_setting(const backup::BackupSetting& s) {
  if (s.key == "recovery_certificate") {
    try {
      const auto cert = x509::certificate_from_der(s.value);
      return "the certificate " + x509::inspect_certificate(cert.get()).subject;
    } catch (const Error&) {
      ossl::clear_errors();
      return std::to_string(s.value.size()) + " bytes";
    }
  }
  const bool printable = std::all_of(s.value.begin(), s.value.end(),
                                     [](std::uint8_t c) { return c >= 0x20 && c != 0x7F; });
  if (printable) return std::string(s.value.begin(), s.value.end());
  return std::to_string(s.value.size()) + " bytes";
}

std::string describe_authority(const backup::BackupAuthority& a,
                               const std::optional<std::string>& parent_name) {
  const auto revoked = std::count_if(a.issued.begin(), a.issued.end(),
                                     [](const auto& r) { return r.revoked_at.has_value(); });
  std::string role = a.parent ? "intermediate CA under " + quoted(parent_name.value_or(*a.parent))
                              : std::string("root CA");
  return role + ", CRL number " + std::to_string(a.crl_number) + ", " +
         std::to_string(a.issued.size()) + " issued (" + std::to_string(revoked) + " revoked)";
}

}  // namespace

void check_backup_target(const std::string& what, const std::string& layout,
                         const std::string& target_dir) {
  try {
    (void)deploy::parse_layout(layout);
  } catch (const Error&) {
    damaged("the " + what + " to " + quoted(target_dir) + " has an unknown layout " +
            quoted(layout));
  }
  if (!std::filesystem::path(target_dir).is_absolute())
    damaged("the " + what + " target " + quoted(target_dir) + " is not an absolute path");
}

std::string describe_target(const std::string& layout, const std::optional<std::string>& test_cmd,
                            const std::optional<std::string>& reload_cmd,
                            const std::optional<std::string>& probe,
                            const std::optional<std::string>& sni) {
  std::string out = "layout " + layout;
  if (test_cmd) out += "; test `" + *test_cmd + "`";
  if (reload_cmd) out += "; reload `" + *reload_cmd + "`";
  if (probe) out += "; probe " + *probe + (sni ? " (SNI " + *sni + ")" : "");
  return out;
}

void collect_store_roles(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                         bool whole_store, backup::BackupPayload& payload) {
  auto& db = store.database();
  for (const auto& k : keys) {
    if (auto rec = store::authority(db, k.id)) {
      backup::BackupAuthority a;
      a.entry = k.name;
      a.spki_sha256 = k.spki_sha256;
      if (rec->parent_key_id) {
        a.parent = rec->parent_name;
        if (auto parent = store.key_by_name(rec->parent_name)) a.parent_spki_sha256 = parent->spki_sha256;
      }
      a.crl_number = rec->crl_number;
      a.created_at = rec->created_at;
      for (auto& r : store::issued_by(db, k.id))
        a.issued.push_back({r.serial, r.subject, r.fingerprint_sha256, r.key_name, r.not_after,
                            r.issued_at, r.revoked_at, r.revocation_reason});
      payload.authorities.push_back(std::move(a));
    }
    for (auto& d : store::deployments(db, k.id)) {
      backup::BackupDeployment b;
      b.entry = k.name;
      b.spki_sha256 = k.spki_sha256;
      b.target_dir = d.target_dir;
      b.layout = d.layout;
      for (const auto& f : d.files) b.files.push_back({f.path, f.sha256, f.role});
      b.test_cmd = d.test_cmd;
      b.reload_cmd = d.reload_cmd;
      b.probe = d.probe;
      b.sni = d.sni;
      b.certificate_fingerprint = d.certificate_fingerprint;
      b.deployed_at = d.deployed_at;
      payload.deployments.push_back(std::move(b));
    }
  }
  if (whole_store) {
    payload.scope = "store";
    for (auto& [key, value] : store.settings()) payload.settings.push_back({key, value});
  }
}

void plan_store_roles(store::Keystore* store, const backup::BackupPayload& payload,
                      RestorePlan& plan) {
  const auto names = store_names(payload, plan);
  const auto mapped = [&](const std::string& backup_name) {
    const auto it = names.find(backup_name);
    return it == names.end() ? backup_name : it->second;
  };

  for (const auto& a : payload.authorities) {
    if (entry_of(payload, a.entry, a.spki_sha256) == nullptr)
      damaged("the CA role of " + quoted(a.entry) + " has no entry in it");
    RestoreItemAction item;
    item.name = mapped(a.entry);
    // The parent is linked when its entry is in the backup or already in the store.
    std::optional<std::string> parent_name;
    if (a.parent) {
      if (a.parent_spki_sha256 && entry_of(payload, *a.parent, *a.parent_spki_sha256))
        parent_name = mapped(*a.parent);
      else if (auto p = store && a.parent_spki_sha256 ? store->key_by_spki(*a.parent_spki_sha256)
                                                      : std::optional<store::KeyRecord>())
        parent_name = p->name;
    }
    item.detail = describe_authority(a, parent_name);
    if (a.parent && !parent_name)
      item.detail += "; its issuing CA " + quoted(*a.parent) +
                     " is in neither the backup nor this store, so it is listed without it";
    const auto key = store ? store->key_by_spki(a.spki_sha256) : std::optional<store::KeyRecord>();
    const auto existing = key ? store::authority(store->database(), key->id)
                              : std::optional<store::AuthorityRecord>();
    if (!existing) {
      item.action = "create";
      plan.authorities.push_back(std::move(item));
      continue;
    }
    // The store has this CA already: what the backup adds to it (never removes).
    std::map<std::string, bool> revoked;  // serial -> revoked in the store
    for (const auto& r : store::issued_by(store->database(), key->id))
      revoked[r.serial] = r.revoked_at.has_value();
    std::size_t new_issued = 0;
    std::size_t new_revocations = 0;
    for (const auto& r : a.issued) {
      const auto it = revoked.find(r.serial);
      if (it == revoked.end()) ++new_issued;
      if (r.revoked_at && (it == revoked.end() || !it->second)) ++new_revocations;
    }
    const bool raises = a.crl_number > existing->crl_number;
    if (new_issued == 0 && new_revocations == 0 && !raises) {
      item.action = "unchanged";
      item.detail = "the store has this CA with every issued record and revocation of the backup";
    } else {
      item.action = "merge";
      item.detail = "the store has this CA already: " + std::to_string(new_issued) +
                    " issued record(s) and " + std::to_string(new_revocations) +
                    " revocation(s) to add" +
                    (raises ? "; CRL number raised to " + std::to_string(a.crl_number) : "");
    }
    plan.authorities.push_back(std::move(item));
  }

  for (const auto& d : payload.deployments) {
    if (entry_of(payload, d.entry, d.spki_sha256) == nullptr)
      damaged("the deployment to " + quoted(d.target_dir) + " has no entry in it");
    check_backup_target("deployment", d.layout, d.target_dir);
    RestoreItemAction item;
    item.name = mapped(d.entry);
    item.target = d.target_dir;
    const auto existing = store ? store::deployment_at(store->database(), d.target_dir)
                                : std::optional<store::DeploymentRecord>();
    if (!existing) {
      item.action = "create";
      item.detail = describe_target(d.layout, d.test_cmd, d.reload_cmd, d.probe, d.sni);
    } else {
      const auto key = store->key_by_spki(d.spki_sha256);
      if (key && key->id == existing->key_id) {
        item.action = "unchanged";
        item.detail = "the store records this deployment already";
      } else {
        item.action = "skip";
        item.detail = "the store already deploys " + quoted(existing->entry) + " to " +
                      quoted(d.target_dir) + "; the backup's deployment of " + quoted(d.entry) +
                      " there is not restored";
      }
    }
    plan.deployments.push_back(std::move(item));
  }

  for (const auto& s : payload.settings) {
    RestoreItemAction item;
    item.name = setting_label(s.key);
    const auto existing = store ? store->setting(s.key) : std::optional<Bytes>();
    if (!existing) {
      item.action = "create";
      item.detail = describe_setting(s);
    } else if (*existing == s.value) {
      item.action = "unchanged";
      item.detail = describe_setting(s);
    } else {
      item.action = "skip";
      item.detail = "the store's value is kept (the backup has " + describe_setting(s) +
                    "; change it with: keysafe config set " + item.name + " VALUE)";
    }
    plan.settings.push_back(std::move(item));
  }
}

std::string store_roles_summary(const RestorePlan& plan) {
  std::string out;
  const auto add = [&](const char* label, const std::vector<RestoreItemAction>& items) {
    if (items.empty()) return;
    std::map<std::string, std::size_t> counts;
    for (const auto& i : items) ++counts[i.action];
    std::string part;
    for (const auto& [action, n] : counts)
      part += (part.empty() ? "" : ", ") + std::to_string(n) + " " + action;
    out += std::string("; ") + label + ": " + part;
  };
  add("CA roles", plan.authorities);
  add("deployments", plan.deployments);
  add("settings", plan.settings);
  add("fleet signing key", plan.fleet_signing_key);
  add("hosts", plan.hosts);
  add("assignments", plan.assignments);
  add("ACME accounts", plan.acme_accounts);
  add("ACME settings", plan.acme_entries);
  return out;
}

void apply_store_roles(store::Keystore& store, const backup::BackupPayload& payload,
                       const RestorePlan& plan) {
  auto& db = store.database();
  const auto names = store_names(payload, plan);
  const auto key_of = [&](const std::string& spki, const std::string& what) {
    auto key = store.key_by_spki(spki);
    if (!key) throw Error(Errc::Internal, "the entry of " + what + " was not restored");
    return *key;
  };

  for (std::size_t i = 0; i < payload.authorities.size(); ++i) {
    const auto& action = plan.authorities[i].action;
    if (action != "create" && action != "merge") continue;
    const auto& a = payload.authorities[i];
    const auto key = key_of(a.spki_sha256, "the CA " + quoted(a.entry));
    if (!store::authority(db, key.id)) {
      std::optional<std::int64_t> parent_id;
      if (a.parent_spki_sha256)
        if (auto parent = store.key_by_spki(*a.parent_spki_sha256)) parent_id = parent->id;
      store::insert_authority(db, key.id, parent_id, a.created_at);
    }
    store::raise_crl_number(db, key.id, a.crl_number);
    std::map<std::string, bool> revoked;
    for (const auto& r : store::issued_by(db, key.id)) revoked[r.serial] = r.revoked_at.has_value();
    for (const auto& r : a.issued) {
      const auto it = revoked.find(r.serial);
      if (it == revoked.end()) {
        store::IssuedRecord row;
        row.authority_key_id = key.id;
        row.serial = r.serial;
        row.subject = r.subject;
        row.fingerprint_sha256 = r.fingerprint_sha256;
        if (r.key_name) {
          const auto n = names.find(*r.key_name);
          row.key_name = n == names.end() ? *r.key_name : n->second;
        }
        row.not_after = r.not_after;
        row.issued_at = r.issued_at;
        store::insert_issued(db, row);
      }
      // A revocation is never undone by a restore.
      if (r.revoked_at && (it == revoked.end() || !it->second))
        store::mark_revoked(db, key.id, r.serial, *r.revoked_at, r.revocation_reason);
    }
  }

  for (std::size_t i = 0; i < payload.deployments.size(); ++i) {
    if (plan.deployments[i].action != "create") continue;
    const auto& d = payload.deployments[i];
    store::DeploymentRecord row;
    row.key_id = key_of(d.spki_sha256, "the deployment to " + quoted(d.target_dir)).id;
    row.target_dir = d.target_dir;
    row.layout = d.layout;
    for (const auto& f : d.files) row.files.push_back({f.path, f.sha256, f.role});
    row.test_cmd = d.test_cmd;
    row.reload_cmd = d.reload_cmd;
    row.probe = d.probe;
    row.sni = d.sni;
    row.certificate_fingerprint = d.certificate_fingerprint;
    row.deployed_at = d.deployed_at;
    store::save_deployment(db, row);
  }

  for (std::size_t i = 0; i < payload.settings.size(); ++i)
    if (plan.settings[i].action == "create")
      store.set_setting(payload.settings[i].key, payload.settings[i].value);
}

}  // namespace keysafe::ops
