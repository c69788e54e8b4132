// Walking a directory tree that may be hostile (a backup share anyone could fill): never
// through a symlink, regular files only, bounded depth, and each file read with a size bound.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::files {

// One regular file met by walk_regular_files: read it relative to `dir_fd` by `name`.
struct WalkedFile {
  int dir_fd = -1;
  std::filesystem::path path;  // for messages and output
  std::string name;            // one path component in dir_fd
  off_t size = 0;
};

struct WalkLimits {
  int max_depth = 32;  // directories below the root
};

// Calls `visit` for every regular file under `root`, in name order, recursively. Symbolic links
// (to files or directories) and special files are skipped, never followed: no loop and no
// escape from the tree. A directory met twice (a bind mount) is skipped. `skipped` receives one
// line per directory that could not be read or was too deep. Errc::Io when `root` itself
// cannot be opened as a directory.
void walk_regular_files(const std::filesystem::path& root, const WalkLimits& limits,
                        const std::function<void(const WalkedFile&)>& visit,
                        std::vector<std::string>& skipped);

// At most `limit` bytes from the start of the regular file `name` in `dir_fd` (opened with
// O_NOFOLLOW and O_NONBLOCK, so a link or FIFO put there after the walk is not read).
// nullopt when it cannot be opened or is not a regular file.
std::optional<Bytes> read_prefix_at(int dir_fd, const std::string& name, std::size_t limit);

// The SHA-256 (lowercase hex) of the whole regular file `name` in `dir_fd`, read in chunks;
// nullopt when it cannot be opened, is not a regular file or is larger than `limit`.
std::optional<std::string> sha256_file_at(int dir_fd, const std::string& name, std::size_t limit);

}  // namespace keysafe::files
