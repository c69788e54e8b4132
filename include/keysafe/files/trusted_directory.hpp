// A directory keysafe (running as root) may write into: reached from "/" component by component
// with O_NOFOLLOW, every directory on the way checked like OpenSSH's StrictModes, and kept open
// so that everything written, changed or removed afterwards is relative to the descriptor.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "keysafe/files/fd.hpp"

namespace keysafe::files {

// Errc::Refused when `st` (the directory `path`) belongs to a user other than root and the
// effective user, or is writable by group or others without the sticky bit.
void require_trusted_directory(const struct stat& st, const std::filesystem::path& path);

class TrustedDirectory final {
 public:
  // Walks `path` (relative paths from the working directory) from "/": each existing directory
  // must pass require_trusted_directory; a symlink is followed (at most 40) only when it
  // belongs to root or the effective user, and is read with readlinkat, never by the kernel's
  // path walk. Components that do not exist yet are recorded in missing(), to be made by
  // create_missing(). Errc::Refused for an untrusted directory or link, Errc::Usage when a
  // component is not a directory, Errc::Io when one cannot be opened.
  static TrustedDirectory resolve(const std::filesystem::path& path);

  // The directory's absolute path with its symlinks resolved (for messages and records).
  const std::filesystem::path& path() const noexcept { return m_path; }
  // The directories to create, outermost first; empty once created.
  const std::vector<std::filesystem::path>& missing() const noexcept { return m_missing; }
  bool exists() const noexcept { return m_missing.empty(); }
  // The open directory; -1 while it does not exist.
  int fd() const noexcept { return exists() ? m_fd.get() : -1; }

  // mkdirat + openat(O_NOFOLLOW) + fchmod(0755, whatever the umask: a server running as
  // another user must reach its files) for each missing directory, each checked once open.
  void create_missing();
  // Removes the directories create_missing() made, innermost first, while they are empty.
  // Returns what could not be removed (empty when all were), for the caller to report.
  std::vector<std::string> remove_created() noexcept;

 private:
  struct Created {
    Fd parent;
    std::string name;
    std::filesystem::path path;
  };

  Fd m_fd;  // the deepest existing directory; the target itself once it exists
  std::filesystem::path m_path;
  std::vector<std::filesystem::path> m_missing;
  std::vector<Created> m_created;
};

}  // namespace keysafe::files
