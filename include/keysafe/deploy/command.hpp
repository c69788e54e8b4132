// Running an administrator's test and reload commands (/bin/sh -c), output captured.
#pragma once

#include <chrono>
#include <map>
#include <string>

namespace keysafe::deploy {

struct CommandOutcome {
  int exit_status = -1;      // the shell's exit status; -1 when killed by a signal or timeout
  bool timed_out = false;
  std::string signal;        // the signal's name when killed by one
  std::string output;        // standard output and error, interleaved, at most k_max_output
  bool ok() const noexcept { return exit_status == 0 && !timed_out; }
  // "exit status 1", "killed by SIGSEGV", "timed out after 60 s"
  std::string describe() const;
};

inline constexpr std::size_t k_max_output = 64 * 1024;

// Runs `command` with /bin/sh -c, stdin from /dev/null, with `environment` added to ours less
// the secret variables (keysafe/secret_variables.hpp), and no descriptor open but 0, 1 and 2.
// Waits for the shell to exit, not for its daemonised children (a reload that starts a new
// server process returns at once). Kills the process group after `timeout`.
CommandOutcome run_shell(const std::string& command,
                         const std::map<std::string, std::string>& environment,
                         std::chrono::milliseconds timeout);

}  // namespace keysafe::deploy
