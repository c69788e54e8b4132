// HTTP-01 responders: a small cpp-httplib server on a thread, or token files in a webroot.
#include "keysafe/acme/http01.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"

namespace keysafe::acme {
namespace {


class ListenResponder final : public Http01Responder {
 public:
  explicit ListenResponder(const std::string& address_port) : m_where(address_port) {
    const auto colon = address_port.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == address_port.size())
      throw Error(Errc::Usage, "--http-listen \"" + address_port + "\" is not ADDR:PORT",
                  "keysafe listens on one address and port for HTTP-01",
                  "for example: --http-listen 0.0.0.0:80 or --http-listen 127.0.0.1:5002");
    std::string host = address_port.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
      std::size_t used = 0;
      port = std::stoi(address_port.substr(colon + 1), &used);
      if (used != address_port.size() - colon - 1) port = 0;
    } catch (const std::exception&) {
      port = 0;
    }
    if (port <= 0 || port > 65535)
      throw Error(Errc::Usage, "--http-listen \"" + address_port + "\" has no valid port",
                  "the port is a number from 1 to 65535", "for example: --http-listen 0.0.0.0:80");
    m_server.set_read_timeout(5, 0);
    m_server.set_write_timeout(5, 0);
    m_server.set_payload_max_length(1024);
    // SO_REUSEADDR instead of httplib's SO_REUSEPORT: a web server started on this port right
    // after the order (its connections in TIME_WAIT) can bind it, and no other process can
    // bind it beside keysafe while the order runs.
    m_server.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    m_server.Get(R"(/\.well-known/acme-challenge/([A-Za-z0-9_-]{1,256}))",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   std::lock_guard lock(m_mutex);
                   const auto it = m_tokens.find(req.matches[1].str());
                   if (it == m_tokens.end()) {
                     res.status = 404;
                     return;
                   }
                   res.set_content(it->second, "text/plain");
                 });
    if (!m_server.bind_to_port(host.c_str(), port))
      throw Error(Errc::Io, "keysafe cannot listen on " + address_port + " for HTTP-01",
                  "the address is in use, not on this host, or the port needs root",
                  "stop what listens there, or choose another --http-listen address (or --webroot DIR "
                  "when a web server owns port 80)");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    // stop() does nothing until the server runs: wait for it, or the join below never returns.
    for (int i = 0; i < 5000 && !m_server.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ListenResponder() override {
    m_server.stop();
    if (m_thread.joinable()) m_thread.join();
  }
  void add(const std::string& token, const std::string& key_authorization) override {
    require_token(token);
    std::lock_guard lock(m_mutex);
    m_tokens[token] = key_authorization;
  }
  std::vector<std::string> clear() noexcept override {
    std::lock_guard lock(m_mutex);
    m_tokens.clear();
    return {};
  }
  std::string describe() const override { return "keysafe listening on " + m_where; }

 private:
  std::string m_where;
  httplib::Server m_server;
  std::thread m_thread;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_tokens;
};

class WebrootResponder final : public Http01Responder {
 public:
  explicit WebrootResponder(const std::filesystem::path& dir)
      : m_root(dir),
        m_dir(files::TrustedDirectory::resolve(dir / ".well-known" / "acme-challenge")) {
    if (!std::filesystem::is_directory(dir))
      throw Error(Errc::NotFound, "the webroot \"" + dir.string() + "\" is not a directory",
                  "--webroot names the directory the web server serves for this name on port 80",
                  "give the web server's document root, e.g. --webroot /var/www/html");
  }
  ~WebrootResponder() override { clear(); }
  void add(const std::string& token, const std::string& key_authorization) override {
    require_token(token);
    if (!m_dir.exists()) m_dir.create_missing();
    files::write_file_at(m_dir.fd(), m_dir.path(), token, key_authorization, 0644,
                         files::Overwrite::Allow);
    m_tokens.push_back(token);
  }
  std::vector<std::string> clear() noexcept override {
    std::vector<std::string> problems;
    for (const auto& t : m_tokens) {
      try {
        files::remove_file_at(m_dir.fd(), m_dir.path(), t);
      } catch (const std::exception& e) {
        problems.push_back(e.what());
      }
    }
    m_tokens.clear();
    for (auto& p : m_dir.remove_created()) problems.push_back(std::move(p));
    return problems;
  }
  std::string describe() const override {
    return "files under " + (m_root / ".well-known" / "acme-challenge").string();
  }

 private:
  std::filesystem::path m_root;
  files::TrustedDirectory m_dir;
  std::vector<std::string> m_tokens;
};

}  // namespace

void require_token(std::string_view token) {
  const bool ok = !token.empty() && token.size() <= 256 &&
                  token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                          "0123456789-_") == std::string_view::npos;
  if (!ok)
    throw Error(Errc::BadInput, "the CA sent a challenge token that is not base64url",
                "RFC 8555 §8.1: a token holds only base64url characters; keysafe writes no file "
                "and serves no path for it",
                "check the directory URL names a trustworthy ACME server");
}

std::unique_ptr<Http01Responder> listen_responder(const std::string& address_port) {
  return std::make_unique<ListenResponder>(address_port);
}

std::unique_ptr<Http01Responder> webroot_responder(const std::filesystem::path& dir) {
  return std::make_unique<WebrootResponder>(dir);
}

}  // namespace keysafe::acme
