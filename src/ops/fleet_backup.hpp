// Complete backups (payload version 3) carry the fleet: the fleet signing key, hosts, and
// assignments with their agents' last reports. Restore keeps the signing key (every host key
// file pins it) and seals each assigned entry's key to its host again, signed as before.
#pragma once

#include <string>
#include <vector>

#include "keysafe/backup/payload.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// Every host, every assignment (with its report) and the fleet signing key's private half.
// Call only for a whole-store backup (backup --all): assignments name entries of `keys`.
void collect_fleet(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                   backup::BackupPayload& payload);

// Fills plan.fleet_signing_key, plan.hosts and plan.assignments; plan.actions (the entries)
// must be planned already. `store` is null for a store that does not exist yet. Throws Damaged
// for an assignment whose entry or host is not in the backup, or a signing key whose halves
// do not pair.
void plan_fleet(store::Keystore* store, const backup::BackupPayload& payload, RestorePlan& plan);

// `restore --only`: the assignments of the kept entries, the hosts they name, and the signing
// key when a host is left.
void keep_fleet_of(backup::BackupPayload& payload, const std::vector<std::string>& only);

// Writes what the plan creates; inside the restore's transaction, after the entries, with the
// store unlocked (the rows carry integrity MACs; the signing key is sealed under the data key).
void apply_fleet(store::Keystore& store, const backup::BackupPayload& payload,
                 const RestorePlan& plan);

}  // namespace keysafe::ops
