// deploy, redeploy, deployments and status: an entry's key and certificate where a server
// reads them, tested, reloaded and probed; and whether every target serves the newest one.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/deploy/layout.hpp"
#include "keysafe/deploy/probe.hpp"
#include "keysafe/store/deployments.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct DeployRequest {
  std::string name;
  std::filesystem::path target_dir;
  // Unset: what the earlier deployment to this directory used (layout defaults to nginx).
  // An empty command string removes the recorded one.
  std::optional<deploy::Layout> layout;
  std::optional<std::string> test_cmd;
  std::optional<std::string> reload_cmd;
  std::optional<std::string> probe;  // HOST:PORT
  std::optional<std::string> sni;
  bool force = false;  // overwrite files keysafe did not write, take over another entry's target
  // Write and record the files (commands and probe recorded too) without running the test
  // and reload commands or probing: recover writes every target's files first, because one
  // server's configuration test reads the files of all its sites.
  bool files_only = false;
  std::int64_t now = 0;
  std::chrono::milliseconds probe_patience{10000};
  std::chrono::milliseconds command_timeout{120000};
};

struct DeployResult {
  std::string name;
  store::DeploymentRecord record;  // as saved
  std::string serial;
  std::int64_t not_after = 0;
  bool replaced_own = false;     // an earlier deployment of keysafe was replaced
  bool forced = false;           // foreign files were overwritten (--force)
  std::vector<std::string> created_directories;  // made for this deployment (0755), outermost first
  std::optional<std::string> previous_fingerprint;
  bool tested = false;
  bool reloaded = false;
  std::optional<deploy::ProbeResult> probe;  // confirmed: the served leaf is the deployed one
  std::vector<std::string> warnings;
};

// Writes the files, runs the test command (failure: previous files restored, Errc::DeployFailed),
// the reload command (likewise), records the deployment and its audit row, then probes
// (a different certificate served: Errc::DeployFailed, the deployment stays recorded).
// Needs the store unlocked.
DeployResult deploy_entry(store::Keystore& store, const DeployRequest& request);

struct RedeployOutcome {
  std::string target_dir;
  std::optional<DeployResult> result;  // set on success
  std::optional<Error> error;          // set on failure; the other targets are still tried
};

// Deploys entry `name` again to every recorded target, with each target's recorded layout and
// commands (after a renewal; a renewal with a new key has moved the old key's deployments to
// the entry already, see ops::swap_in_renewal). Needs the store unlocked.
std::vector<RedeployOutcome> redeploy(store::Keystore& store, std::string_view name,
                                      std::int64_t now);

// One row of `keysafe deployments`.
struct DeploymentView {
  store::DeploymentRecord record;
  std::optional<std::string> current_fingerprint;  // the entry's newest certificate
  bool is_current = false;
};
std::vector<DeploymentView> list_deployments(store::Keystore& store);

// What `keysafe status` finds at one target.
struct TargetStatus {
  DeploymentView deployment;
  bool probed = false;  // false: no probe address; the files on disk were compared instead
  std::optional<deploy::ProbeResult> probe;
  std::optional<std::string> served_fingerprint;  // probe's, or the leaf in the files on disk
  std::string state;   // current, not-deployed, stale, unreachable
  std::string detail;  // one sentence for people
};
// `name`: that entry's targets only (NotFound if there is no such entry).
std::vector<TargetStatus> deployment_status(store::Keystore& store,
                                            std::optional<std::string> name,
                                            std::chrono::milliseconds timeout);

}  // namespace keysafe::ops
