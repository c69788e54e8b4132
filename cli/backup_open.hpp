// Opening a backup file for recover: the passphrase from --in-passphrase-file,
// KEYSAFE_IN_PASSPHRASE or the terminal, or the recovery key of a recipient backup.
#pragma once

#include <string>

#include "context.hpp"
#include "keysafe/backup/payload.hpp"

namespace keysafe::cli {

struct BackupSecrets {
  std::string in_passphrase_file;  // --in-passphrase-file ("" = not given)
  std::string recovery_key;        // --recovery-key ("" = not given)
};

// Decrypts and decodes `file` (the bytes of `path`). A damaged or newer file is reported
// before any prompt.
backup::BackupPayload open_backup_file(const Context& ctx, const std::string& path,
                                       const Bytes& file, const BackupSecrets& secrets);

}  // namespace keysafe::cli
