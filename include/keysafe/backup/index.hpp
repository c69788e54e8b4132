// The clear index written beside a recipient (CMS) backup, so that `find-key` can tell which
// backup holds a key without the recovery key. docs/FORMAT.md ("Backup index") describes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keysafe::backup {

// FILE.p7m has its index in FILE.p7m.index.json.
inline constexpr std::string_view k_index_suffix = ".index.json";
inline constexpr int k_index_version = 1;
// An index names entries and hashes only; anything larger is not one keysafe wrote.
inline constexpr std::size_t k_max_index_size = 1u << 20;

struct BackupIndex {
  std::string backup;         // the backup's file name (one component, in the same directory)
  std::string backup_sha256;  // SHA-256 of the backup file, lowercase hex
  std::int64_t created = 0;   // when the backup was made (Unix seconds)
  std::vector<std::string> names;
  std::vector<std::string> spki_sha256;  // one per name
  std::vector<bool> private_key;         // one per name: the entry's private key is in it
};

std::string encode_index(const BackupIndex& index);
// Errc::Damaged naming `source` when it is not a well-formed index; Unsupported for a newer one.
BackupIndex decode_index(std::span<const std::uint8_t> data, std::string_view source);

}  // namespace keysafe::backup
