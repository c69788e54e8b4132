// File input and safe output (regular files only, atomic replace, explicit modes).
#include "keysafe/ops/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "keysafe/error.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

class Fd final {
 public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd;
};

}  // namespace

Bytes read_input_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(err),
                err == ENOENT ? "check the file name" : "check the file's permissions");
  }
  struct stat st {};
  ::fstat(fd.get(), &st);
  if (S_ISDIR(st.st_mode))
    throw Error(Errc::Io, "cannot read " + quoted(path), "it is a directory", "give a file");
  Bytes data;
  std::uint8_t buf[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
    }
    if (n == 0) break;
    data.insert(data.end(), buf, buf + n);
    if (data.size() > k_max_input_size)
      throw Error(Errc::BadInput, quoted(path) + " is too large",
                  "keysafe reads files of at most " + std::to_string(k_max_input_size >> 20) +
                      " MiB; certificates and keys are far smaller",
                  "check that this is the right file");
  }
  return data;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Overwrite overwrite,
                           const std::optional<FileOwner>& owner) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode))
      throw Error(Errc::Refused, "refusing to write " + quoted(path), "it is a symbolic link",
                  "write to the link's target directly, or choose another path");
    if (!S_ISREG(st.st_mode))
      throw Error(Errc::Refused, "refusing to write " + quoted(path),
                  "it is not a regular file (a directory, device or other special file)",
                  "choose a path for a new regular file");
    if (overwrite == Overwrite::Refuse)
      throw Error(Errc::AlreadyExists, quoted(path) + " already exists",
                  "keysafe does not overwrite files unless told to",
                  "choose another name with -o, or add --force to replace it");
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string tmpl = (dir / ("." + path.filename().string() + ".keysafe-XXXXXX")).string();
  Fd fd(::mkstemp(tmpl.data()));
  if (fd.get() < 0)
    throw Error(Errc::Io, "cannot write in " + quoted(dir), std::strerror(errno),
                "check that the directory exists and is writable");
  const std::filesystem::path tmp = tmpl;
  try {
    // Owner first: changing it may clear set-user-ID and set-group-ID bits that fchmod sets.
    if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0)
      throw Error(Errc::Io, "cannot set the owner of " + quoted(path),
                  "uid " + std::to_string(owner->uid) + ", gid " + std::to_string(owner->gid) +
                      ": " + std::strerror(errno),
                  "only root can give a file to another user");
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
      throw Error(Errc::Io, "cannot set the mode of " + quoted(tmp), std::strerror(errno));
    std::size_t off = 0;
    while (off < content.size()) {
      const ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw Error(Errc::Io, "cannot write " + quoted(path), std::strerror(errno),
                    "check free space and permissions");
      }
      off += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0)
      throw Error(Errc::Io, "cannot write " + quoted(path), std::strerror(errno));
    ::close(fd.release());
    if (overwrite == Overwrite::Refuse) {
      // link() fails if the name appeared meanwhile, so a racing file is never replaced.
      if (::link(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        throw Error(err == EEXIST ? Errc::AlreadyExists : Errc::Io,
                    "cannot create " + quoted(path), std::strerror(err),
                    err == EEXIST ? "choose another name with -o, or add --force" : "");
      }
      ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
      throw Error(Errc::Io, "cannot replace " + quoted(path), std::strerror(errno));
    }
    Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dirfd.get() >= 0) ::fsync(dirfd.get());
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace keysafe::ops
