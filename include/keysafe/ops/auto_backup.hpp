// Automatic backups: with a recovery certificate and a backup directory configured, every
// command that creates, imports or installs a key writes a fresh backup of it there, encrypted
// to the recovery certificate, so no key ever exists only in the store.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

inline constexpr std::string_view k_setting_recovery_certificate = "recovery_certificate";
inline constexpr std::string_view k_setting_backup_dir = "backup_dir";

struct AutoBackupConfig {
  ossl::Cert recipient;
  std::filesystem::path dir;
};

// Both settings present, or nothing.
std::optional<AutoBackupConfig> auto_backup_config(store::Keystore& store);

// Writes DIR/NAME-YYYYMMDDTHHMMSSZ.p7m for the entry (store unlocked) and records it.
std::filesystem::path auto_backup(store::Keystore& store, const AutoBackupConfig& config,
                                  const std::string& name, std::int64_t now);

}  // namespace keysafe::ops
