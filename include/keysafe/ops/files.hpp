// Reading input files with clear errors, and writing output files safely.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ops {

inline constexpr std::size_t k_max_input_size = 64u << 20;

// The whole file; Errc::Io naming the file and the reason when it cannot be read.
Bytes read_input_file(const std::filesystem::path& path);

enum class Overwrite { Refuse, Allow };

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Writes `content` as a regular file: temp file in the same directory + fsync + rename,
// never through a symlink or over a directory or device. `mode` applies whatever the umask.
// With `owner`, the file is given to that user and group before it takes the name (only root
// may give a file away: Errc::Io otherwise); without, it belongs to whoever runs keysafe.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Overwrite overwrite,
                           const std::optional<FileOwner>& owner = std::nullopt);

}  // namespace keysafe::ops
