// Backups (payload version 4) carry ACME: the accounts, each key opened from the store and
// re-encrypted with the backup like an entry's key, and each entry's ACME settings, so that a
// restored ACME entry renews from the restored store (docs/FORMAT.md, docs/ACME.md).
#pragma once

#include <string>
#include <vector>

#include "keysafe/backup/payload.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// The ACME settings of each of `keys`, and the accounts: every one with `whole_store`
// (backup --all), else those the settings name. Throws naming an account whose key does not
// open or does not match its recorded thumbprint.
void collect_acme(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                  bool whole_store, backup::BackupPayload& payload);

// Fills plan.acme_accounts and plan.acme_entries; plan.actions (the entries) must be planned
// already. `store` is null for a store that does not exist yet. An account whose name the store
// holds for the same account URL is "unchanged" (the store's key is kept: it may be the newer
// one after a rollover); for another URL "skip", as are the settings that use it. Throws
// Damaged for an account key that does not decode or match its thumbprint, or settings whose
// entry or account is not in the backup.
void plan_acme(store::Keystore* store, const backup::BackupPayload& payload, RestorePlan& plan);

// `restore --only`: the settings of the kept entries and the accounts they use.
void keep_acme_of(backup::BackupPayload& payload, const std::vector<std::string>& only);

// Writes what the plan creates, inside the restore's transaction after the entries; needs the
// store unlocked (account keys are sealed under the data key, the rows carry MACs).
void apply_acme(store::Keystore& store, const backup::BackupPayload& payload, const RestorePlan& plan);

}  // namespace keysafe::ops
