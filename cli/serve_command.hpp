// keysafe serve runs in its own executable, keysafe-serve: the HTTP library (a shared library
// with the shared C++ runtime) would otherwise be loaded by every keysafe command, which cost
// each about 4.6 ms of start-up (keysafe --version, 23.9 -> 28.5 ms). `keysafe serve` parses
// its options, then replaces itself (execv, the same arguments and environment, no child) with
// keysafe-serve beside it or in ../libexec/keysafe/, whose main installs run_serve.
#pragma once

#include <cstddef>
#include <string>

#include "context.hpp"

namespace keysafe::cli {

struct ServeRequest {
  std::string listen = "127.0.0.1:8443";
  std::string tls_entry;
  std::string idle_timeout = "15";
  std::size_t max_body = 1u << 20;
};

using ServeRunner = int (*)(Context& ctx, const ServeRequest& request);
// Set by keysafe-serve's main; unset in keysafe, whose serve execs keysafe-serve.
void set_serve_runner(ServeRunner runner);

// cli/serve_run.cpp, linked into keysafe-serve only.
int run_serve(Context& ctx, const ServeRequest& request);

}  // namespace keysafe::cli
