// HTTPS for ACME on libcurl: https only (redirects too), the system trust store or one CA
// file, timeouts, and a cap on what a server may send back.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace keysafe::acme {

struct HttpOptions {
  // PEM trust anchors for the server's certificate (only these); nullopt = the system store.
  std::optional<std::string> ca_pem;
  std::string ca_description;  // where ca_pem came from, for messages (a file, "the account's")
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds total_timeout{60};
  // A directory, order or chain is a few KiB; a hostile server sending more is cut off.
  std::size_t max_body = 1 << 20;
  std::size_t max_headers = 64 << 10;
};

struct HttpResponse {
  long status = 0;
  std::string url;  // what was asked for
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case, in order
  std::string body;

  // The first header of that (lower-case) name.
  std::optional<std::string> header(std::string_view name) const;
  // Every value of a header (Link may come several times).
  std::vector<std::string> headers_named(std::string_view name) const;
  std::string content_type() const;  // without parameters, lower-case
};

class HttpClient final {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Throws Errc::AcmeUnreachable (no connection, TLS not verified, timeout, too large, not
  // https) naming the URL; any HTTP status is returned.
  HttpResponse get(const std::string& url);
  HttpResponse head(const std::string& url);
  HttpResponse post(const std::string& url, const std::string& body,
                    const std::string& content_type);

  const HttpOptions& options() const noexcept { return m_options; }

 private:
  HttpResponse perform(const std::string& method, const std::string& url,
                       const std::string* body, const std::string& content_type);
  HttpOptions m_options;
  struct Curl;
  std::unique_ptr<Curl> m_curl;
};

// Seconds to wait from a Retry-After value (RFC 9110 §10.2.3: seconds or an HTTP date),
// relative to `now`; nullopt when absent or unreadable.
std::optional<std::int64_t> retry_after_seconds(const std::optional<std::string>& value,
                                                std::int64_t now);

// The URL of a Link header with rel="REL" (RFC 8288), e.g. "up", "alternate", "index".
std::vector<std::string> links(const HttpResponse& r, std::string_view rel);

}  // namespace keysafe::acme
