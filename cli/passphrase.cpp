// Reading passphrases from files, descriptors, the environment or the terminal.
#include "passphrase.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "context.hpp"
#include "keysafe/secret_variables.hpp"

namespace keysafe::cli {
namespace {

constexpr std::size_t k_max_passphrase = 4096;

SecureBytes read_all(int fd, const std::string& what) {
  SecureBytes out;
  out.reserve(k_max_passphrase + 1);
  std::uint8_t buf[256];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      OPENSSL_cleanse(buf, sizeof buf);
      throw Error(Errc::Io, "cannot read the passphrase from " + what, std::strerror(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > k_max_passphrase) {
      OPENSSL_cleanse(buf, sizeof buf);
      throw Error(Errc::Usage, "the passphrase from " + what + " is too long",
                  "a passphrase has at most 4096 bytes", "check that " + what + " is right");
    }
    out.insert(out.end(), buf, buf + n);
  }
  OPENSSL_cleanse(buf, sizeof buf);
  // One trailing newline (as `echo` writes) is not part of the passphrase.
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// --passphrase-fd N: read to the end, then closed, so that no command keysafe starts later
// (deploy's --test-cmd, --reload-cmd) can read the rest or find the descriptor. 0, 1 and 2
// become /dev/null instead, so that no file keysafe opens later takes their number.
SecureBytes read_descriptor_once(int fd) {
  const std::string what = "file descriptor " + std::to_string(fd);
  const auto release = [fd] {
    if (fd > 2) {
      ::close(fd);
      return;
    }
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  };
  try {
    SecureBytes pass = read_all(fd, what);
    release();
    return pass;
  } catch (...) {
    release();
    throw;
  }
}

SecureBytes checked(SecureBytes pass, const std::string& what) {
  if (pass.empty())
    throw Error(Errc::Usage, "the passphrase from " + what + " is empty",
                "an empty passphrase would leave the private keys unprotected",
                "put the passphrase in " + what);
  return pass;
}

// While echo is off: the terminal and its settings to put back if a signal ends the process at
// the prompt (Ctrl-C, kill), so that the shell is not left typing blind.
volatile sig_atomic_t g_quiet_tty = -1;
termios g_saved_tty{};

extern "C" void restore_echo_and_die(int sig) {
  if (g_quiet_tty >= 0) ::tcsetattr(g_quiet_tty, TCSANOW, &g_saved_tty);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

constexpr std::array k_fatal_signals{SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// Installs restore_echo_and_die for the fatal signals while alive; then restores the terminal
// and puts back the handlers that were there before.
class EchoGuard final {
 public:
  EchoGuard(int fd, const termios& saved) {
    g_saved_tty = saved;
    g_quiet_tty = fd;
    struct sigaction action{};
    action.sa_handler = restore_echo_and_die;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < k_fatal_signals.size(); ++i) {
      ::sigaction(k_fatal_signals[i], nullptr, &m_previous[i]);
      // A signal the caller ignores (nohup) stays ignored.
      if (m_previous[i].sa_handler != SIG_IGN) ::sigaction(k_fatal_signals[i], &action, nullptr);
    }
  }
  ~EchoGuard() {
    ::tcsetattr(g_quiet_tty, TCSAFLUSH, &g_saved_tty);
    for (std::size_t i = 0; i < k_fatal_signals.size(); ++i)
      ::sigaction(k_fatal_signals[i], &m_previous[i], nullptr);
    g_quiet_tty = -1;
  }
  EchoGuard(const EchoGuard&) = delete;
  EchoGuard& operator=(const EchoGuard&) = delete;

 private:
  std::array<struct sigaction, k_fatal_signals.size()> m_previous{};
};

}  // namespace

std::optional<SecureBytes> read_secret_from_terminal(const std::string& prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  (void)!::write(fd, prompt.data(), prompt.size());
  SecureBytes out;
  {
    const EchoGuard guard(fd, saved);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
    char c = 0;
    while (::read(fd, &c, 1) == 1 && c != '\n' && out.size() < k_max_passphrase)
      out.push_back(static_cast<std::uint8_t>(c));
    c = 0;
  }
  ::close(fd);
  return out;
}

SecureBytes read_secret_file(const std::string& path, const std::string& option) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(Errc::Io, "cannot read the passphrase file \"" + path + "\"",
                std::strerror(errno), "check " + option);
  // As for a key file (ops::read_key_file): a stored file that group or others can read is
  // refused, as its secret is not one any more. Pipes (<(...), /dev/stdin) are not stored files.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
    ::close(fd);
    throw Error(Errc::Refused, "refusing the passphrase file \"" + path + "\" (" + option + ")",
                "it can be read by group or others (mode " +
                    std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
                    std::to_string(st.st_mode & 7) + ")",
                "chmod 600 " + path);
  }
  try {
    SecureBytes pass = read_all(fd, "the passphrase file \"" + path + "\"");
    ::close(fd);
    return pass;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

std::optional<SecureBytes> acquire_secret(const Context& ctx, const SecretSource& source,
                                          bool new_secret, bool optional) {
  const auto check = [&](SecureBytes pass, const std::string& what) {
    if (pass.empty() && !source.allow_empty)
      throw Error(Errc::Usage, "the passphrase from " + what + " is empty",
                  "an empty passphrase would leave the private keys unprotected",
                  "put a passphrase in " + what);
    return pass;
  };
  if (!source.file.empty())
    return check(read_secret_file(source.file, source.file_option), source.file_option);
  if (auto env = ctx.env.getenv_secret(source.env_var))
    return check(std::move(*env), source.env_var);
  auto first = ctx.env.read_secret(source.prompt);
  if (!first) {
    if (optional) return std::nullopt;
    throw Error(Errc::Usage, "a passphrase is needed and there is no terminal to ask on",
                "\"" + source.prompt.substr(0, source.prompt.size() - 2) + "\" was not given",
                "give it with " + source.file_option + " FILE or the environment variable " +
                    source.env_var);
  }
  if (new_secret) {
    if (first->empty() && !source.allow_empty)
      throw Error(Errc::Usage, "the passphrase is empty",
                  "an empty passphrase would leave the private keys unprotected",
                  "type a passphrase");
    auto again = ctx.env.read_secret("Repeat the passphrase: ");
    if (!again || *again != *first)
      throw Error(Errc::Usage, "the two passphrases differ", "they must be typed the same twice",
                  "run the command again");
  }
  return std::move(*first);
}

void check_new_passphrase(const Context& ctx, const SecureBytes& pass, bool allow_weak) {
  // Characters, not bytes: a UTF-8 continuation byte (10xxxxxx) does not start one.
  std::size_t characters = 0;
  for (const std::uint8_t b : pass)
    if ((b & 0xC0) != 0x80) ++characters;
  const std::string count = std::to_string(characters) + " character" + (characters == 1 ? "" : "s");
  if (characters < k_min_passphrase && !allow_weak)
    throw Error(Errc::Refused, "the new passphrase is too short (" + count + ")",
                "a passphrase under " + std::to_string(k_min_passphrase) +
                    " characters is guessed quickly, even through scrypt; it protects every key "
                    "in the store",
                "choose one of " + std::to_string(k_good_passphrase) +
                    " characters or more (a few words), or add --weak-passphrase for a test store");
  if (characters < k_good_passphrase)
    ctx.warn("the new passphrase has " + count + ": one of " + std::to_string(k_good_passphrase) +
             " or more (a few words) is much harder to guess");
}

std::optional<std::string> read_line_from_terminal(const std::string& prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return std::nullopt;
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string line;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n' && line.size() < 256) line += c;
  ::close(fd);
  return line;
}

std::optional<SecureBytes> try_acquire_passphrase(const Context& ctx) {
  const auto& o = ctx.options;
  if (o.passphrase_file.empty() && o.passphrase_fd < 0 && !ctx.env.getenv_secret(k_env_passphrase)) {
    auto typed = ctx.env.read_secret("Keystore passphrase (Enter to skip opening keys): ");
    if (!typed || typed->empty()) return std::nullopt;
    return typed;
  }
  return acquire_passphrase(ctx, false);
}

SecureBytes acquire_passphrase(const Context& ctx, bool new_passphrase) {
  const auto& o = ctx.options;
  if (!o.passphrase_file.empty())
    return checked(read_secret_file(o.passphrase_file, "--passphrase-file"), "--passphrase-file");
  if (o.passphrase_fd >= 0)
    return checked(read_descriptor_once(o.passphrase_fd), "--passphrase-fd");
  if (auto env = ctx.env.getenv_secret(k_env_passphrase))
    return checked(std::move(*env), k_env_passphrase);
  auto first = ctx.env.read_secret(new_passphrase ? "New keystore passphrase: "
                                                  : "Keystore passphrase: ");
  if (!first)
    throw Error(Errc::Usage, "the store passphrase is needed and there is no terminal to ask on",
                "this command opens private keys, which are encrypted with the store passphrase",
                "give it with --passphrase-file FILE, --passphrase-fd N or the environment "
                "variable KEYSAFE_PASSPHRASE");
  if (first->empty())
    throw Error(Errc::Usage, "the passphrase is empty",
                "an empty passphrase would leave the private keys unprotected",
                "type a passphrase");
  if (new_passphrase) {
    auto again = ctx.env.read_secret("Repeat the passphrase: ");
    if (!again || *again != *first)
      throw Error(Errc::Usage, "the two passphrases differ", "they must be typed the same twice",
                  "run the command again");
  }
  return std::move(*first);
}

}  // namespace keysafe::cli
