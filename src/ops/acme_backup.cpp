// ACME accounts and entry settings in backups: collected beside the entries, restored after
// them in the same transaction, each account key sealed again under the restoring store's key.
#include "acme_backup.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "keysafe/acme/jws.hpp"
#include "keysafe/store/acme.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

[[noreturn]] void damaged(const std::string& what) {
  throw Error(Errc::Damaged, "the backup is damaged: " + what,
              "a backup names only entries and ACME accounts it holds, and each account key "
              "matches its recorded thumbprint",
              "use another copy of the backup");
}

// The account key, checked against its recorded RFC 7638 thumbprint.
void check_account_key(const backup::BackupAcmeAccount& a) {
  std::string thumbprint;
  try {
    const auto key = x509::private_key_from_pkcs8(a.private_key_pkcs8);
    thumbprint = acme::jwk_thumbprint(acme::public_jwk(key.get()));
  } catch (const Error&) {
    damaged("the key of the ACME account " + quoted(a.name) + " does not decode");
  }
  if (thumbprint != a.jwk_thumbprint)
    damaged("the key of the ACME account " + quoted(a.name) + " does not match its thumbprint");
}

const backup::BackupAcmeAccount* account_of(const backup::BackupPayload& payload,
                                            const std::string& name) {
  for (const auto& a : payload.acme_accounts)
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace

void collect_acme(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                  bool whole_store, backup::BackupPayload& payload) {
  auto& db = store.database();
  std::set<std::string> used;
  for (const auto& k : keys) {
    const auto e = store::acme_entry(db, k.id);
    if (!e) continue;
    payload.acme_entries.push_back({k.name, k.spki_sha256, e->account, e->directory_url,
                                    e->challenge, e->challenge_param, e->preferred_chain,
                                    e->order_url, e->updated_at});
    used.insert(e->account);
  }
  for (const auto& a : store::acme_accounts(db)) {
    if (!whole_store && used.count(a.name) == 0) continue;
    backup::BackupAcmeAccount b{a.name, a.directory_url, a.account_url, a.contact, a.status,
                                a.key_algorithm, a.jwk_thumbprint,
                                store.open_secret(store::acme_account_purpose(a.name),
                                                  a.sealed_private_key),
                                a.directory_ca_pem, a.created_at};
    check_account_key(b);  // a key that does not match is not backed up as if it did
    payload.acme_accounts.push_back(std::move(b));
  }
}

void plan_acme(store::Keystore* store, const backup::BackupPayload& payload, RestorePlan& plan) {
  std::map<std::string, std::string> account_action;  // backup account name -> action
  for (const auto& a : payload.acme_accounts) {
    check_account_key(a);
    RestoreItemAction item;
    item.name = a.name;
    const auto existing = store ? store::acme_account_by_name(store->database(), a.name)
                                : std::optional<store::AcmeAccountRecord>();
    if (!existing) {
      item.action = "create";
      item.detail = a.key_algorithm + " key " + a.jwk_thumbprint + ", " + a.account_url +
                    (a.directory_ca_pem ? " (with its directory CA file)" : "");
    } else if (existing->account_url == a.account_url) {
      item.action = "unchanged";
      item.detail = existing->jwk_thumbprint == a.jwk_thumbprint
                        ? "the store has this account"
                        : "the store has this account with another key (" +
                              existing->jwk_thumbprint + ", e.g. after a rollover): it is kept";
    } else {
      item.action = "skip";
      item.detail = "the store has another ACME account named " + quoted(a.name) + " (" +
                    existing->account_url + "): the backup's is not restored";
    }
    account_action[a.name] = item.action;
    plan.acme_accounts.push_back(std::move(item));
  }
  for (const auto& e : payload.acme_entries) {
    const auto entry = std::find_if(payload.entries.begin(), payload.entries.end(), [&](const auto& x) {
      return x.name == e.entry && x.spki_sha256 == e.spki_sha256;
    });
    if (entry == payload.entries.end())
      damaged("ACME settings name the entry " + quoted(e.entry) + ", which is not in it");
    if (account_of(payload, e.account) == nullptr)
      damaged("the ACME settings of " + quoted(e.entry) + " name the account " +
              quoted(e.account) + ", which is not in it");
    const auto& entry_action = plan.actions[static_cast<std::size_t>(entry - payload.entries.begin())];
    RestoreItemAction item;
    item.name = entry_action.name;
    const auto in_store = store ? store->key_by_spki(e.spki_sha256) : std::optional<store::KeyRecord>();
    const auto stored = in_store ? store::acme_entry(store->database(), in_store->id)
                                 : std::optional<store::AcmeEntryRecord>();
    if (entry_action.action == "conflict") {
      item.action = "skip";
      item.detail = "its entry is not restored";
    } else if (account_action[e.account] == "skip") {
      item.action = "skip";
      item.detail = "its account " + quoted(e.account) + " is not restored";
    } else if (stored) {
      item.action = stored->account == e.account && stored->challenge == e.challenge &&
                            stored->challenge_param == e.challenge_param &&
                            stored->preferred_chain == e.preferred_chain
                        ? "unchanged"
                        : "skip";
      item.detail = item.action == "unchanged"
                        ? "the store has these ACME settings"
                        : "the store has other ACME settings for this entry (account " +
                              quoted(stored->account) + ", " + stored->challenge + "): kept";
    } else {
      item.action = "create";
      item.detail = "account " + quoted(e.account) + ", " + e.challenge + " " + e.challenge_param;
    }
    plan.acme_entries.push_back(std::move(item));
  }
}

void keep_acme_of(backup::BackupPayload& payload, const std::vector<std::string>& only) {
  std::erase_if(payload.acme_entries, [&](const backup::BackupAcmeEntry& e) {
    return std::find(only.begin(), only.end(), e.entry) == only.end();
  });
  std::erase_if(payload.acme_accounts, [&](const backup::BackupAcmeAccount& a) {
    return std::none_of(payload.acme_entries.begin(), payload.acme_entries.end(),
                        [&](const auto& e) { return e.account == a.name; });
  });
}

void apply_acme(store::Keystore& store, const backup::BackupPayload& payload, const RestorePlan& plan) {
  auto& db = store.database();
  for (std::size_t i = 0; i < payload.acme_accounts.size(); ++i) {
    if (plan.acme_accounts[i].action != "create") continue;
    const auto& a = payload.acme_accounts[i];
    store::AcmeAccountRecord row;
    row.name = a.name;
    row.directory_url = a.directory_url;
    row.account_url = a.account_url;
    row.contact = a.contact;
    row.status = a.status;
    row.key_algorithm = a.key_algorithm;
    row.jwk_thumbprint = a.jwk_thumbprint;
    row.sealed_private_key = store.seal_secret(store::acme_account_purpose(a.name), a.private_key_pkcs8);
    row.directory_ca_pem = a.directory_ca_pem;
    row.created_at = a.created_at;
    (void)store::insert_acme_account(db, row);
  }
  for (std::size_t i = 0; i < payload.acme_entries.size(); ++i) {
    if (plan.acme_entries[i].action != "create") continue;
    const auto& e = payload.acme_entries[i];
    const auto key = store.key_by_spki(e.spki_sha256);
    const auto account = store::acme_account_by_name(db, e.account);
    if (!key || !account)
      throw Error(Errc::Internal, "the entry or account of the ACME settings of " + quoted(e.entry) +
                                      " was not restored");
    store::AcmeEntryRecord row;
    row.key_id = key->id;
    row.account_id = account->id;
    row.directory_url = e.directory_url;
    row.challenge = e.challenge;
    row.challenge_param = e.challenge_param;
    row.preferred_chain = e.preferred_chain;
    row.order_url = e.order_url;
    row.updated_at = e.updated_at;
    store::put_acme_entry(db, row);
  }
}

}  // namespace keysafe::ops
