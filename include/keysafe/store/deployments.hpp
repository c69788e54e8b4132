// The deployments table: which entry's files were written where, and how to test, reload and
// probe the server that reads them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/database.hpp"

namespace keysafe::store {

struct DeployedFile {
  std::string path;    // absolute
  std::string sha256;  // hex of the bytes written
  std::string role;    // layout "files" only (keysafe adopt): key, cert, fullchain, chain, combined
};

// The layout of an adopted server's own files: each recorded file is written at its path with
// the content of its role (target_dir is then a label: the key file's path, made unique).
inline constexpr const char* k_files_layout = "files";

struct DeploymentRecord {
  std::int64_t id = 0;
  std::int64_t key_id = 0;
  std::string entry;       // the key's name (joined from keys)
  std::string target_dir;  // absolute, canonical
  std::string layout;
  std::vector<DeployedFile> files;
  std::optional<std::string> test_cmd;
  std::optional<std::string> reload_cmd;
  std::optional<std::string> probe;
  std::optional<std::string> sni;
  std::string certificate_fingerprint;
  std::int64_t deployed_at = 0;
};

// Every deployment (of one key when `key_id` is given), by entry name then directory.
std::vector<DeploymentRecord> deployments(Database& db,
                                          std::optional<std::int64_t> key_id = std::nullopt);
std::optional<DeploymentRecord> deployment_at(Database& db, const std::string& target_dir);

// Inserts or replaces the row of `record.target_dir` (call inside Keystore::write).
void save_deployment(Database& db, const DeploymentRecord& record);

// Moves the deployments of `from_key` to `to_key` (a renewal that swapped in a new key).
void reassign_deployments(Database& db, std::int64_t from_key, std::int64_t to_key);

}  // namespace keysafe::store
