// keysafe agent: on a host, with its host key and no store passphrase, deploys the newest
// certificate of every entry assigned to it, with the same file, test, reload, rollback and
// probe steps as deploy, and reports per assignment (docs/FLEET.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ops/host_key.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct AgentOptions {
  std::string host;
  std::int64_t now = 0;
  std::chrono::milliseconds probe_patience{10000};
  std::chrono::milliseconds command_timeout{120000};
};

struct AgentOutcome {
  std::string entry;
  std::string target_dir;
  std::string state;  // current, stale, unreachable, failed
  bool deployed = false;  // files written (and the server tested and reloaded) in this run
  std::optional<std::string> newest_fingerprint;
  std::optional<std::string> served_fingerprint;
  std::string detail;
};

struct AgentRun {
  std::vector<AgentOutcome> outcomes;
  std::size_t keys_opened = 0;  // sealed copies opened: one per deployed entry, none when current
  // As `keysafe status`: 1 when any failed, else 13 when any is unreachable, 12 when any is
  // stale, 0 when all are current.
  int exit_code() const;
};

// One pass. Refuses (Errc::Refused, recorded as a host event) a host key that is not the
// host's or a fleet signing key that is not the store's; a single assignment that fails its
// signature or seal is refused alone (state failed, recorded) and the others go on.
AgentRun run_agent_once(store::Keystore& store, const HostKeyFile& key, const AgentOptions& options);

}  // namespace keysafe::ops
