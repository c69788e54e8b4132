// keysafe serve: HTTPS, sessions, the JSON API and the embedded web page, on cpp-httplib.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "keysafe/ops/server_identity.hpp"

namespace keysafe::server {

struct ServeOptions {
  std::string host;  // as --listen gave it ("127.0.0.1", "::1", "localhost")
  int port = 8443;
  std::filesystem::path store;
  std::int64_t idle_timeout_seconds = 15 * 60;
  std::size_t max_body = 1u << 20;
  std::function<std::int64_t()> now;
  std::ostream* log = nullptr;  // one line per request
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(const std::string& host);

class WebServer final {
 public:
  WebServer(ServeOptions options, ops::ServerIdentity identity);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Binds the listening socket (Errc::Io naming the address when it cannot).
  void bind();
  // Serves until stop(); returns then.
  void run();
  // Safe from another thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace keysafe::server
