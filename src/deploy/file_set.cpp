// A deployment's files: written one by one atomically, the previous contents kept in memory.
#include "keysafe/deploy/file_set.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "keysafe/error.hpp"
#include "keysafe/ops/files.hpp"

namespace keysafe::deploy {
namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

std::string_view view(const SecureBytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

struct Existing {
  SecureBytes content;
  struct stat st {};
};

// The file's bytes and status, nullopt when there is none; never follows a symlink.
std::optional<Existing> read_existing(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return std::nullopt;
    if (err == ELOOP)
      throw Error(Errc::Refused, "refusing to deploy over " + quoted(path), "it is a symbolic link",
                  "remove the link, or deploy to the directory it points into");
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(err),
                "check the permissions of the target directory");
  }
  Existing e;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  ::fstat(fd, &e.st);
  if (!S_ISREG(e.st.st_mode))
    throw Error(Errc::Refused, "refusing to deploy over " + quoted(path),
                "it is not a regular file (a directory, device or other special file)",
                "move it away, or deploy to another directory");
  std::uint8_t buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
    }
    if (n == 0) break;
    e.content.insert(e.content.end(), buf, buf + n);
    if (e.content.size() > ops::k_max_input_size)
      throw Error(Errc::Refused, "refusing to deploy over " + quoted(path),
                  "it is larger than any certificate or key file", "move it away");
  }
  OPENSSL_cleanse(buf, sizeof buf);
  return e;
}

}  // namespace

std::optional<std::string> file_sha256(const std::filesystem::path& path) {
  auto e = read_existing(path);
  if (!e) return std::nullopt;
  return to_hex(sha256(e->content));
}

FileSet FileSet::write(const std::filesystem::path& dir, const std::vector<DeployFile>& files) {
  FileSet set;
  // Read everything first: nothing is written unless every path can be taken back.
  for (const auto& f : files) {
    PreviousFile p;
    p.path = dir / f.name;
    if (auto e = read_existing(p.path)) {
      p.existed = true;
      p.content = std::move(e->content);
      p.mode = static_cast<unsigned>(e->st.st_mode & 07777);
      p.uid = e->st.st_uid;
      p.gid = e->st.st_gid;
      p.sha256 = to_hex(sha256(p.content));
    }
    set.m_previous.push_back(std::move(p));
  }
  std::size_t written = 0;
  try {
    for (const auto& f : files) {
      ops::write_file_atomically(dir / f.name, view(f.content), f.mode, ops::Overwrite::Allow);
      ++written;
    }
  } catch (...) {
    // Take back what was replaced so far; the original error is the one to report.
    FileSet partial;
    for (std::size_t i = 0; i < written; ++i)
      partial.m_previous.push_back(std::move(set.m_previous[i]));
    try {
      partial.restore();
    } catch (const Error&) {
    }
    throw;
  }
  return set;
}

void FileSet::restore() {
  // Only root may give a file to another user (chown(2)).
  const bool restore_owner = ::geteuid() == 0;
  std::string failures;
  for (const auto& p : m_previous) {
    try {
      if (p.existed) {
        std::optional<ops::FileOwner> owner;
        if (restore_owner) owner = ops::FileOwner{p.uid, p.gid};
        ops::write_file_atomically(p.path, view(p.content), p.mode, ops::Overwrite::Allow, owner);
        if (file_sha256(p.path) != p.sha256)
          throw Error(Errc::Io, "restored content differs");
        struct stat st {};
        if (::lstat(p.path.c_str(), &st) != 0 || (st.st_mode & 07777) != p.mode ||
            (owner && (st.st_uid != p.uid || st.st_gid != p.gid)))
          throw Error(Errc::Io, "restored mode or owner differs");
      } else if (::unlink(p.path.c_str()) != 0 && errno != ENOENT) {
        throw Error(Errc::Io, std::strerror(errno));
      }
    } catch (const Error& e) {
      failures += (failures.empty() ? "" : "; ") + quoted(p.path) + ": " + e.summary();
    }
  }
  if (!failures.empty())
    throw Error(Errc::Io, "could not restore the previous files", failures,
                "put the previous certificate and key back by hand before the server reloads");
}

}  // namespace keysafe::deploy
