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
  bool refused = false;         // nothing listens there: every address refused the connection
  std::string fingerprint_sha256;  // of the served leaf, lowercase hex
  std::string subject;
  std::string serial_hex;
  std::int64_t not_after = 0;
};

// One handshake (TLS 1.2 or 1.3, SNI `sni` when not empty, no verification: the leaf is
// compared by fingerprint), giving up after `timeout`.
ProbeResult probe_once(const Endpoint& endpoint, const std::string& sni,
                       std::chrono::milliseconds timeout);

// After a reload a server answers from old and new workers for a moment (nginx's old workers
// accept until they have handled the signal): the served leaf counts as `expected` once that
// many connections in a row get it.
inline constexpr int k_settled_probes = 3;

// Probes until k_settled_probes connections in a row get the `expected` leaf (by fingerprint)
// or `patience` has passed (servers take a moment to reload). Returns the last result; when
// time runs out after the expected leaf was seen, the last connection that got another one.
ProbeResult probe_until(const Endpoint& endpoint, const std::string& sni,
                        const std::string& expected, std::chrono::milliseconds patience);

}  // namespace keysafe::deploy
