// Key files: a random secret in a 0600 file that unlocks a store without a passphrase, for
// unattended servers (timers, deploy hooks).
#pragma once

#include <filesystem>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ops {

// Reads FILE (64 hex digits). Refuses a file that group or others can read, a symlink, or a
// file with the wrong content.
SecureBytes read_key_file(const std::filesystem::path& file);

// Creates FILE (O_EXCL|O_NOFOLLOW, 0600 whatever the umask) with a fresh secret.
SecureBytes create_key_file(const std::filesystem::path& file);

}  // namespace keysafe::ops
