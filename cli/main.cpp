// keysafe's entry point: process hardening, then the command line.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <iostream>

#include "app.hpp"

int main(int argc, char** argv) {
  // Private keys pass through this process: never let them reach a core dump.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  std::vector<std::string> args(argv + 1, argv + argc);
  return keysafe::cli::run(args, std::cout, std::cerr, keysafe::cli::system_environment());
}
