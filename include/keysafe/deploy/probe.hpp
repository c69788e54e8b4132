// Connecting to a server with TLS to see which certificate it serves.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace keysafe::deploy {

struct Endpoint {
  std::string host;
  std::string port;
};

// "HOST:PORT", "[IPv6]:PORT"; throws Errc::Usage naming `text` otherwise.
Endpoint parse_endpoint(const std::string& text);

struct ProbeResult {
  bool reached = false;         // a TLS handshake completed and the server sent a certificate
  std::string error;            // why not, when !reached
  std::string fingerprint_sha256;  // of the served leaf, lowercase hex
  std::string subject;
  std::string serial_hex;
  std::int64_t not_after = 0;
};

// One handshake (TLS 1.2 or 1.3, SNI `sni` when not empty, no verification: the leaf is
// compared by fingerprint), giving up after `timeout`.
ProbeResult probe_once(const Endpoint& endpoint, const std::string& sni,
                       std::chrono::milliseconds timeout);

// Probes until the served leaf has `expected` fingerprint or `patience` has passed (servers
// take a moment to reload); returns the last result.
ProbeResult probe_until(const Endpoint& endpoint, const std::string& sni,
                        const std::string& expected, std::chrono::milliseconds patience);

}  // namespace keysafe::deploy
