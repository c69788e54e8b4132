// Resolving a target directory without following anything another user controls (OpenSSH's
// StrictModes rule, applied to every directory and symlink on the path).
#include "keysafe/files/trusted_directory.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>

#include "keysafe/error.hpp"

namespace keysafe::files {
namespace {

constexpr int k_max_symlinks = 40;  // Linux's own bound on a path walk (MAXSYMLINKS)
constexpr int k_open_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

std::string user_name(uid_t uid) {
  struct passwd pw {};
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
    return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
  return "uid " + std::to_string(uid);
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

bool trusted_owner(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

std::string fixing_owner() { return ::geteuid() == 0 ? "root" : std::to_string(::geteuid()); }

std::filesystem::path join(const std::vector<std::string>& parts) {
  std::filesystem::path p = "/";
  for (const auto& s : parts) p /= s;
  return p;
}

Fd open_root() {
  Fd fd(::open("/", k_open_flags));
  if (!fd) throw Error(Errc::Io, "cannot open the directory \"/\"", std::strerror(errno));
  return fd;
}

struct stat status_of(const Fd& fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    throw Error(Errc::Io, "cannot examine the directory " + quoted(path), std::strerror(errno));
  return st;
}

// The components of `p` in order, without the root and without empty ones (trailing '/').
std::deque<std::string> components(const std::filesystem::path& p) {
  std::deque<std::string> out;
  for (const auto& c : p.relative_path()) {
    const std::string s = c.string();
    if (!s.empty()) out.push_back(s);
  }
  return out;
}

}  // namespace

void require_trusted_directory(const struct stat& st, const std::filesystem::path& path) {
  const std::string what =
      "the directory " + quoted(path) + " belongs to " + user_name(st.st_uid) + ", mode " +
      octal_mode(st.st_mode);
  const std::string why =
      ": another user could put a symbolic link there that sends keysafe's writes (as " +
      user_name(::geteuid()) + ") to any file (the rule of OpenSSH's StrictModes)";
  const std::string fix = "chown " + fixing_owner() + " " + quoted(path) + " && chmod go-w " +
                          quoted(path) + ", or deploy to a directory only " + fixing_owner() +
                          " can write";
  if (!trusted_owner(st.st_uid))
    throw Error(Errc::Refused, "refusing to write under " + quoted(path), what + why, fix);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
    throw Error(Errc::Refused, "refusing to write under " + quoted(path),
                what + ", writable by " +
                    ((st.st_mode & S_IWOTH) != 0 ? "everyone" : "its group") +
                    " without the sticky bit" + why,
                fix);
}

TrustedDirectory TrustedDirectory::resolve(const std::filesystem::path& given) {
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(given, ec);
  if (ec)
    throw Error(Errc::Io, "cannot open the directory " + quoted(given), ec.message());
  std::deque<std::string> todo = components(absolute);
  Fd cur = open_root();
  require_trusted_directory(status_of(cur, "/"), "/");
  std::vector<std::string> resolved;  // the components of cur's path
  std::vector<std::string> missing;   // below cur, not existing (yet)
  int links = 0;
  while (!todo.empty()) {
    const std::string name = todo.front();
    todo.pop_front();
    if (name == ".") continue;
    if (!missing.empty()) {  // below a missing directory: only names, resolved lexically
      if (name == "..") missing.pop_back();
      else missing.push_back(name);
      continue;
    }
    if (name == ".." && resolved.empty()) continue;  // "/.." is "/"
    Fd next(::openat(cur.get(), name.c_str(), k_open_flags));
    if (next) {
      if (name == "..") resolved.pop_back();
      else resolved.push_back(name);
      require_trusted_directory(status_of(next, join(resolved)), join(resolved));
      cur = std::move(next);
      continue;
    }
    const int err = errno;
    auto here = join(resolved) / name;
    if (err == ENOENT) {
      missing.push_back(name);
      continue;
    }
    if (err != ELOOP && err != ENOTDIR)
      throw Error(Errc::Io, "cannot open the directory " + quoted(here), std::strerror(err),
                  "check the permissions of the directories on the path");
    // A symlink or not a directory: look at the name itself, never through it.
    struct stat lst {};
    if (::fstatat(cur.get(), name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0)
      throw Error(Errc::Io, "cannot examine " + quoted(here), std::strerror(errno));
    if (++links > k_max_symlinks)
      throw Error(Errc::Usage, "cannot open the directory " + quoted(given),
                  "more than " + std::to_string(k_max_symlinks) +
                      " symbolic links (or changes) on the path",
                  "give the directory's real path");
    if (S_ISDIR(lst.st_mode)) {  // replaced by a directory meanwhile: look again
      todo.push_front(name);
      continue;
    }
    if (!S_ISLNK(lst.st_mode))
      throw Error(Errc::Usage, "cannot open the directory " + quoted(given),
                  quoted(here) + " is not a directory",
                  "give the directory the server reads its certificate and key from with --to");
    // The directory holding the link passed the rule already; the link must be trusted too.
    if (!trusted_owner(lst.st_uid))
      throw Error(Errc::Refused, "refusing to follow the symbolic link " + quoted(here),
                  "the symbolic link " + quoted(here) + " belongs to " + user_name(lst.st_uid) +
                      ": another user could point it at any directory",
                  "give the directory's real path, or make the link " + fixing_owner() +
                      "'s: chown -h " + fixing_owner() + " " + quoted(here));
    std::string target(static_cast<std::size_t>(lst.st_size > 0 ? lst.st_size : 0) + 256, '\0');
    const ssize_t n = ::readlinkat(cur.get(), name.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<std::size_t>(n) >= target.size())
      throw Error(Errc::Io, "cannot read the symbolic link " + quoted(here),
                  n < 0 ? std::strerror(errno) : "it changed while being read");
    target.resize(static_cast<std::size_t>(n));
    const std::filesystem::path link_target = target;
    const auto parts = components(link_target);
    todo.insert(todo.begin(), parts.begin(), parts.end());
    if (link_target.is_absolute()) {
      cur = open_root();
      resolved.clear();
    }
  }
  TrustedDirectory d;
  d.m_fd = std::move(cur);
  std::filesystem::path p = join(resolved);
  for (const auto& m : missing) {
    p /= m;
    d.m_missing.push_back(p);
  }
  d.m_path = p;
  return d;
}

void TrustedDirectory::create_missing() {
  for (const auto& dir : m_missing) {
    const std::string name = dir.filename().string();
    bool made = true;
    if (::mkdirat(m_fd.get(), name.c_str(), 0755) != 0) {
      if (errno != EEXIST)
        throw Error(Errc::Io, "cannot create the directory " + quoted(dir), std::strerror(errno),
                    "create it yourself (mkdir -p), then deploy again");
      made = false;  // someone made it meanwhile: it must pass the rule like any other
    }
    Fd next(::openat(m_fd.get(), name.c_str(), k_open_flags));
    if (!next)
      throw Error(Errc::Io, "cannot open the directory " + quoted(dir), std::strerror(errno),
                  "check that nothing replaced it, then deploy again");
    if (made && ::fchmod(next.get(), 0755) != 0)
      throw Error(Errc::Io, "cannot set the mode of " + quoted(dir), std::strerror(errno));
    require_trusted_directory(status_of(next, dir), dir);
    if (made) m_created.push_back({Fd(::dup(m_fd.get())), name, dir});
    m_fd = std::move(next);
  }
  m_missing.clear();
}

std::vector<std::string> TrustedDirectory::remove_created() noexcept {
  std::vector<std::string> left;
  for (auto c = m_created.rbegin(); c != m_created.rend(); ++c)
    if (!c->parent || ::unlinkat(c->parent.get(), c->name.c_str(), AT_REMOVEDIR) != 0)
      left.push_back(c->path.string() + ": " + std::strerror(errno));
  m_created.clear();
  return left;
}

}  // namespace keysafe::files
