// keysafe recover: after a restore, every deployment the backup recorded is deployed again
// with deploy's own code (layout files, test command, reload command, probe).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keysafe/backup/payload.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/ops/deploy.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// One row of recover's table.
struct RecoverTarget {
  std::string entry;       // the entry's name in the store
  std::string target_dir;
  std::string result;      // "deployed", "failed", "skipped"; with --dry-run "would deploy"
  std::string detail;      // deployed: what confirmed it; failed: the reason; skipped: why
  std::optional<DeployResult> deployed;
};

// The deployments of the backup, in its order, as recover treats them: those restored (or
// already recorded the same way) "would deploy", those the restore plan skipped are "skipped".
std::vector<RecoverTarget> plan_redeployment(const backup::BackupPayload& payload,
                                             const RestorePlan& plan);

// Deploys every row plan_redeployment marked "would deploy" (each with its recorded layout,
// commands and probe, as `keysafe deploy` does); one failure does not stop the others. Needs
// the store unlocked and the restore applied.
void redeploy_recovered(store::Keystore& store, std::vector<RecoverTarget>& targets,
                        std::int64_t now);

}  // namespace keysafe::ops
