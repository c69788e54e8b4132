// keysafe backup and restore: the complete key, portable, encrypted and verified.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "keysafe/backup/payload.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// Entries to back up: the named ones (NotFound for an unknown name) or all.
std::vector<store::KeyRecord> select_entries(store::Keystore& store,
                                             const std::vector<std::string>& names, bool all);

// Reads every selected entry out of the (unlocked) store, opening and checking each key, with
// the CA role and the deployments of each; `whole_store` (backup --all) adds the settings.
backup::BackupPayload collect_backup(store::Keystore& store,
                                     const std::vector<store::KeyRecord>& keys, std::int64_t now,
                                     bool whole_store = false);

struct BackupTarget {
  std::optional<SecureBytes> passphrase;  // passphrase mode
  crypto::KdfParams kdf;
  X509* recipient = nullptr;              // recipient mode (CMS)
  // `backup -o -`: the sealed bytes go to this stream after they verified in memory (no file,
  // no index beside it); `file` is then only a name for messages.
  std::ostream* stream = nullptr;
};

struct BackupResult {
  std::filesystem::path file;
  std::size_t entries = 0;
  std::size_t private_keys = 0;
  std::size_t certificates = 0;
  std::size_t authorities = 0;  // local CAs, with their issued records
  std::size_t issued = 0;
  std::size_t deployments = 0;
  std::size_t settings = 0;
  std::size_t hosts = 0;        // backup --all: the fleet's hosts and assignments
  std::size_t assignments = 0;
  std::size_t acme_accounts = 0;  // ACME accounts (their keys) and entries' ACME settings
  std::size_t acme_entries = 0;
  std::string verification;  // what the read-back check proved
  std::filesystem::path index_file;  // recipient backups: the clear index beside the file
};

// Writes FILE.index.json beside a recipient backup (docs/FORMAT.md "Backup index"): its
// entries' names and SPKI hashes, its date and the SHA-256 of `backup_bytes`. Atomic, 0600.
std::filesystem::path write_backup_index(const std::filesystem::path& backup_file,
                                         std::span<const std::uint8_t> backup_bytes,
                                         std::int64_t created,
                                         const std::vector<std::string>& names,
                                         const std::vector<std::string>& spki_sha256,
                                         const std::vector<bool>& private_key);

// Seals, writes 0600 (temp + fsync + link/rename, never over a file without `force`), reads
// the file back and verifies it, then records the backup time of every key in it.
BackupResult write_backup(store::Keystore& store, const std::vector<store::KeyRecord>& keys,
                          const BackupTarget& target, const std::filesystem::path& file,
                          bool force, std::int64_t now, bool whole_store = false);

// One line per entry of what `restore` would do or did.
struct RestoreAction {
  std::string name;        // the name in the store after restore
  std::string backup_name; // the name in the backup
  std::string action;      // "create", "merge", "unchanged", "rename", "conflict"
  std::string detail;
};

// What restore does with a CA role, a deployment or a setting of a complete backup (payload
// version 2); one per item of the payload, in its order.
struct RestoreItemAction {
  // CA role: the CA's entry in the store; deployment, assignment: the entry; setting: its key;
  // host: its name; fleet signing key: "fleet-signing-key"
  std::string name;
  std::string target;  // deployment, assignment: the target directory; empty otherwise
  std::string host;    // assignment: the host; empty otherwise
  std::string action;  // "create", "merge", "unchanged", "skip"
  std::string detail;
};

struct RestorePlan {
  std::vector<RestoreAction> actions;
  std::vector<RestoreItemAction> authorities;  // parallel to payload.authorities
  std::vector<RestoreItemAction> deployments;  // parallel to payload.deployments
  std::vector<RestoreItemAction> settings;     // parallel to payload.settings
  std::vector<RestoreItemAction> fleet_signing_key;  // one when payload.fleet_signing_key
  std::vector<RestoreItemAction> hosts;              // parallel to payload.hosts
  std::vector<RestoreItemAction> assignments;        // parallel to payload.assignments
  // ACME account: its name; ACME settings: the entry's name in the store
  std::vector<RestoreItemAction> acme_accounts;      // parallel to payload.acme_accounts
  std::vector<RestoreItemAction> acme_entries;       // parallel to payload.acme_entries
  bool has_conflict = false;
  // Whether applying writes a row the store's integrity MACs or sealing cover (the store
  // must then be unlocked).
  bool needs_unlock(const backup::BackupPayload& payload) const;
};

// Checks every key opens and pairs with its certificates (Damaged otherwise) and plans
// against the store: same public key = merge, never duplicate; same name with another key =
// conflict unless `rename`. CA roles join their entry (issued records and revocations are
// added, never removed; the CRL number only rises); a deployment whose target directory the
// store already deploys to is skipped, as is a setting the store has with another value.
RestorePlan plan_restore(store::Keystore& store, const backup::BackupPayload& payload,
                         std::string_view source, bool rename);
// The same plan for a store that does not exist yet (everything is created).
RestorePlan plan_restore(const backup::BackupPayload& payload, std::string_view source);

// `restore --only`: NotFound naming the backup's entries when a name in `only` is not one of
// `in_backup`. keep_only_entries drops every other entry from the payload (nothing when
// `only` is empty).
void check_only_names(const std::vector<std::string>& in_backup,
                      const std::vector<std::string>& only, std::string_view source);
void keep_only_entries(backup::BackupPayload& payload, const std::vector<std::string>& only,
                       std::string_view source);

// The backup file a restore reads, as its audit event names it.
struct RestoreSource {
  std::string file;
  std::string sha256;  // hex, of the file's bytes
};

// Applies the plan in one transaction with one audit event, "restored from FILE (sha256 ...,
// made ...)"; the backup's own audit chain is not replayed. The store must be unlocked when
// plan.needs_unlock(payload).
std::vector<store::MergeOutcome> apply_restore(store::Keystore& store,
                                               const backup::BackupPayload& payload,
                                               const RestorePlan& plan,
                                               const RestoreSource& source, std::int64_t now);

}  // namespace keysafe::ops
