// File input and safe output (regular files only, atomic replace, explicit modes), relative to
// an open directory descriptor so that a path swapped after a check cannot redirect a write.
#include "keysafe/files/io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/crypto.h>

#include "keysafe/error.hpp"
#include "keysafe/files/fd.hpp"

namespace keysafe::files {
namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

// Reads all of `fd` into `out`; false (errno set) on a read error. Stops past `limit` bytes.
template <class Buffer>
bool read_all(int fd, Buffer& out, std::size_t limit) {
  std::uint8_t buf[16384];
  bool ok = true;
  while (out.size() <= limit) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  const int err = errno;
  OPENSSL_cleanse(buf, sizeof buf);  // the last chunk may be part of a key
  errno = err;
  return ok;
}

template <class Buffer>
Buffer read_whole_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(err),
                err == ENOENT ? "check the file name" : "check the file's permissions");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    throw Error(Errc::Io, "cannot read " + quoted(path), "it is a directory", "give a file");
  Buffer data;
  if (!read_all(fd.get(), data, k_max_input_size))
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
  if (data.size() > k_max_input_size)
    throw Error(Errc::BadInput, quoted(path) + " is too large",
                "keysafe reads files of at most " + std::to_string(k_max_input_size >> 20) +
                    " MiB; certificates and keys are far smaller",
                "check that this is the right file");
  return data;
}

void require_one_component(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
    throw Error(Errc::Internal, "\"" + name + "\" is not a file name",
                "files are written by name inside an open directory");
}

}  // namespace

Bytes read_input_file(const std::filesystem::path& path) { return read_whole_file<Bytes>(path); }

SecureBytes read_secret_file(const std::filesystem::path& path) {
  return read_whole_file<SecureBytes>(path);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content,
                           unsigned mode, Overwrite overwrite,
                           const std::optional<FileOwner>& owner) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const std::string name = path.filename().string();
  if (name.empty() || name == "." || name == "..")
    throw Error(Errc::Usage, "cannot write " + quoted(path), "it names a directory",
                "give a file name");
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd)
    throw Error(Errc::Io, "cannot write in " + quoted(dir), std::strerror(errno),
                "check that the directory exists and is writable");
  write_file_at(dir_fd.get(), dir, name, content, mode, overwrite, owner);
}

void write_file_at(int dir_fd, const std::filesystem::path& dir_path, const std::string& name,
                   std::string_view content, unsigned mode, Overwrite overwrite,
                   const std::optional<FileOwner>& owner) {
  require_one_component(name);
  const std::filesystem::path path = dir_path / name;
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
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
  // A fresh, unpredictable temp name created with O_EXCL: never an existing file or link.
  std::string tmp;
  Fd fd;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    tmp = "." + name + ".keysafe-" + to_hex(random_bytes(6));
    fd = Fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     0600));
    if (!fd && errno != EEXIST) break;
  }
  if (!fd)
    throw Error(Errc::Io, "cannot write in " + quoted(dir_path), std::strerror(errno),
                "check that the directory exists and is writable");
  try {
    // Owner first: changing it may clear set-user-ID and set-group-ID bits that fchmod sets.
    if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0)
      throw Error(Errc::Io, "cannot set the owner of " + quoted(path),
                  "uid " + std::to_string(owner->uid) + ", gid " + std::to_string(owner->gid) +
                      ": " + std::strerror(errno),
                  "only root can give a file to another user");
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
      throw Error(Errc::Io, "cannot set the mode of " + quoted(dir_path / tmp),
                  std::strerror(errno));
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
    if (::close(fd.release()) != 0)
      throw Error(Errc::Io, "cannot write " + quoted(path), std::strerror(errno));
    if (overwrite == Overwrite::Refuse) {
      // linkat() fails if the name appeared meanwhile, so a racing file is never replaced.
      if (::linkat(dir_fd, tmp.c_str(), dir_fd, name.c_str(), 0) != 0) {
        const int err = errno;
        throw Error(err == EEXIST ? Errc::AlreadyExists : Errc::Io,
                    "cannot create " + quoted(path), std::strerror(err),
                    err == EEXIST ? "choose another name with -o, or add --force" : "");
      }
      ::unlinkat(dir_fd, tmp.c_str(), 0);
    } else if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
      throw Error(Errc::Io, "cannot replace " + quoted(path), std::strerror(errno));
    }
  } catch (...) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    throw;
  }
  // The new name is durable only once the directory is: a crash could otherwise bring back
  // the old file (or none) although the command reported success.
  if (::fsync(dir_fd) != 0)
    throw Error(Errc::Io, "cannot write " + quoted(path),
                std::string("syncing the directory failed: ") + std::strerror(errno),
                "check the file system (dmesg), then write the file again");
}

std::optional<RegularFile> read_regular_at(int dir_fd, const std::filesystem::path& dir_path,
                                           const std::string& name) {
  require_one_component(name);
  const std::filesystem::path path = dir_path / name;
  // O_NONBLOCK: opening a FIFO planted at the name must not hang.
  Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd) {
    const int err = errno;
    if (err == ENOENT) return std::nullopt;
    if (err == ELOOP)
      throw Error(Errc::Refused, "refusing to replace " + quoted(path), "it is a symbolic link",
                  "remove the link, or deploy to the directory it points into");
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(err),
                "check the permissions of the target directory");
  }
  RegularFile f;
  if (::fstat(fd.get(), &f.status) != 0)
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
  if (!S_ISREG(f.status.st_mode))
    throw Error(Errc::Refused, "refusing to replace " + quoted(path),
                "it is not a regular file (a directory, device or other special file)",
                "move it away, or deploy to another directory");
  if (!read_all(fd.get(), f.content, k_max_input_size))
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
  if (f.content.size() > k_max_input_size)
    throw Error(Errc::Refused, "refusing to replace " + quoted(path),
                "it is larger than any certificate or key file", "move it away");
  return f;
}

void remove_file_at(int dir_fd, const std::filesystem::path& dir_path, const std::string& name) {
  require_one_component(name);
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0) {
    if (errno == ENOENT) return;
    throw Error(Errc::Io, "cannot remove " + quoted(dir_path / name), std::strerror(errno));
  }
  if (::fsync(dir_fd) != 0)
    throw Error(Errc::Io, "cannot remove " + quoted(dir_path / name),
                std::string("syncing the directory failed: ") + std::strerror(errno),
                "check the file system (dmesg)");
}

}  // namespace keysafe::files
