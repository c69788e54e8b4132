// TLS probe: connect, handshake with SNI, and report the served leaf certificate.
#include "keysafe/deploy/probe.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "keysafe/error.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/ossl/ssl_handles.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::deploy {
namespace {

class Socket final {
 public:
  explicit Socket(int fd) : m_fd(fd) {}
  ~Socket() {
    if (m_fd >= 0) ::close(m_fd);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

struct AddrInfoDeleter {
  void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};

// A connected TCP socket (blocking, with send/receive timeouts), or -1 and `error`; `refused`
// when every address answered that nothing listens there.
int connect_tcp(const Endpoint& ep, std::chrono::milliseconds timeout, std::string& error,
                bool& refused) {
  refused = false;
  bool all_refused = true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* raw = nullptr;
  const int gai = ::getaddrinfo(ep.host.c_str(), ep.port.c_str(), &hints, &raw);
  if (gai != 0) {
    error = "cannot resolve " + ep.host + ": " + ::gai_strerror(gai);
    return -1;
  }
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);
  error = "no address for " + ep.host;
  for (addrinfo* a = list.get(); a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                            a->ai_protocol);
    if (fd < 0) {
      all_refused = false;
      error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        all_refused = false;
        error = "connection timed out";
        ::close(fd);
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) {
        all_refused = all_refused && so_error == ECONNREFUSED;
        error = std::strerror(so_error);
        ::close(fd);
        continue;
      }
      rc = 0;
    }
    if (rc != 0) {
      all_refused = all_refused && errno == ECONNREFUSED;
      error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
  }
  refused = all_refused && list != nullptr;
  return -1;
}

// A server that drops the connection mid-handshake must not kill keysafe with SIGPIPE.
class IgnoreSigpipe final {
 public:
  IgnoreSigpipe() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &m_previous);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &m_previous, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction m_previous {};
};

}  // namespace

Endpoint parse_endpoint(const std::string& text) {
  const auto bad = [&] {
    return Error(Errc::Usage, "\"" + text + "\" is not a HOST:PORT address",
                 "the probe address names the server's host and TLS port",
                 "use e.g. --probe 127.0.0.1:443, --probe www.example.com:443 or --probe [::1]:443");
  };
  Endpoint ep;
  std::string rest;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw bad();
    ep.host = text.substr(1, close - 1);
    ep.port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) throw bad();
    ep.host = text.substr(0, colon);
    ep.port = text.substr(colon + 1);
  }
  if (ep.host.empty() || ep.port.empty() || ep.port.size() > 5 ||
      ep.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(ep.port) == 0 ||
      std::stoi(ep.port) > 65535)
    throw bad();
  return ep;
}

ProbeResult probe_once(const Endpoint& endpoint, const std::string& sni,
                       std::chrono::milliseconds timeout) {
  const IgnoreSigpipe no_sigpipe;
  ProbeResult result;
  const std::string where = endpoint.host + ":" + endpoint.port;
  std::string error;
  Socket sock(connect_tcp(endpoint, timeout, error, result.refused));
  if (sock.get() < 0) {
    result.error = "cannot connect to " + where + ": " + error;
    return result;
  }
  ossl::SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) ossl::fail(Errc::Crypto, "cannot set up a TLS client");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // No verification here: the served leaf is judged by its fingerprint, which is stricter.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  ossl::Ssl ssl(SSL_new(ctx.get()));
  if (!ssl) ossl::fail(Errc::Crypto, "cannot set up a TLS client");
  SSL_set_fd(ssl.get(), sock.get());
  // SSL_set_tlsext_host_name without its C cast (RFC 6066 §3 server_name).
  if (!sni.empty())
    SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(sni.c_str()));
  if (SSL_connect(ssl.get()) != 1) {
    const int saved = errno;
    std::string detail = ossl::take_errors();
    if (detail.empty()) detail = saved != 0 ? std::strerror(saved) : "the server closed the connection";
    result.error = "TLS handshake with " + where + " failed: " + detail;
    return result;
  }
  const ossl::Cert leaf(SSL_get1_peer_certificate(ssl.get()));
  SSL_shutdown(ssl.get());
  ossl::clear_errors();
  if (!leaf) {
    result.error = where + " sent no certificate";
    return result;
  }
  const auto info = x509::inspect_certificate(leaf.get());
  result.reached = true;
  result.fingerprint_sha256 = info.fingerprint_sha256;
  result.subject = info.subject;
  result.serial_hex = info.serial_hex;
  result.not_after = info.not_after;
  return result;
}

ProbeResult probe_until(const Endpoint& endpoint, const std::string& sni,
                        const std::string& expected, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  int in_a_row = 0;
  std::optional<ProbeResult> last_other;  // what a connection got since the first match
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    auto r = probe_once(endpoint, sni, std::max(std::chrono::milliseconds(500),
                                                std::min(left, std::chrono::milliseconds(3000))));
    const bool matched = r.reached && r.fingerprint_sha256 == expected;
    if (matched && ++in_a_row == k_settled_probes) return r;
    if (!matched) {
      if (in_a_row > 0) last_other = r;
      in_a_row = 0;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      // Out of time while the server still changes its answer: report the other answer.
      return matched && last_other ? *last_other : r;
    // Settling probes follow at once; a server still reloading gets a moment.
    if (!matched) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace keysafe::deploy
