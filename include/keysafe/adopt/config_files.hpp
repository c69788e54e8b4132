// What the readers of servers' configurations share: a directive tree, the limits on what an
// include may pull in, reading one file under those limits, and glob(3) expansion in the
// sorted order nginx and Apache both rely on.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace keysafe::adopt {

struct Directive {
  std::string name;
  std::vector<std::string> args;
  std::string file;  // where it is written, for messages
  int line = 0;
  bool has_block = false;
  std::vector<Directive> block;
};

struct ConfigLoadLimits {
  int max_include_depth = 16;
  std::size_t max_files = 4096;
  std::size_t max_total_bytes = 64u << 20;
};

// "\"FILE\" line N", for messages.
std::string config_where(const std::string& file, int line);

// The file's text; Errc::Io when it cannot be read, Errc::BadInput when it is longer than
// limit bytes. server names the configuration in messages ("nginx", "Apache").
std::string read_config_text(const std::filesystem::path& path, std::size_t limit,
                             const std::string& server);

bool has_glob(const std::string& pattern);

// The paths matching pattern, sorted (an empty list when nothing matches); a pattern without
// wildcards is returned as it is, whether it exists or not.
std::vector<std::filesystem::path> glob_sorted(const std::filesystem::path& pattern,
                                               const std::string& where);

}  // namespace keysafe::adopt
