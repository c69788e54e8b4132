// keysafe serve: the store over HTTPS, as a JSON API and a web page (server/, docs/API.md).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "commands.hpp"
#include "serve_command.hpp"

namespace keysafe::cli {
namespace {

ServeRunner g_runner = nullptr;

// keysafe-serve beside this executable (a build tree, or both in bin/), else where
// `cmake --install` puts it.
std::filesystem::path serve_helper() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(Errc::Internal, "cannot tell where keysafe is installed", ec.message());
  for (const auto& candidate : {self.parent_path() / "keysafe-serve",
                                self.parent_path() / ".." / "libexec" / "keysafe" / "keysafe-serve"})
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  throw Error(Errc::Internal, "keysafe-serve is not installed",
              "keysafe serve runs the program keysafe-serve, looked for beside " +
                  self.string() + " and in ../libexec/keysafe/",
              "install keysafe again (cmake --install), which installs keysafe-serve");
}

// The same arguments, as the kernel has them (nothing was read from --passphrase-fd yet).
[[noreturn]] void exec_serve_helper() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t at = 0; at < raw.size();) {
    const auto end = raw.find('\0', at);
    args.push_back(raw.substr(at, end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  const auto helper = serve_helper();
  if (args.empty()) args.emplace_back();
  args[0] = helper.string();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execv(helper.c_str(), argv.data());
  throw Error(Errc::Io, "cannot start " + helper.string(), std::strerror(errno),
              "install keysafe again (cmake --install)");
}

}  // namespace

void set_serve_runner(ServeRunner runner) { g_runner = runner; }

Action setup_serve(CLI::App& cmd) {
  auto request = std::make_shared<ServeRequest>();
  cmd.add_option("--listen", request->listen, "address and port (default 127.0.0.1:8443)")
      ->type_name("ADDR:PORT");
  cmd.add_option("--tls-entry", request->tls_entry,
                 "present this entry's certificate (its key needs the store passphrase or a "
                 "key file at start); required for a non-loopback address")
      ->type_name("NAME");
  cmd.add_option("--idle-timeout", request->idle_timeout,
                 "lock a session idle this many minutes (default 15; \"30s\": seconds)")
      ->type_name("MIN");
  cmd.add_option("--max-body", request->max_body,
                 "largest request body in bytes (default 1048576)")
      ->type_name("BYTES");
  cmd.footer(R"(
HTTPS only. Without --tls-entry, the first start makes a self-signed key and certificate for
the listen name, kept beside the store (STORE.serve-HOST.key and .crt, 0600) and reused on
later starts; its SHA-256 fingerprint is printed so that clients can pin it. The store stays
locked until a user unlocks a session (POST /api/v1/session, or the page at /). Runs in the
foreground, one log line per request (method, path, status, time; never bodies), until
SIGTERM or SIGINT (exit 0). The API is described in docs/API.md.

EXAMPLES:
  keysafe serve
  keysafe serve --listen 127.0.0.1:9443 --idle-timeout 5
  keysafe serve --listen 192.0.2.10:443 --tls-entry keys.example.com --key-file /etc/keysafe/serve.key)");
  return [request](Context& ctx) {
    if (g_runner != nullptr) return g_runner(ctx, *request);
    exec_serve_helper();
  };
}

}  // namespace keysafe::cli
