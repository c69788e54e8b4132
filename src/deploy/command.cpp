// Test and reload commands: /bin/sh -c in its own process group, output in an anonymous file,
// with no secret variable and no descriptor of ours beyond 0, 1 and 2.
#include "keysafe/deploy/command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

#include "keysafe/error.hpp"
#include "keysafe/secret_variables.hpp"

namespace keysafe::deploy {
namespace {

// The output goes to a memory file, not a pipe: a server the reload command daemonises may
// keep the descriptor open long after the shell exits, and must never block writing to it.
std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[8192];
  while (out.size() < k_max_output) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  if (out.size() > k_max_output) out.resize(k_max_output);
  return out;
}

}  // namespace

std::string CommandOutcome::describe() const {
  if (timed_out) return "timed out";
  if (!signal.empty()) return "killed by " + signal;
  return "exit status " + std::to_string(exit_status);
}

CommandOutcome run_shell(const std::string& command,
                         const std::map<std::string, std::string>& environment,
                         std::chrono::milliseconds timeout) {
  const int out_fd = ::memfd_create("keysafe-command", MFD_CLOEXEC);
  if (out_fd < 0)
    throw Error(Errc::Io, "cannot run \"" + command + "\"", std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{out_fd};

  // The environment is built before fork: the child only calls async-signal-safe functions.
  // Ours without the secret variables (the passphrase, the key file), then the caller's.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    if (is_secret_variable(name) || environment.count(std::string(name)) != 0) continue;
    env_strings.emplace_back(entry);
  }
  for (const auto& [k, v] : environment)
    if (!is_secret_variable(k)) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string shell_command = command;
  char sh[] = "/bin/sh";
  char dash_c[] = "-c";
  char* argv[] = {sh, dash_c, shell_command.data(), nullptr};
  // For closing descriptors one by one where close_range(2) is missing (Linux before 5.9).
  rlimit files{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                         ? static_cast<int>(std::min<rlim_t>(files.rlim_cur, 1 << 20))
                         : 1 << 16;

  const pid_t pid = ::fork();
  if (pid < 0) throw Error(Errc::Io, "cannot run \"" + command + "\"", std::strerror(errno));
  if (pid == 0) {
    // The child: only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    // Nothing else of ours: not the store, not a lock, not --passphrase-fd, not whatever
    // keysafe itself inherited without close-on-exec.
    if (::close_range(3, ~0U, 0) != 0)
      for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
    ::execve(sh, argv, envp.data());
    ::_exit(127);
  }
  ::setpgid(pid, pid);

  CommandOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      outcome.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  outcome.output = read_all(out_fd);
  if (!outcome.timed_out) {
    if (WIFEXITED(status)) {
      outcome.exit_status = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      const char* name = ::sigabbrev_np(WTERMSIG(status));
      outcome.signal = name != nullptr ? std::string("SIG") + name
                                       : "signal " + std::to_string(WTERMSIG(status));
    }
  }
  return outcome;
}

}  // namespace keysafe::deploy
