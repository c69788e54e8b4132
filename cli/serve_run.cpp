// keysafe serve's work, in the keysafe-serve executable only (serve_command.hpp says why).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <charconv>
#include <cctype>
#include <ostream>
#include <thread>

#include "commands.hpp"
#include "serve_command.hpp"
#include "keysafe/ops/server_identity.hpp"
#include "keysafe/store/database.hpp"
#include "web_server.hpp"

namespace keysafe::cli {
namespace {

struct ListenAddress {
  std::string host;
  int port = 0;
};

Error bad_listen(const std::string& text, std::string cause) {
  return Error(Errc::Usage, "\"" + text + "\" is not an address to listen on", std::move(cause),
               "--listen ADDR:PORT, e.g. --listen 127.0.0.1:8443 or --listen [::1]:8443");
}

ListenAddress parse_listen(const std::string& text) {
  ListenAddress a;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) throw bad_listen(text, "an IPv6 address is written [ADDR]:PORT");
    a.host = text.substr(1, close - 1);
    port = std::string_view(text).substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon)
      throw bad_listen(text, "it needs a port after a colon");
    a.host = text.substr(0, colon);
    port = std::string_view(text).substr(colon + 1);
  }
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (a.host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      a.port < 1 || a.port > 65535)
    throw bad_listen(text, "the port is a number from 1 to 65535 after the address");
  return a;
}

// "15" (minutes) or "30s" (seconds), from 1 second to one day.
std::int64_t parse_idle_timeout(const std::string& text) {
  std::string_view digits = text;
  const bool seconds = !digits.empty() && digits.back() == 's';
  if (seconds) digits.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const std::int64_t total = value > 86400 ? 86401 : seconds ? value : value * 60;
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value < 1 ||
      total > 86400)
    throw Error(Errc::Usage, "\"" + text + "\" is not an idle timeout",
                "--idle-timeout is minutes (1 to 1440), or seconds with an s (\"90s\")",
                "for example: keysafe serve --idle-timeout 15");
  return total;
}

std::string colon_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i != 0) out += ':';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
    if (i + 1 < hex.size()) out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
  }
  return out;
}

// Where the self-signed pair lives: beside a store file, or (a database store) in keysafe's
// data directory.
std::filesystem::path identity_directory(const Context& ctx, const std::filesystem::path& store) {
  if (!store::is_database_uri(store.string())) return std::filesystem::absolute(store).parent_path();
  if (auto x = ctx.env.getenv("XDG_DATA_HOME"); x && !x->empty())
    return std::filesystem::path(*x) / "keysafe";
  if (auto h = ctx.env.getenv("HOME"); h && !h->empty())
    return std::filesystem::path(*h) / ".local" / "share" / "keysafe";
  throw Error(Errc::Usage, "cannot tell where to keep the server's TLS files",
              "the store is a database, and neither XDG_DATA_HOME nor HOME is set",
              "set HOME, or serve a stored entry's certificate with --tls-entry NAME");
}

}  // namespace

int run_serve(Context& ctx, const ServeRequest& request) {
  const auto* listen = &request.listen;
  const auto* tls_entry = &request.tls_entry;
  const auto* idle = &request.idle_timeout;
  const auto* max_body = &request.max_body;
  const auto address = parse_listen(*listen);
  if (!server::is_loopback(address.host) && tls_entry->empty())
    throw Error(Errc::Usage,
                "refusing to serve on " + address.host + " with a self-signed certificate",
                "a certificate no client can verify is only safe on this machine (loopback)",
                "name an installed entry for it: keysafe serve --listen " + *listen +
                    " --tls-entry NAME (or listen on 127.0.0.1)");
  const auto idle_seconds = parse_idle_timeout(*idle);
  if (*max_body < 1024 || *max_body > (1u << 30))
    throw Error(Errc::Usage, "--max-body is a number of bytes from 1024 to 1073741824");

  const auto store_path = ctx.store_path();
  ops::ServerIdentity identity;
  if (!tls_entry->empty()) {
    auto store = ctx.open_unlocked_store();
    identity = ops::entry_server_identity(store, *tls_entry);
  } else {
    // The store must exist: a typo in --store would otherwise serve nothing, silently.
    (void)store::Keystore::open_for_listing(store_path);
    identity = ops::self_signed_server_identity(identity_directory(ctx, store_path),
                                                store_path.filename().string(), address.host,
                                                ctx.env.now());
  }

  server::ServeOptions options;
  options.host = address.host;
  options.port = address.port;
  options.store = store_path;
  options.idle_timeout_seconds = idle_seconds;
  options.max_body = *max_body;
  options.now = ctx.env.now;
  options.log = &ctx.out;

  // SIGTERM and SIGINT go to one thread that stops the server; the server's threads, made
  // after this, inherit the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGUSR1);  // ends the waiting thread when the server stops otherwise
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  struct RestoreMask {
    sigset_t mask;
    ~RestoreMask() { pthread_sigmask(SIG_SETMASK, &mask, nullptr); }
  } restore{previous};

  const bool created = identity.created;
  const auto certificate_file = identity.certificate_file;
  const auto fingerprint = identity.fingerprint_sha256;
  server::WebServer web(std::move(options), std::move(identity));
  web.bind();
  const std::string host = address.host.find(':') != std::string::npos ? "[" + address.host + "]"
                                                                        : address.host;
  ctx.out << "keysafe serve: https://" << host << ":" << address.port << "/ (store "
          << store_path.string() << ")\n";
  if (tls_entry->empty())
    ctx.out << "certificate: " << (created ? "made " : "reused ")
            << certificate_file.string() << " (self-signed)\n";
  else
    ctx.out << "certificate: entry \"" << *tls_entry << "\"\n";
  ctx.out << "SHA-256 fingerprint: " << colon_hex(fingerprint) << '\n'
          << "the store is locked until a session unlocks it; stop with SIGTERM or Ctrl-C\n"
          << std::flush;

  std::atomic<int> received = 0;
  std::thread waiter([&] {
    int sig = 0;
    if (sigwait(&signals, &sig) == 0 && sig != SIGUSR1) {
      received = sig;
      web.stop();
    }
  });
  web.run();
  if (received == 0) pthread_kill(waiter.native_handle(), SIGUSR1);
  waiter.join();
  const int sig = received;
  ctx.out << "keysafe serve: stopped"
          << (sig == SIGTERM ? " (SIGTERM)" : sig == SIGINT ? " (SIGINT)" : "") << '\n';
  return 0;
}

}  // namespace keysafe::cli
