// Automatic recipient-encrypted backups after each key-changing command.
#include "keysafe/ops/auto_backup.hpp"

#include <ctime>

#include "keysafe/ops/backup.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::ops {

std::optional<AutoBackupConfig> auto_backup_config(store::Keystore& store) {
  const auto cert = store.setting(k_setting_recovery_certificate);
  const auto dir = store.setting(k_setting_backup_dir);
  if (!cert || !dir) return std::nullopt;
  AutoBackupConfig config;
  config.recipient = x509::certificate_from_der(*cert);
  config.dir = std::string(dir->begin(), dir->end());
  return config;
}

std::filesystem::path auto_backup(store::Keystore& store, const AutoBackupConfig& config,
                                  const std::string& name, std::int64_t now) {
  const auto keys = select_entries(store, {name}, false);
  const auto t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::filesystem::path file = config.dir / (name + "-" + stamp + ".p7m");
  for (int n = 2; std::filesystem::exists(std::filesystem::symlink_status(file)); ++n)
    file = config.dir / (name + "-" + stamp + "-" + std::to_string(n) + ".p7m");
  BackupTarget target;
  target.recipient = config.recipient.get();
  try {
    write_backup(store, keys, target, file, false, now);
  } catch (const Error& e) {
    throw Error(e.code(), "the automatic backup of \"" + name + "\" failed: " + e.summary(),
                e.cause(),
                "the key is in the store; fix the backup directory (keysafe config show), then "
                "run: keysafe backup " + name + " --recipient RECOVERY-CERT -o FILE");
  }
  return file;
}

}  // namespace keysafe::ops
