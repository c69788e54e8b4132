// HTTPS requests through libcurl's easy interface, one handle reused per client (connection
// reuse: an order is a dozen requests to the same server).
#include "keysafe/acme/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "keysafe/error.hpp"

namespace keysafe::acme {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  HttpResponse* response;
  std::size_t max_body;
  std::size_t max_headers;
  std::size_t header_bytes = 0;
  bool overflow = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink->response->body.size() + n > sink->max_body) {
    sink->overflow = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  sink->response->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  sink->header_bytes += n;
  if (sink->header_bytes > sink->max_headers) {
    sink->overflow = true;
    return 0;
  }
  const std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    sink->response->headers.clear();  // a new response (after 100 Continue)
    return n;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  sink->response->headers.emplace_back(lower(trim(line.substr(0, colon))),
                                       trim(line.substr(colon + 1)));
  return n;
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return std::nullopt;
}

std::vector<std::string> HttpResponse::headers_named(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k == name) out.push_back(v);
  return out;
}

std::string HttpResponse::content_type() const {
  const auto v = header("content-type");
  if (!v) return {};
  return lower(trim(v->substr(0, v->find(';'))));
}

struct HttpClient::Curl {
  CURL* handle = nullptr;
  ~Curl() {
    if (handle != nullptr) curl_easy_cleanup(handle);
  }
};

HttpClient::HttpClient(HttpOptions options)
    : m_options(std::move(options)), m_curl(std::make_unique<Curl>()) {
  global_init();
  m_curl->handle = curl_easy_init();
  if (m_curl->handle == nullptr) throw Error(Errc::Internal, "curl_easy_init failed");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::get(const std::string& url) { return perform("GET", url, nullptr, {}); }
HttpResponse HttpClient::head(const std::string& url) { return perform("HEAD", url, nullptr, {}); }
HttpResponse HttpClient::post(const std::string& url, const std::string& body,
                              const std::string& content_type) {
  return perform("POST", url, &body, content_type);
}

HttpResponse HttpClient::perform(const std::string& method, const std::string& url,
                                 const std::string* body, const std::string& content_type) {
  if (lower(url.substr(0, 8)) != "https://")
    throw Error(Errc::AcmeUnreachable, "the ACME URL \"" + url + "\" is not https",
                "RFC 8555 §6.1: ACME runs over HTTPS only",
                "give the directory as https://...");
  CURL* c = m_curl->handle;
  curl_easy_reset(c);
  HttpResponse response;
  response.url = url;
  Sink sink{&response, m_options.max_body, m_options.max_headers};
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "User-Agent: keysafe-acme/1");
  if (body != nullptr) headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // ACME answers Location as data, never a hop
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(m_options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(m_options.total_timeout.count()));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_blob ca_blob{};
  if (m_options.ca_pem) {
    // In memory (curl >= 7.77): no temporary file, and that PEM only, not the system store too.
    ca_blob.data = m_options.ca_pem->data();
    ca_blob.len = m_options.ca_pem->size();
    ca_blob.flags = CURL_BLOB_NOCOPY;
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca_blob);
    curl_easy_setopt(c, CURLOPT_CAPATH, static_cast<char*>(nullptr));
    curl_easy_setopt(c, CURLOPT_CAINFO, static_cast<char*>(nullptr));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(m_options.max_body));
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (body != nullptr) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    const std::string detail = error[0] != '\0' ? std::string(error) : curl_easy_strerror(rc);
    if (sink.overflow || rc == CURLE_FILESIZE_EXCEEDED)
      throw Error(Errc::AcmeUnreachable,
                  "the ACME server's answer to " + method + " " + url + " is too large",
                  "keysafe reads at most " + std::to_string(m_options.max_body / 1024) +
                      " KiB of body and " + std::to_string(m_options.max_headers / 1024) +
                      " KiB of headers from an ACME server",
                  "check that the directory URL names an ACME server");
    const bool tls = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CONNECT_ERROR ||
                     rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM;
    if (tls)
      throw Error(Errc::AcmeUnreachable,
                  "the ACME server at " + url + " could not be verified",
                  "TLS: " + detail +
                      (m_options.ca_pem ? " (trusting only " + m_options.ca_description + ")"
                                        : " (trusting the system store)"),
                  m_options.ca_pem
                      ? "give the CA file that issued the ACME server's own certificate "
                        "(--directory-ca-file or KEYSAFE_ACME_CA_FILE)"
                      : "if the ACME server uses a private CA, give its certificate with "
                        "--directory-ca-file FILE (or KEYSAFE_ACME_CA_FILE)");
    throw Error(Errc::AcmeUnreachable, "the ACME server at " + url + " could not be reached",
                detail, "check the directory URL, the network, and that the server runs");
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::optional<std::int64_t> retry_after_seconds(const std::optional<std::string>& value,
                                                std::int64_t now) {
  if (!value || value->empty()) return std::nullopt;
  const std::string v = trim(*value);
  if (std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    if (v.size() > 9) return std::int64_t{999999999};
    return std::stoll(v);
  }
  const time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(when) - now);
}

std::vector<std::string> links(const HttpResponse& r, std::string_view rel) {
  // Link: <URL>;rel="up", <URL2>;rel="alternate"  (possibly several headers)
  std::vector<std::string> out;
  for (const auto& value : r.headers_named("link")) {
    std::size_t pos = 0;
    while (pos < value.size()) {
      const auto open = value.find('<', pos);
      if (open == std::string::npos) break;
      const auto close = value.find('>', open);
      if (close == std::string::npos) break;
      const auto next = value.find('<', close);
      const std::string params =
          lower(value.substr(close + 1, next == std::string::npos ? std::string::npos : next - close - 1));
      const std::string want = "rel=\"" + std::string(rel) + "\"";
      const std::string want_bare = "rel=" + std::string(rel);
      if (params.find(want) != std::string::npos ||
          (params.find(want_bare) != std::string::npos &&
           params.find(want_bare + "\"") == std::string::npos))
        out.push_back(value.substr(open + 1, close - open - 1));
      pos = close + 1;
    }
  }
  return out;
}

}  // namespace keysafe::acme
