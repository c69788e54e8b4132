// A deployment's files: written one by one atomically, the previous contents kept in memory,
// everything relative to the target directory's descriptor.
#include "keysafe/deploy/file_set.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"

namespace keysafe::deploy {
namespace {

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

std::string_view view(const SecureBytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The link text at `name`, nullopt when it is not a symbolic link (or does not exist).
std::optional<std::string> link_at(int dir_fd, const std::string& name) {
  char buf[4096];
  const ssize_t n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf);
  if (n < 0) return std::nullopt;  // EINVAL: not a link; ENOENT: nothing there
  if (static_cast<std::size_t>(n) >= sizeof buf) return std::string(4096, '?');  // never certbot's
  return std::string(buf, static_cast<std::size_t>(n));
}

// Puts certbot's link back at `name`: a link under a temporary name, renamed over the path.
void restore_link(int dir_fd, const std::filesystem::path& dir_path, const std::string& name,
                  const std::string& text) {
  const std::string tmp = "." + name + ".keysafe-link";
  ::unlinkat(dir_fd, tmp.c_str(), 0);
  if (::symlinkat(text.c_str(), dir_fd, tmp.c_str()) != 0 ||
      ::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) {
    const int err = errno;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    throw Error(Errc::Io, "cannot restore the link " + quoted(dir_path / name), std::strerror(err));
  }
  if (::fsync(dir_fd) != 0)
    throw Error(Errc::Io, "cannot restore the link " + quoted(dir_path / name), std::strerror(errno));
}

}  // namespace

bool is_certbot_link(std::string_view link_text, std::string_view lineage, std::string_view file) {
  if (lineage.empty() || lineage == "." || lineage == ".." || lineage.find('/') != std::string_view::npos ||
      file.size() <= 4 || file.substr(file.size() - 4) != ".pem")
    return false;
  const std::string prefix =
      "../../archive/" + std::string(lineage) + "/" + std::string(file.substr(0, file.size() - 4));
  if (link_text.size() <= prefix.size() + 4 || link_text.substr(0, prefix.size()) != prefix ||
      link_text.substr(link_text.size() - 4) != ".pem")
    return false;
  const auto digits = link_text.substr(prefix.size(), link_text.size() - 4 - prefix.size());
  return !digits.empty() && digits.size() <= 9 &&
         std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<files::RegularFile> read_certbot_link(const files::TrustedDirectory& dir,
                                                    const std::string& name, std::string& link_text) {
  if (!dir.exists()) return std::nullopt;
  const auto text = link_at(dir.fd(), name);
  if (!text) return std::nullopt;
  const std::string lineage = dir.path().filename().string();
  if (!is_certbot_link(*text, lineage, name))
    throw Error(Errc::Refused, "refusing the symbolic link " + quoted(dir.path() / name),
                "it links to " + *text + ", not certbot's link into ../../archive/" +
                    lineage + "/",
                "remove the link, or deploy to the directory it points into");
  const std::filesystem::path target = (dir.path() / *text).lexically_normal();
  const auto archive = files::TrustedDirectory::resolve(target.parent_path());
  if (!archive.exists())
    throw Error(Errc::NotFound, "the link " + quoted(dir.path() / name) + " points to nothing",
                quoted(target.parent_path()) + " does not exist", "check the certbot lineage");
  auto f = files::read_regular_at(archive.fd(), archive.path(), target.filename().string());
  if (!f)
    throw Error(Errc::NotFound, "the link " + quoted(dir.path() / name) + " points to nothing",
                quoted(target) + " does not exist", "check the certbot lineage");
  link_text = *text;
  return f;
}

std::optional<std::string> served_file_sha256(const files::TrustedDirectory& dir, const std::string& name) {
  std::string link;
  if (auto f = read_certbot_link(dir, name, link)) return to_hex(sha256(f->content));
  return file_sha256(dir, name);
}

std::optional<std::string> file_sha256(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  files::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(Errc::Io, "cannot read " + quoted(path), std::strerror(errno));
  }
  auto e = files::read_regular_at(dir_fd.get(), dir, path.filename().string());
  if (!e) return std::nullopt;
  return to_hex(sha256(e->content));
}

std::optional<std::string> file_sha256(const files::TrustedDirectory& dir,
                                       const std::string& name) {
  if (!dir.exists()) return std::nullopt;
  auto e = files::read_regular_at(dir.fd(), dir.path(), name);
  if (!e) return std::nullopt;
  return to_hex(sha256(e->content));
}

FileSet FileSet::write(const std::filesystem::path& dir, const std::vector<DeployFile>& files) {
  const auto trusted = files::TrustedDirectory::resolve(dir);
  if (!trusted.exists())
    throw Error(Errc::Io, "cannot write in " + quoted(dir), "it does not exist",
                "create the directory first");
  return write(trusted, files);
}

FileSet FileSet::write(const files::TrustedDirectory& dir, const std::vector<DeployFile>& files) {
  FileSet set;
  set.m_dir = files::Fd(::fcntl(dir.fd(), F_DUPFD_CLOEXEC, 0));
  if (!set.m_dir)
    throw Error(Errc::Io, "cannot write in " + quoted(dir.path()), std::strerror(errno));
  set.m_dir_path = dir.path();
  // Read everything first: nothing is written unless every path can be taken back.
  for (const auto& f : files) {
    PreviousFile p;
    p.path = dir.path() / f.name;
    p.name = f.name;
    std::optional<files::RegularFile> e;
    if (f.replace_certbot_link) e = read_certbot_link(dir, f.name, p.link);
    if (!e) e = files::read_regular_at(set.m_dir.get(), set.m_dir_path, f.name);
    if (e) {
      p.existed = true;
      p.content = std::move(e->content);
      p.mode = static_cast<unsigned>(e->status.st_mode & 07777);
      p.uid = e->status.st_uid;
      p.gid = e->status.st_gid;
      p.sha256 = to_hex(sha256(p.content));
    }
    set.m_previous.push_back(std::move(p));
  }
  std::size_t written = 0;
  try {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& f = files[i];
      const auto& before = set.m_previous[i];
      std::optional<files::FileOwner> owner;
      if (f.keep_owner && before.existed) owner = files::FileOwner{before.uid, before.gid};
      if (before.link.empty()) {
        files::write_file_at(set.m_dir.get(), set.m_dir_path, f.name, view(f.content), f.mode,
                             files::Overwrite::Allow, owner);
      } else {
        // certbot's link: the regular file is made under another name, then renamed over the
        // link (the link itself is replaced, nothing is written through it).
        const std::string staged = "." + f.name + ".keysafe-replaces-link";
        files::remove_file_at(set.m_dir.get(), set.m_dir_path, staged);
        files::write_file_at(set.m_dir.get(), set.m_dir_path, staged, view(f.content), f.mode,
                             files::Overwrite::Refuse, owner);
        if (::renameat(set.m_dir.get(), staged.c_str(), set.m_dir.get(), f.name.c_str()) != 0) {
          const int err = errno;
          files::remove_file_at(set.m_dir.get(), set.m_dir_path, staged);
          throw Error(Errc::Io, "cannot replace the link " + quoted(before.path), std::strerror(err));
        }
        if (::fsync(set.m_dir.get()) != 0)
          throw Error(Errc::Io, "cannot replace the link " + quoted(before.path),
                      std::string("syncing the directory failed: ") + std::strerror(errno));
      }
      ++written;
    }
  } catch (const Error& e) {
    // Take back what was replaced so far (the failed file too: its rename may have happened
    // before a directory sync failed). The original error is the one to report, with what
    // could not be taken back.
    FileSet partial;
    partial.m_dir = std::move(set.m_dir);
    partial.m_dir_path = set.m_dir_path;
    for (std::size_t i = 0; i < written; ++i)
      partial.m_previous.push_back(std::move(set.m_previous[i]));
    if (written < set.m_previous.size() && !set.untouched(set.m_previous[written]))
      partial.m_previous.push_back(std::move(set.m_previous[written]));
    try {
      partial.restore();
    } catch (const Error& r) {
      throw Error(e.code(), e.summary() + "; restoring the previous files FAILED",
                  (e.cause().empty() ? "" : e.cause() + "\n") + r.cause(), r.remedy());
    }
    throw;
  }
  return set;
}

bool FileSet::untouched(const PreviousFile& p) const {
  if (!p.link.empty()) return link_at(m_dir.get(), p.name) == p.link;
  try {
    const auto now = files::read_regular_at(m_dir.get(), m_dir_path, p.name);
    return now ? p.existed && to_hex(sha256(now->content)) == p.sha256 : !p.existed;
  } catch (const Error&) {
    return false;
  }
}

void FileSet::restore() {
  // Only root may give a file to another user (chown(2)).
  const bool restore_owner = ::geteuid() == 0;
  std::string failures;
  for (const auto& p : m_previous) {
    try {
      if (!p.link.empty()) {
        restore_link(m_dir.get(), m_dir_path, p.name, p.link);
        if (link_at(m_dir.get(), p.name) != p.link) throw Error(Errc::Io, "restored link differs");
      } else if (p.existed) {
        std::optional<files::FileOwner> owner;
        if (restore_owner) owner = files::FileOwner{p.uid, p.gid};
        files::write_file_at(m_dir.get(), m_dir_path, p.name, view(p.content), p.mode,
                             files::Overwrite::Allow, owner);
        const auto back = files::read_regular_at(m_dir.get(), m_dir_path, p.name);
        if (!back || to_hex(sha256(back->content)) != p.sha256)
          throw Error(Errc::Io, "restored content differs");
        if ((back->status.st_mode & 07777) != p.mode ||
            (owner && (back->status.st_uid != p.uid || back->status.st_gid != p.gid)))
          throw Error(Errc::Io, "restored mode or owner differs");
      } else {
        files::remove_file_at(m_dir.get(), m_dir_path, p.name);
      }
    } catch (const Error& e) {
      failures += (failures.empty() ? "" : "; ") + quoted(p.path) + ": " + e.summary() +
                  (e.cause().empty() ? "" : " (" + e.cause() + ")");
    }
  }
  if (!failures.empty())
    throw Error(Errc::Io, "could not restore the previous files", failures,
                "put the previous certificate and key back by hand before the server reloads");
}

}  // namespace keysafe::deploy
