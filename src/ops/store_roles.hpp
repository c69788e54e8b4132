// Complete backups (payload version 2): what a store holds beside its entries — the CA role of
// an entry with what it issued, deployments and settings — collected into a backup and
// restored after the entries (src/ops/backup.cpp drives both).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keysafe/backup/payload.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// The CA role and deployments of each of `keys`; with `whole_store`, every setting too.
void collect_store_roles(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                         bool whole_store, backup::BackupPayload& payload);

// Fills plan.authorities, plan.deployments and plan.settings; plan.actions (the entries) must
// be planned already, as CA roles and deployments follow their entry's name in the store.
// `store` is null for a store that does not exist yet. Throws Damaged for a CA role or
// deployment whose entry is not in the backup.
void plan_store_roles(store::Keystore* store, const backup::BackupPayload& payload,
                      RestorePlan& plan);

// Damaged unless `layout` is one keysafe knows and `target_dir` is absolute (`what`:
// "deployment", "assignment").
void check_backup_target(const std::string& what, const std::string& layout,
                         const std::string& target_dir);

// "layout nginx; test `nginx -t`; reload `...`; probe HOST:PORT (SNI NAME)": what restore says
// of a deployment or assignment it creates.
std::string describe_target(const std::string& layout, const std::optional<std::string>& test_cmd,
                            const std::optional<std::string>& reload_cmd,
                            const std::optional<std::string>& probe,
                            const std::optional<std::string>& sni);

// "; CA roles: 1 create; deployments: 2 create, 1 skip" for the audit event ("" when none).
std::string store_roles_summary(const RestorePlan& plan);

// Writes what the plan creates or merges; call inside the restore's transaction, after the
// entries are merged. Needs the store unlocked (the rows carry integrity MACs).
void apply_store_roles(store::Keystore& store, const backup::BackupPayload& payload,
                       const RestorePlan& plan);

}  // namespace keysafe::ops
