// Reading input files with clear errors, and writing output files safely.
#pragma once

#include <filesystem>
#include <string_view>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ops {

inline constexpr std::size_t k_max_input_size = 64u << 20;

// The whole file; Errc::Io naming the file and the reason when it cannot be read.
Bytes read_input_file(const std::filesystem::path& path);

enum class Overwrite { Refuse, Allow };

// Writes `content` as a regular file: temp file in the same directory + fsync + rename,
// never through a symlink or over a directory or device. `mode` applies whatever the umask.
void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Overwrite overwrite);

}  // namespace keysafe::ops
