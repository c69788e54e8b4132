// Reading input files with clear errors, and writing output files safely (regular files only,
// temp file + fsync + rename, explicit modes), by path or relative to an open directory.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::files {

inline constexpr std::size_t k_max_input_size = 64u << 20;

// The whole file; Errc::Io naming the file and the reason when it cannot be read, Errc::BadInput
// when it is larger than k_max_input_size.
Bytes read_input_file(const std::filesystem::path& path);

// The same for a file that may hold a private key or other secret: the bytes live in memory
// that is cleansed when freed.
SecureBytes read_secret_file(const std::filesystem::path& path);

enum class Overwrite { Refuse, Allow };

struct FileOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// Writes `content` as a regular file: temp file in the same directory + fsync + rename + fsync
// of the directory, never through a symlink or over a directory or device. `mode` applies
// whatever the umask. With `owner`, the file is given to that user and group before it takes
// the name (only root may give a file away: Errc::Io otherwise); without, it belongs to whoever
// runs keysafe. The directory part of `path` is opened once; everything after is relative to it.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Overwrite overwrite,
                           const std::optional<FileOwner>& owner = std::nullopt);

// The same in the open directory `dir_fd`; `name` is one path component (no '/'), and
// `dir_path` names the directory in messages only.
void write_file_at(int dir_fd, const std::filesystem::path& dir_path, const std::string& name,
                   std::string_view content, unsigned mode, Overwrite overwrite,
                   const std::optional<FileOwner>& owner = std::nullopt);

// What a regular file holds, read relative to `dir_fd` without following a symlink.
struct RegularFile {
  SecureBytes content;  // may be a private key
  struct stat status {};
};

// nullopt when there is no such file. Errc::Refused for a symlink or a non-regular file (or one
// larger than k_max_input_size), Errc::Io when it cannot be read.
std::optional<RegularFile> read_regular_at(int dir_fd, const std::filesystem::path& dir_path,
                                           const std::string& name);

// Removes `name` from `dir_fd` (never a directory); a missing file is not an error. Errc::Io
// naming the file otherwise.
void remove_file_at(int dir_fd, const std::filesystem::path& dir_path, const std::string& name);

}  // namespace keysafe::files
