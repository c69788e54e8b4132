// Key files: creation with safe modes, reading with permission checks.
#include "keysafe/ops/key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "keysafe/error.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}
constexpr std::size_t k_secret_size = 32;

}  // namespace

int open_secret_file(const std::filesystem::path& file, const std::string& what,
                     const std::string& option) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw Error(Errc::Io, "cannot read the " + what + " " + quoted(file), std::strerror(errno),
                errno == ELOOP ? "a " + what + " must not be a symbolic link" : "check " + option);
  struct stat st {};
  ::fstat(fd, &st);
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    ::close(fd);
    throw Error(
        Errc::Refused, "refusing the " + what + " " + quoted(file),
        S_ISREG(st.st_mode)
            ? "it can be read by group or others (mode " + std::to_string((st.st_mode >> 6) & 7) +
                  std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + ")"
            : std::string("it is not a regular file"),
        "chmod 600 " + file.string());
  }
  return fd;
}

SecureBytes read_key_file(const std::filesystem::path& file) {
  const int fd = open_secret_file(file, "key file", "--key-file / KEYSAFE_KEY_FILE");
  SecureBytes text(200);
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  SecureBytes secret;
  const auto nibble = [](std::uint8_t c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() == 2 * k_secret_size)
    for (std::size_t i = 0; i < text.size(); i += 2) {
      const int hi = nibble(text[i]);
      const int lo = nibble(text[i + 1]);
      if (hi < 0 || lo < 0) break;
      secret.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
  if (secret.size() != k_secret_size)
    throw Error(Errc::BadInput, quoted(file) + " is not a keysafe key file",
                "a key file holds 64 hexadecimal digits",
                "create one with: keysafe passwd --add-key-file FILE");
  return secret;
}

SecureBytes create_key_file(const std::filesystem::path& file) {
  const SecureBytes secret = random_secret(k_secret_size);
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(errno == EEXIST ? Errc::AlreadyExists : Errc::Io,
                "cannot create the key file " + quoted(file), std::strerror(errno),
                "choose a path for a new file");
  ::fchmod(fd, 0600);
  static constexpr char digits[] = "0123456789abcdef";
  SecureBytes text;
  for (auto b : secret) {
    text.push_back(static_cast<std::uint8_t>(digits[b >> 4]));
    text.push_back(static_cast<std::uint8_t>(digits[b & 15]));
  }
  text.push_back('\n');
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(file.c_str());
    throw Error(Errc::Io, "cannot write the key file " + quoted(file), std::strerror(errno));
  }
  return secret;
}

void add_key_file(store::Keystore& store, const std::filesystem::path& file, std::int64_t now) {
  if (std::filesystem::exists(std::filesystem::symlink_status(file)))
    throw Error(Errc::AlreadyExists, quoted(file) + " already exists",
                "a key file is never overwritten", "choose a path for a new file");
  const SecureBytes secret = create_key_file(file);
  store.record("key-file-added", "", file.string());
  try {
    store.add_key_file(secret, now);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(file, ec);
    throw;
  }
}

}  // namespace keysafe::ops
