// Store-file reads through descriptors that are never closed (held_file.hpp says why).
#include "held_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <utility>

namespace keysafe::store::detail {

long read_held(const std::filesystem::path& path, std::uint64_t offset, void* buffer,
               std::size_t size) {
  static std::mutex mutex;
  static std::map<std::pair<dev_t, ino_t>, int> held;  // by file, whatever the path's spelling
  const std::lock_guard lock(mutex);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  int fd = -1;
  if (const auto it = held.find({st.st_dev, st.st_ino}); it != held.end()) {
    fd = it->second;
  } else {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    // Never closed (see the header); a file replaced under the same path gets its own.
    held.emplace(std::pair{st.st_dev, st.st_ino}, fd);
  }
  return static_cast<long>(::pread(fd, buffer, size, static_cast<off_t>(offset)));
}

}  // namespace keysafe::store::detail
