// Host key files (keysafe host add --key-out, keysafe agent --host-key): the host's X25519
// private key and the store's Ed25519 fleet signing public key, as two PEM blocks.
#pragma once

#include <filesystem>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::ops {

struct HostKeyFile {
  ossl::PKey host_key;        // X25519, private
  ossl::PKey signing_public;  // Ed25519, public: verifies the host's assignments
};

// Creates FILE (O_EXCL|O_NOFOLLOW, 0600 whatever the umask; Errc::AlreadyExists when anything
// is there).
void write_host_key_file(const std::filesystem::path& file, EVP_PKEY* host_key,
                         std::span<const std::uint8_t> signing_public_der);

// Reads FILE: refuses a symlink, a non-regular file or one that group or others can read
// (Errc::Refused), and anything but the two blocks above (Errc::BadInput).
HostKeyFile read_host_key_file(const std::filesystem::path& file);

}  // namespace keysafe::ops
