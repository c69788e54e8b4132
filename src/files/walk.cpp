// Directory walks without following links, and bounded reads of what they find.
#include "keysafe/files/walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "keysafe/error.hpp"
#include "keysafe/files/fd.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::files {
namespace {

using DirId = std::pair<dev_t, ino_t>;

// The names in the open directory `fd`, sorted (the output order should not depend on the
// file system). Reads a duplicate so that `fd` stays usable for openat.
std::optional<std::vector<std::string>> list_names(int fd) {
  const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return std::nullopt;
  DIR* dir = ::fdopendir(dup);
  if (dir == nullptr) {
    ::close(dup);
    return std::nullopt;
  }
  std::vector<std::string> names;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

void walk(int dir_fd, const std::filesystem::path& dir_path, int depth, const WalkLimits& limits,
          std::set<DirId>& seen, const std::function<void(const WalkedFile&)>& visit,
          std::vector<std::string>& skipped) {
  const auto names = list_names(dir_fd);
  if (!names) {
    skipped.push_back(dir_path.string() + ": cannot be read (" + std::strerror(errno) + ")");
    return;
  }
  for (const auto& name : *names) {
    struct stat st {};
    // The entry itself, never what a link points to.
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const auto path = dir_path / name;
    if (S_ISREG(st.st_mode)) {
      visit(WalkedFile{dir_fd, path, name, st.st_size});
    } else if (S_ISDIR(st.st_mode)) {
      if (depth >= limits.max_depth) {
        skipped.push_back(path.string() + ": deeper than " + std::to_string(limits.max_depth) +
                          " directories, not searched");
        continue;
      }
      Fd sub(::openat(dir_fd, name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
      struct stat sub_st {};
      if (!sub || ::fstat(sub.get(), &sub_st) != 0) {
        skipped.push_back(path.string() + ": cannot be opened (" + std::strerror(errno) + ")");
        continue;
      }
      if (!seen.insert({sub_st.st_dev, sub_st.st_ino}).second) continue;  // a bind-mount loop
      walk(sub.get(), path, depth + 1, limits, seen, visit, skipped);
    }
    // Symbolic links, devices, FIFOs and sockets are not backups: skipped.
  }
}

Fd open_regular(int dir_fd, const std::string& name, struct stat& st) {
  Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return Fd();
  return fd;
}

}  // namespace

void walk_regular_files(const std::filesystem::path& root, const WalkLimits& limits,
                        const std::function<void(const WalkedFile&)>& visit,
                        std::vector<std::string>& skipped) {
  // The root is what the administrator named: it may be a link (/var/backups -> /srv/...).
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0)
    throw Error(Errc::Io, "cannot search the directory \"" + root.string() + "\"",
                std::strerror(errno), "name a directory that exists and that you can read");
  std::set<DirId> seen{{st.st_dev, st.st_ino}};
  walk(fd.get(), root, 0, limits, seen, visit, skipped);
}

std::optional<Bytes> read_prefix_at(int dir_fd, const std::string& name, std::size_t limit) {
  struct stat st {};
  Fd fd = open_regular(dir_fd, name, st);
  if (!fd) return std::nullopt;
  Bytes out(std::min<std::size_t>(limit, static_cast<std::size_t>(st.st_size)));
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

std::optional<std::string> sha256_file_at(int dir_fd, const std::string& name, std::size_t limit) {
  struct stat st {};
  Fd fd = open_regular(dir_fd, name, st);
  if (!fd || static_cast<std::size_t>(st.st_size) > limit) return std::nullopt;
  ossl::MdCtx md(EVP_MD_CTX_new());
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return std::nullopt;
  std::uint8_t buf[65536];
  std::size_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total > limit || EVP_DigestUpdate(md.get(), buf, static_cast<std::size_t>(n)) != 1)
      return std::nullopt;
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(md.get(), digest, &len) != 1) return std::nullopt;
  return to_hex(std::span<const std::uint8_t>(digest, len));
}

}  // namespace keysafe::files
