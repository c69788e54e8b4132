// The fleet tables (schema v11): hosts, assignments with their sealed private keys, the fleet
// signing key, and the agents' reports and events; and the exact bytes that seal and signature
// bind (docs/FLEET.md, docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/database.hpp"
#include "keysafe/store/deployments.hpp"

namespace keysafe::store {

struct HostRecord {
  std::int64_t id = 0;
  std::string name;
  std::string algorithm;  // x25519
  Bytes public_key;       // SubjectPublicKeyInfo DER
  std::string public_key_sha256;
  std::optional<std::string> role;
  std::int64_t created_at = 0;
};

struct AssignmentRecord {
  std::int64_t id = 0;
  std::int64_t host_id = 0;
  std::int64_t key_id = 0;
  std::string host;   // joined from hosts
  std::string entry;  // joined from keys
  std::string target_dir;
  std::string layout;
  std::optional<std::string> test_cmd;
  std::optional<std::string> reload_cmd;
  std::optional<std::string> probe;
  std::optional<std::string> sni;
  Bytes sealed_private_key;
  Bytes signature;
  std::int64_t assigned_at = 0;
};

struct HostReport {
  std::int64_t assignment_id = 0;
  std::string state;  // current, stale, unreachable, failed
  std::optional<std::string> deployed_fingerprint;
  std::optional<std::string> served_fingerprint;
  std::vector<DeployedFile> files;
  std::optional<std::string> error;
  std::int64_t reported_at = 0;
};

struct HostEvent {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string host;
  std::string action;
  std::string entry;
  std::string detail;
};

struct FleetSigningKey {
  Bytes public_key;  // Ed25519 SubjectPublicKeyInfo DER
  Bytes sealed_private_key;
  std::int64_t created_at = 0;
};

std::optional<FleetSigningKey> fleet_signing_key(Database& db);
// The public half only: all a host role may read (an agent checks signatures with it).
std::optional<Bytes> fleet_signing_public_key(Database& db);
void insert_fleet_signing_key(Database& db, const FleetSigningKey& key);

std::vector<HostRecord> hosts(Database& db);
std::optional<HostRecord> host_by_name(Database& db, std::string_view name);
std::int64_t insert_host(Database& db, const HostRecord& host);
// PostgreSQL: the SQL that gives host role `role` exactly what its agent needs (schema v12's
// row-level security limits the rows): login, read its assignments and the public rows of its
// entries, write its reports and events. Empty on SQLite, which has no roles.
std::vector<std::string> host_role_sql(Database& db, const std::string& role);
// PostgreSQL: the SQL that takes back what host_role_sql granted `role` in this store's schema
// (table grants take their column grants with them), then drops the role unless `keep_role`
// (always the last statement).
std::vector<std::string> host_role_removal_sql(Database& db, const std::string& role,
                                               bool keep_role);
// Whether this connection may create roles (CREATEROLE or superuser). False on SQLite.
bool may_create_roles(Database& db);
// Quotes a PostgreSQL identifier ("" doubled).
std::string quote_identifier(std::string_view name);

// A new public key for host `host.id` (its assignments must be sealed again).
void update_host_key(Database& db, const HostRecord& host);
// Its assignments and their reports go with it (ON DELETE CASCADE).
void delete_host(Database& db, std::int64_t host_id);

// By host name then entry name; only one host's, or one key's, when given.
std::vector<AssignmentRecord> assignments(Database& db,
                                          std::optional<std::int64_t> host_id = std::nullopt,
                                          std::optional<std::int64_t> key_id = std::nullopt);
std::optional<AssignmentRecord> assignment(Database& db, std::int64_t host_id, std::int64_t key_id);
// Inserts, or replaces the row of (host_id, key_id); returns its id.
std::int64_t save_assignment(Database& db, const AssignmentRecord& a);
void delete_assignment(Database& db, std::int64_t id);
// A renewal's new key in assignment `a.id` (key, sealed copy, signature, time): its report stays.
void move_assignment_key(Database& db, const AssignmentRecord& a);

// `unassign` records the files the host's agent last wrote for the assignment (a host event,
// action "released", detail the JSON list of path and sha256), so that a later assignment to
// the same directory may replace exactly those files; released_files reads them back.
void add_released_files(Database& db, const HostEvent& event, const std::vector<DeployedFile>& files);
std::vector<DeployedFile> released_files(Database& db, const std::string& host);

std::optional<HostReport> host_report(Database& db, std::int64_t assignment_id);
void save_host_report(Database& db, const HostReport& report);

void add_host_event(Database& db, const HostEvent& event);
// Newest first; one host's when given; at most `limit`.
std::vector<HostEvent> host_events(Database& db, std::optional<std::string> host,
                                   std::size_t limit);

// An assigned entry as its host's agent may read it (public columns only).
struct AssignedEntry {
  std::int64_t key_id = 0;
  std::string name;
  std::string spki_sha256;
  std::optional<std::int64_t> certificate_id;  // the current certificate
  std::string fingerprint_sha256;              // of the current certificate
  std::string certificate_spki_sha256;
};
std::optional<AssignedEntry> assigned_entry(Database& db, std::int64_t key_id);

// Whether this connection's role is a host's (PostgreSQL row-level security applies to it).
bool connected_as_host(Database& db);
// A host role's refusal, recorded under its own host name whatever it claims
// (keysafe_host_refused, SECURITY DEFINER).
void record_refusal_as_host(Database& db, const std::string& entry, const std::string& detail);

// What a host's sealed copy of key `key_id` is bound to: the host (name and public key) and
// the key (row id and public-key hash). A copy moved to another host or key does not open.
Bytes host_seal_aad(const HostRecord& host, std::int64_t key_id, std::string_view spki_sha256);
// What the fleet signing key signs for an assignment: every field the agent acts on, the
// host, the key, and a hash of the sealed copy.
Bytes assignment_message(const AssignmentRecord& a, const HostRecord& host,
                         std::string_view spki_sha256);

}  // namespace keysafe::store
