// keysafe's entry point: process hardening, then the command line.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

#include "app.hpp"
#include "keysafe/crypto/host_seal.hpp"
#include "render.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/crypto/host_seal.hpp"
#include "keysafe/crypto/kdf.hpp"
#ifdef KEYSAFE_SERVE_HELPER
#include "serve_command.hpp"
#endif

int main(int argc, char** argv) {
  // Private keys pass through this process: never let them reach a core dump.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

#ifdef KEYSAFE_SERVE_HELPER
  // keysafe-serve: the same command line, with serve's work linked in (serve_command.hpp).
  keysafe::cli::set_serve_runner(&keysafe::cli::run_serve);
#endif
  std::vector<std::string> args(argv + 1, argv + argc);
  int rc = keysafe::cli::run(args, std::cout, std::cerr, keysafe::cli::system_environment());
  // KEYSAFE_STATS=1: what this process did that costs (docs: bench/README.md), on stderr.
  if (const char* stats = std::getenv("KEYSAFE_STATS"); stats != nullptr && stats == std::string_view("1"))
    std::cerr << "keysafe: stats: kdf_derivations=" << keysafe::crypto::kdf_derivations()
              << " keys_opened=" << keysafe::store::private_keys_opened()
              << " host_copies_opened=" << keysafe::crypto::host_seals_opened() << '\n';
  // Output that never arrived is a failure (`keysafe list > /dev/full`): the buffered rest is
  // written now, and any write that failed on the way is reported.
  errno = 0;
  std::cout.flush();
  const bool flushed = std::fflush(stdout) == 0;
  if (!std::cout || !flushed || std::ferror(stdout) != 0) {
    const int why = errno;
    const keysafe::Error lost(keysafe::Errc::Io, "writing to standard output failed",
                              why != 0 ? std::strerror(why) : "the output was closed",
                              "check the disk or the pipe keysafe writes to, then run it again");
    keysafe::cli::render_error(lost, std::cout, std::cerr, false, false);
    if (rc == 0) rc = keysafe::exit_code_for(keysafe::Errc::Io);
  }
  return rc;
}
