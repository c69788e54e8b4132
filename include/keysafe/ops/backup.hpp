// keysafe backup and restore: the complete key, portable, encrypted and verified.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/backup/payload.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// Entries to back up: the named ones (NotFound for an unknown name) or all.
std::vector<store::KeyRecord> select_entries(store::Keystore& store,
                                             const std::vector<std::string>& names, bool all);

// Reads every selected entry out of the (unlocked) store, opening and checking each key.
backup::BackupPayload collect_backup(store::Keystore& store,
                                     const std::vector<store::KeyRecord>& keys, std::int64_t now);

struct BackupTarget {
  std::optional<SecureBytes> passphrase;  // passphrase mode
  crypto::KdfParams kdf;
  X509* recipient = nullptr;              // recipient mode (CMS)
};

struct BackupResult {
  std::filesystem::path file;
  std::size_t entries = 0;
  std::size_t private_keys = 0;
  std::size_t certificates = 0;
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
                          bool force, std::int64_t now);

// One line per entry of what `restore` would do or did.
struct RestoreAction {
  std::string name;        // the name in the store after restore
  std::string backup_name; // the name in the backup
  std::string action;      // "create", "merge", "unchanged", "rename", "conflict"
  std::string detail;
};

struct RestorePlan {
  std::vector<RestoreAction> actions;
  bool has_conflict = false;
};

// Checks every key opens and pairs with its certificates (Damaged otherwise) and plans
// against the store: same public key = merge, never duplicate; same name with another key =
// conflict unless `rename`.
RestorePlan plan_restore(store::Keystore& store, const backup::BackupPayload& payload,
                         std::string_view source, bool rename);

// `restore --only`: NotFound naming the backup's entries when a name in `only` is not one of
// `in_backup`. keep_only_entries drops every other entry from the payload (nothing when
// `only` is empty).
void check_only_names(const std::vector<std::string>& in_backup,
                      const std::vector<std::string>& only, std::string_view source);
void keep_only_entries(backup::BackupPayload& payload, const std::vector<std::string>& only,
                       std::string_view source);

// `restore --dry-run` where there is no store yet: the same checks, every entry "create".
RestorePlan plan_restore_into_new_store(const backup::BackupPayload& payload,
                                        std::string_view source);

// Applies the plan in one transaction. The store must be unlocked.
std::vector<store::MergeOutcome> apply_restore(store::Keystore& store,
                                               const backup::BackupPayload& payload,
                                               const RestorePlan& plan, std::int64_t now);

}  // namespace keysafe::ops
