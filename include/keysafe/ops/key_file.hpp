// Key files: a random secret in a 0600 file that unlocks a store without a passphrase, for
// unattended servers (timers, deploy hooks).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// Reads FILE (64 hex digits). Refuses a file that group or others can read, a symlink, or a
// file with the wrong content.
SecureBytes read_key_file(const std::filesystem::path& file);

// Opens a file that holds a secret (a key file, a host key file) for reading: Errc::Io when it
// cannot be opened (a symlink named as such), Errc::Refused when it is not a regular file or
// group or others can read it (fix: chmod 600). `what` names it in messages ("key file"),
// `option` is where it was given ("--key-file / KEYSAFE_KEY_FILE"). Returns the descriptor.
int open_secret_file(const std::filesystem::path& file, const std::string& what,
                     const std::string& option);

// Creates FILE (O_EXCL|O_NOFOLLOW, 0600 whatever the umask) with a fresh secret.
SecureBytes create_key_file(const std::filesystem::path& file);

// `passwd --add-key-file FILE`: creates FILE (never over anything that exists there, a dangling
// symlink included: Errc::AlreadyExists) and adds a key slot for it to the unlocked `store`, with
// an audit row. When the slot cannot be added the new file is removed again.
void add_key_file(store::Keystore& store, const std::filesystem::path& file, std::int64_t now);

}  // namespace keysafe::ops
