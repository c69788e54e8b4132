// Fleets, the administrator's side: hosts and their keys, assignments of entries to hosts
// (the entry's private key sealed to the host, the assignment signed by the store), the
// re-sealing a renewal needs, and the fleet's state from the agents' reports (docs/FLEET.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/deploy/layout.hpp"
#include "keysafe/store/fleet.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// Agents poll every 300 s unless told otherwise; a host silent for twice that is "silent".
inline constexpr std::int64_t k_default_agent_interval = 300;

struct HostAddResult {
  store::HostRecord host;
  std::filesystem::path key_file;
  bool signing_key_created = false;  // the store's first host: its fleet signing key was made
  // PostgreSQL: the host's login role (host.role) is created with its grants when this
  // connection may, else `role_sql` is what a database administrator runs.
  bool role_created = false;
  std::vector<std::string> role_sql;
};
// A new X25519 host key: its private half written to `key_out` (0600, never over a file) with
// the store's fleet signing public key, its public half stored. Needs unlock.
// `role` (PostgreSQL): the login role its agent uses; default keysafe_host_NAME. An existing
// role is used only when named.
HostAddResult add_host(store::Keystore& store, const std::string& name,
                       const std::filesystem::path& key_out, std::int64_t now,
                       const std::optional<std::string>& role = std::nullopt);

// A new X25519 key for an existing host (the old one leaked, or routine rotation): written to
// `key_out` as by add_host, every assignment's key sealed again to it and signed, in one
// transaction; the agents' reports stay, so the host's files remain its own. The old host key
// opens nothing from then on. Needs unlock.
HostAddResult rotate_host(store::Keystore& store, const std::string& name,
                          const std::filesystem::path& key_out, std::int64_t now);

struct HostView {
  store::HostRecord host;
  std::vector<store::AssignmentRecord> assignments;
  std::vector<store::HostEvent> events;  // newest first, at most 20 (show only)
};
std::vector<HostView> list_hosts(store::Keystore& store);
HostView show_host(store::Keystore& store, const std::string& name);

struct HostRemoveResult {
  HostView removed;  // what it held, whose keys may still be on the host
  // PostgreSQL: its login role loses its grants and is dropped (unless kept) in the same
  // transaction when this connection may manage roles; else `role_sql` is for an administrator.
  bool role_removed = false;
  // Why the role was kept although dropping it was asked (it still has privileges in another
  // database of the cluster, e.g. a copy of the store): empty when dropped or not asked.
  std::string role_kept_because;
  std::vector<std::string> role_sql;
};
// Removes the host with its assignments and reports (one transaction, audited).
HostRemoveResult remove_host(store::Keystore& store, const std::string& name, std::int64_t now,
                             bool keep_role = false);

struct AssignRequest {
  std::string entry;
  std::string host;
  std::filesystem::path target_dir;  // absolute, on the host
  deploy::Layout layout = deploy::Layout::Nginx;
  std::optional<std::string> test_cmd;
  std::optional<std::string> reload_cmd;
  std::optional<std::string> probe;  // HOST:PORT
  std::optional<std::string> sni;
  std::int64_t now = 0;
};
struct AssignResult {
  store::AssignmentRecord assignment;
  bool replaced = false;  // the entry was assigned to the host already: its fields replaced
};
// Seals the entry's private key to the host and signs the assignment. Needs unlock.
AssignResult assign_entry(store::Keystore& store, const AssignRequest& request);
// Returns the removed assignment.
store::AssignmentRecord unassign_entry(store::Keystore& store, const std::string& entry,
                                       const std::string& host, std::int64_t now);

// A renewal with a new key took the entry over (inside the caller's write transaction): every
// assignment of `old_key_id` moves to `new_key_id`, with the new key sealed to its host and
// signed again. Returns how many moved. Needs unlock when there is any.
std::size_t reseal_assignments(store::Keystore& store, store::Database& db,
                               std::int64_t old_key_id, std::int64_t new_key_id, std::int64_t now);

// One row of `keysafe fleet`: a host × an entry assigned to it.
struct FleetRow {
  std::string host;
  std::string entry;
  std::string target_dir;
  std::optional<std::string> newest_fingerprint;
  std::optional<std::string> deployed_fingerprint;
  std::optional<std::string> served_fingerprint;
  std::optional<std::int64_t> last_report;
  std::string state;  // current, stale, unreachable, failed, silent
  std::string detail;
};
std::vector<FleetRow> fleet_status(store::Keystore& store, std::int64_t silent_after,
                                   std::int64_t now);

}  // namespace keysafe::ops
