// The routes of keysafe serve and what every request goes through: Host and Origin checks,
// CSRF tokens, security headers, the body limit, one log line, errors as {"error": {...}}.
#include "web_server.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <httplib.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>

#include "assets.hpp"
#include "keysafe/error.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/ops/audit.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/check.hpp"
#include "keysafe/ops/deploy.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ops/export.hpp"
#include "keysafe/ops/install.hpp"
#include "keysafe/ops/inventory.hpp"
#include "keysafe/ops/serve_tokens.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "passphrase_body.hpp"
#include "render.hpp"
#include "render_reports.hpp"
#include "sessions.hpp"

namespace keysafe::server {
namespace {

constexpr const char* k_cookie = "__Host-keysafe-session";
constexpr const char* k_json = "application/json";

// An answer other than 200 with the error document: `code` is the library's error code name,
// or one of the server's own (unauthorized, csrf, not-found, too-large, ...).
struct HttpError {
  int status;
  std::string code;
  Error error;
};

int status_for(Errc code) {
  switch (code) {
    case Errc::Usage:
    case Errc::BadInput: return 400;
    case Errc::WrongPassphrase: return 401;
    case Errc::Refused: return 403;
    case Errc::NotFound: return 404;
    case Errc::AlreadyExists:
    case Errc::KeyNotFound:
    case Errc::KeyCertMismatch:
    case Errc::RequestNotCertificate: return 409;
    case Errc::Unsupported:
    case Errc::WeakKey:
    case Errc::Damaged:
    case Errc::FilePassword: return 422;
    case Errc::StoreLocked:
    case Errc::StoreUnreachable:
    case Errc::StoreReadOnly: return 503;
    default: return 500;
  }
}

HttpError from_library(const Error& e) {
  return {status_for(e.code()), std::string(errc_name(e.code())), e};
}

void send_error(httplib::Response& res, const HttpError& h) {
  const nlohmann::json j = {{"error",
                             {{"code", h.code},
                              {"summary", h.error.summary()},
                              {"cause", h.error.cause()},
                              {"fix", h.error.remedy()}}}};
  res.status = h.status;
  res.set_content(j.dump(2, ' ', false, cli::k_invalid_utf8) + "\n", k_json);
}

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_content(j.dump(2, ' ', false, cli::k_invalid_utf8) + "\n", k_json);
}

bool is_state_changing(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

// The value of one cookie of the Cookie header(s), or "".
std::string cookie_value(const httplib::Request& req, std::string_view name) {
  const auto count = req.get_header_value_count("Cookie");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string value = req.get_header_value("Cookie", i);
    std::string_view header = value;
    while (!header.empty()) {
      const auto end = header.find(';');
      std::string_view pair = header.substr(0, end);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name)
        return std::string(pair.substr(eq + 1));
      if (end == std::string_view::npos) break;
      header.remove_prefix(end + 1);
    }
  }
  return {};
}

bool equal_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// A request path as it may be logged: printable ASCII, at most 200 characters.
std::string loggable(std::string_view path) {
  std::string out;
  for (const char c : path.substr(0, 200)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  if (path.size() > 200) out += "...";
  return out;
}

// When the request being handled on this worker thread began (the pre-routing handler runs
// before the body is read; requests refused earlier, such as a malformed request line, have
// none and log no duration).
thread_local std::optional<std::chrono::steady_clock::time_point> t_request_start;

// A request body that must be a JSON object (BadInput, 400, otherwise).
nlohmann::json json_object_body(const std::string& body, std::string_view what) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw Error(Errc::BadInput, "the request body is not a JSON object",
                "this route takes " + std::string(what), "see docs/API.md or /api/v1/openapi.json");
  return j;
}

Error bad_field(const std::string& field, const std::string& expected) {
  return Error(Errc::BadInput, "\"" + field + "\" is not " + expected, "",
               "see docs/API.md or /api/v1/openapi.json");
}

std::string string_field(const nlohmann::json& j, const std::string& field, bool required,
                         std::string fallback = {}) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) throw bad_field(field, "given (a string is required)");
    return fallback;
  }
  if (!it->is_string()) throw bad_field(field, "a string");
  return it->get<std::string>();
}

std::vector<std::string> strings_field(const nlohmann::json& j, const std::string& field) {
  std::vector<std::string> out;
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) throw bad_field(field, "an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) throw bad_field(field, "an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

bool bool_field(const nlohmann::json& j, const std::string& field) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return false;
  if (!it->is_boolean()) throw bad_field(field, "true or false");
  return it->get<bool>();
}

// The "passphrase" of a backup or export body, in cleansing memory; the parser's copy and
// the body are wiped by the caller.
SecureBytes file_passphrase(nlohmann::json& j) {
  const auto it = j.find("passphrase");
  if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
    throw Error(Errc::BadInput, "\"passphrase\" is missing or not a non-empty string",
                "the file is encrypted with a passphrase of your choice",
                "send {\"passphrase\": \"...\", \"confirm\": true, ...}");
  auto& text = it->get_ref<std::string&>();
  SecureBytes pass(text.begin(), text.end());
  OPENSSL_cleanse(text.data(), text.size());
  return pass;
}

// Private keys leave only when the request confirms the warning (as the CLI's prompt or --yes).
void require_confirmation(const nlohmann::json& j, const std::string& what) {
  if (bool_field(j, "confirm")) return;
  throw HttpError{422, "confirm-required",
                  Error(Errc::Refused, "refusing to send private keys without confirmation",
                        "whoever holds " + what + " and its passphrase can impersonate the sites",
                        "read the warning, then send \"confirm\": true")};
}

void wipe(const httplib::Request& req) {
  auto& body = const_cast<std::string&>(req.body);
  OPENSSL_cleanse(body.data(), body.size());
}

// An attachment's file name: the entry name (validated: no quote, slash or control) and suffix.
void attach(httplib::Response& res, std::string content, const std::string& type,
            const std::string& filename) {
  res.status = 200;
  res.set_header("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  res.set_content(std::move(content), type);
}

}  // namespace

bool is_loopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

struct WebServer::Impl {
  ServeOptions options;
  ops::ServerIdentity identity;
  std::unique_ptr<httplib::SSLServer> http;
  SessionTable sessions;
  UnlockThrottle throttle;
  std::set<std::string> hosts;  // the Host header values this server answers to
  std::mutex log_mutex;

  Impl(ServeOptions o, ops::ServerIdentity id)
      : options(std::move(o)), identity(std::move(id)), sessions(options.idle_timeout_seconds) {
    const std::string port = std::to_string(options.port);
    const auto add_host = [&](const std::string& h) {
      const std::string name = h.find(':') != std::string::npos ? "[" + h + "]" : h;
      hosts.insert(name + ":" + port);
      if (options.port == 443) hosts.insert(name);  // browsers leave the default port out
    };
    add_host(options.host);
    // The names the certificate is for (--tls-entry): what clients that verify it use.
    for (const auto& dns : x509::inspect_certificate(identity.certificate.get()).dns)
      add_host(dns);
    if (is_loopback(options.host)) {
      add_host("localhost");
      add_host("127.0.0.1");
      add_host("::1");
    }
  }

  std::int64_t now() const { return options.now ? options.now() : ops::now_unix(); }

  void setup_tls(SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate(&ctx, identity.certificate.get()) != 1 ||
        SSL_CTX_use_PrivateKey(&ctx, identity.key.get()) != 1)
      throw Error(Errc::Crypto, "cannot set up TLS with the server's key and certificate");
    for (const auto& c : identity.chain)
      if (SSL_CTX_add1_chain_cert(&ctx, c.get()) != 1)
        throw Error(Errc::Crypto, "cannot add an intermediate certificate to the TLS chain");
  }

  void log_line(const httplib::Request& req, const httplib::Response& res) {
    std::string duration = "-";
    if (t_request_start) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - *t_request_start)
                          .count();
      std::ostringstream d;
      d.setf(std::ios::fixed);
      d.precision(1);
      d << static_cast<double>(us) / 1000.0 << "ms";
      duration = d.str();
      t_request_start.reset();
    }
    if (options.log == nullptr) return;
    const std::string line = ops::format_rfc3339(now()) + " " + loggable(req.method) + " " +
                             loggable(req.path) + " " + std::to_string(res.status) + " " +
                             duration + "\n";
    const std::lock_guard lock(log_mutex);
    *options.log << line << std::flush;
  }

  // Host, Origin and CSRF checks before any route runs (and before a body is read).
  std::optional<HttpError> refusal(const httplib::Request& req) {
    const std::string host = req.get_header_value("Host");
    if (!hosts.contains(host))
      return HttpError{421, "misdirected",
                       Error(Errc::Refused, "this server does not answer to the host \"" +
                                                loggable(host) + "\"",
                             "a request for another name can come from a page that rebinds "
                             "its name to this address",
                             "use https://" + *hosts.begin() + "/")};
    if (!is_state_changing(req.method)) return std::nullopt;
    if (req.has_header("Origin") && !hosts.contains(strip_https(req.get_header_value("Origin"))))
      return HttpError{403, "csrf",
                       Error(Errc::Refused, "refusing a request from another site",
                             "its Origin is \"" + loggable(req.get_header_value("Origin")) + "\"",
                             "use the page this server serves")};
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (!site.empty() && site != "same-origin" && site != "none")
      return HttpError{403, "csrf",
                       Error(Errc::Refused, "refusing a request from another site",
                             "the browser says it came from a " + loggable(site) + " page",
                             "use the page this server serves")};
    const auto session = sessions.find(cookie_value(req, k_cookie), now());
    if (session && !equal_secret(req.get_header_value("X-CSRF-Token"), session->csrf_token))
      return HttpError{403, "csrf",
                       Error(Errc::Refused, "missing or wrong X-CSRF-Token",
                             "a request that changes something in a session must carry the "
                             "session's token",
                             "send the csrf_token of GET /api/v1/session as X-CSRF-Token")};
    return std::nullopt;
  }

  static std::string strip_https(const std::string& origin) {
    constexpr std::string_view scheme = "https://";
    if (origin.compare(0, scheme.size(), scheme) != 0) return {};
    return origin.substr(scheme.size());
  }

  std::shared_ptr<Session> session_of(const httplib::Request& req) {
    return sessions.find(cookie_value(req, k_cookie), now());
  }

  std::shared_ptr<Session> require_session(const httplib::Request& req) {
    auto s = session_of(req);
    if (!s)
      throw HttpError{401, "unauthorized",
                      Error(Errc::Refused, "the store is locked",
                            "this request needs an unlocked session (none, or it was idle too "
                            "long)",
                            "unlock: POST /api/v1/session with {\"passphrase\": ...}")};
    return s;
  }

  // The value of "Authorization: Bearer VALUE", or "" (another scheme, or none).
  static std::string bearer_of(const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view scheme = "bearer ";
    if (auth.size() <= scheme.size()) return {};
    for (std::size_t i = 0; i < scheme.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(auth[i])) != scheme[i]) return {};
    return auth.substr(scheme.size());
  }

  // Reads: an unlocked session, or a live bearer token (checked with the store locked).
  void require_reader(const httplib::Request& req) {
    if (session_of(req)) return;
    const std::string token = bearer_of(req);
    if (token.empty()) {
      require_session(req);
      return;
    }
    auto store = store::Keystore::open_for_listing(options.store);
    try {
      ops::check_serve_token(store, token, now());
    } catch (const Error& e) {
      if (e.code() != Errc::WrongPassphrase) throw;
      throw HttpError{401, "unauthorized", e};
    }
  }

  // Writes: an unlocked session only. A bearer token is read-only whatever its state.
  std::shared_ptr<Session> require_writer(const httplib::Request& req) {
    auto s = session_of(req);
    if (!s && req.has_header("Authorization"))
      throw HttpError{403, "read-only-token",
                      Error(Errc::Refused, "a bearer token only reads",
                            "serve tokens give read-only access; this request changes the store",
                            "unlock a session (POST /api/v1/session) to make changes")};
    return s ? s : require_session(req);
  }

  // Runs a route, turning every exception into an error document: no input ends the server.
  template <class F>
  static httplib::Server::Handler guarded(F route) {
    return [route](const httplib::Request& req, httplib::Response& res) {
      try {
        route(req, res);
      } catch (const HttpError& h) {
        send_error(res, h);
      } catch (const Error& e) {
        send_error(res, from_library(e));
      } catch (...) {
        send_error(res, {500, "internal",
                         Error(Errc::Internal, "unexpected failure", "",
                               "please report this as a keysafe bug")});
      }
    };
  }

  void get_session(const httplib::Request& req, httplib::Response& res) {
    const auto s = session_of(req);
    send_json(res, 200, {{"unlocked", s != nullptr},
                         {"csrf_token", s ? nlohmann::json(s->csrf_token) : nlohmann::json()}});
  }

  void post_session(const httplib::Request& req, httplib::Response& res) {
    // The body holds the passphrase: cleansed once read (the Request is httplib's own,
    // non-const object handed to us as const).
    auto& body = const_cast<std::string&>(req.body);
    std::optional<SecureBytes> pass;
    try {
      pass = passphrase_from_body(body);
    } catch (...) {
      OPENSSL_cleanse(body.data(), body.size());
      throw;
    }
    OPENSSL_cleanse(body.data(), body.size());
    auto store = store::Keystore::open(options.store);
    {
      auto attempt = throttle.begin_attempt();
      try {
        store.unlock(*pass);
      } catch (const Error& e) {
        if (e.code() != Errc::WrongPassphrase) throw;
        throttle.failed();
        // Not the library's message: it names the store's path and the command line's options.
        throw HttpError{401, "wrong-passphrase",
                        Error(Errc::WrongPassphrase, "wrong passphrase",
                              "this passphrase does not open the store",
                              "enter the store passphrase (the one given to keysafe init)")};
      }
      throttle.succeeded();
    }
    if (const auto old = cookie_value(req, k_cookie); !old.empty()) sessions.remove(old);
    const std::string id = sessions.create(std::move(store), now());
    const auto s = sessions.find(id, now());
    res.set_header("Set-Cookie", std::string(k_cookie) + "=" + id +
                                     "; Path=/; Secure; HttpOnly; SameSite=Strict");
    send_json(res, 200, {{"unlocked", true}, {"csrf_token", s->csrf_token}});
  }

  void delete_session(const httplib::Request& req, httplib::Response& res) {
    require_writer(req);
    sessions.remove(cookie_value(req, k_cookie));
    res.set_header("Set-Cookie", std::string(k_cookie) +
                                     "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    send_json(res, 200, {{"unlocked", false}, {"csrf_token", nullptr}});
  }

  void get_entries(const httplib::Request& req, httplib::Response& res) {
    require_reader(req);
    std::optional<std::int64_t> days;
    if (req.has_param("expiring")) days = ops::parse_days(req.get_param_value("expiring"));
    const bool summary = req.has_param("summary") && req.get_param_value("summary") == "true";
    auto store = store::Keystore::open_for_listing(options.store);
    const auto entries = ops::list_entries(store, now(), days);
    std::ostringstream out;
    if (summary)
      render_summary(entries, out);
    else
      cli::render_entries_json(entries, out);
    res.status = 200;
    res.set_content(out.str(), k_json);
  }

  // ?summary=true: only what the page's table shows (name, state, not_after, days_left,
  // backed_up), compact: a tenth of the full document's 7.8 MB over 10,000 entries, which took
  // Chromium 0.3-0.4 s to receive.
  static void render_summary(const std::vector<ops::EntryView>& entries, std::ostream& out) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : entries)
      arr.push_back({{"name", e.name},
                     {"state", e.state},
                     {"not_after", cli::time_or_null(e.not_after)},
                     {"days_left", e.days_left ? nlohmann::json(*e.days_left) : nlohmann::json()},
                     {"backed_up", e.last_backup.has_value()}});
    out << arr.dump(-1, ' ', false, cli::k_invalid_utf8) << '\n';
  }

  void get_entry(const httplib::Request& req, httplib::Response& res) {
    require_reader(req);
    const std::string name = req.matches[1];
    ops::validate_entry_name(name);
    auto store = store::Keystore::open_for_listing(options.store);
    std::ostringstream out;
    cli::render_show_json(store, ops::show_entry(store, name, now()), out);
    res.status = 200;
    res.set_content(out.str(), k_json);
  }

  // POST /api/v1/entries: as `keysafe create` (the request is kept; download it from
  // GET /api/v1/entries/{name}/request).
  void post_entries(const httplib::Request& req, httplib::Response& res) {
    const auto s = require_writer(req);
    const auto j = json_object_body(req.body, R"({"name", "dns": [], "ip": [], "key", "subject"})");
    const std::string key = string_field(j, "key", false, "ec-p256");
    const auto alg = x509::parse_key_algorithm(key);
    if (!alg)
      throw Error(Errc::Usage, "\"" + key + "\" is not a key algorithm keysafe creates",
                  "choose ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519",
                  "for example: \"key\": \"ec-p256\" (the default)");
    ops::CreateParams params{string_field(j, "name", true), strings_field(j, "dns"),
                             strings_field(j, "ip"), string_field(j, "subject", false), *alg,
                             now()};
    const std::lock_guard lock(s->mutex);
    auto& store = s->store;
    ops::prepare_create(store, params);
    const auto result = ops::create_key(store, params);
    std::optional<std::filesystem::path> backup_file;
    if (auto config = ops::auto_backup_config(store))
      backup_file = ops::auto_backup(store, *config, result.name, params.now);
    auto out = cli::create_json(result, std::nullopt, backup_file);
    out["request_url"] = "/api/v1/entries/" + result.name + "/request";
    res.set_header("Location", "/api/v1/entries/" + result.name);
    send_json(res, 201, out);
  }

  // GET /api/v1/entries/{name}/request: the stored request, PEM (a read: no secret in it).
  void get_request(const httplib::Request& req, httplib::Response& res) {
    require_reader(req);
    const std::string name = req.matches[1];
    ops::validate_entry_name(name);
    auto store = store::Keystore::open_for_listing(options.store);
    attach(res, ops::stored_request_pem(store, name), "application/pkcs10", name + ".req");
  }

  // NotFound for an unknown entry; KeyCertMismatch when the file's certificate is another
  // entry's. A file without this entry's certificate otherwise goes to install, which says what
  // it is (a request, a certificate for a lost key).
  void certificate_is_for(store::Keystore& store, const formats::ParsedInput& input,
                          const std::string& name) {
    const auto entry = ops::show_entry(store, name, now());
    for (const auto& c : input.certificates) {
      const auto spki = x509::inspect_certificate(c.get()).spki_sha256;
      if (spki == entry.spki_sha256) return;
      if (const auto other = store.key_by_spki(spki); other && other->name != name)
        throw Error(Errc::KeyCertMismatch,
                    "this certificate is for the entry \"" + other->name + "\", not \"" + name + "\"",
                    "its public key (SHA-256 " + spki + ") is that entry's key",
                    "upload it to /api/v1/entries/" + other->name + "/certificate");
    }
  }

  // POST /api/v1/entries/{name}/certificate: the CA's file, as `keysafe install` takes it. The
  // certificate must be for this entry's key; one for a key the store lacks is install's
  // lost-key diagnosis (409 key-not-found).
  void post_certificate(const httplib::Request& req, httplib::Response& res) {
    const auto s = require_writer(req);
    const std::string name = req.matches[1];
    ops::validate_entry_name(name);
    const std::string source = "the certificate uploaded for " + name;
    const auto input = formats::read_input(as_span(req.body), source);
    {
      // The checks read a store of their own: the session's is for the install alone.
      auto look = store::Keystore::open_for_listing(options.store);
      certificate_is_for(look, input, name);
    }
    const std::lock_guard lock(s->mutex);
    auto& store = s->store;
    ops::InstallOptions install;
    install.now = now();
    const auto r = ops::install_certificate(store, input, source, install);
    std::optional<std::filesystem::path> backup_file;
    if (!r.already_installed)
      if (auto config = ops::auto_backup_config(store))
        backup_file = ops::auto_backup(store, *config, r.name, install.now);
    send_json(res, r.already_installed ? 200 : 201, cli::install_json(r, backup_file));
  }

  // POST /api/v1/backup: {"names": [...]} or {"all": true}, "passphrase", "confirm": true;
  // answers the backup file (verified in memory first, audited as "backed-up").
  void post_backup(const httplib::Request& req, httplib::Response& res) {
    const auto s = require_writer(req);
    auto j = json_object_body(req.body, R"({"names": [...] or "all": true, "passphrase", "confirm": true})");
    wipe(req);
    SecureBytes pass = file_passphrase(j);
    const auto names = strings_field(j, "names");
    const bool all = bool_field(j, "all");
    if (all == !names.empty())
      throw Error(Errc::Usage, "name the entries to back up, or send \"all\": true (not both)", "",
                  "{\"names\": [\"www.example.com\"], \"passphrase\": ..., \"confirm\": true}");
    require_confirmation(j, "the backup");
    ops::BackupTarget target;
    target.kdf = crypto::KdfParams{kdf_cost(j), 8, 1};
    target.passphrase = std::move(pass);
    std::ostringstream out;
    target.stream = &out;
    const std::lock_guard lock(s->mutex);
    auto& store = s->store;
    const auto keys = ops::select_entries(store, names, all);
    const std::string filename =
        (all ? std::string("keysafe") : keys.size() == 1 ? keys.front().name : "keysafe") + "-" +
        ops::format_rfc3339(now()).substr(0, 10) + ".kbk";
    ops::write_backup(store, keys, target, "HTTPS download " + filename + " (keysafe serve)",
                      false, now(), all);
    std::string bytes = out.str();
    attach(res, std::move(bytes), "application/octet-stream", filename);
  }

  // POST /api/v1/entries/{name}/export: PKCS#12 with "passphrase" and "confirm": true
  // ("profile": "modern" or "compat", "chain": true to add the intermediates).
  void post_export(const httplib::Request& req, httplib::Response& res) {
    const auto s = require_writer(req);
    const std::string name = req.matches[1];
    ops::validate_entry_name(name);
    auto j = json_object_body(req.body, R"({"passphrase", "confirm": true, "profile", "chain"})");
    wipe(req);
    SecureBytes pass = file_passphrase(j);
    require_confirmation(j, "the PKCS#12 file");
    ops::ExportRequest r;
    r.name = name;
    r.format = ops::ExportFormat::Pfx;
    const std::string profile = string_field(j, "profile", false, "modern");
    if (profile != "modern" && profile != "compat") throw bad_field("profile", "modern or compat");
    r.profile = profile == "compat" ? formats::Pkcs12Profile::Compat : formats::Pkcs12Profile::Modern;
    r.chain = bool_field(j, "chain");
    r.password = std::move(pass);
    r.output = "HTTPS download " + name + ".p12 (keysafe serve)";
    std::ostringstream out;
    r.stream = &out;
    const std::lock_guard lock(s->mutex);
    ops::export_entry(s->store, r);
    attach(res, out.str(), "application/x-pkcs12", name + ".p12");
  }

  // POST /api/v1/ca/{ca}/sign: as `keysafe ca sign CA --key NAME` for the stored entry
  // {"name"} ({"days"}: 90 by default, cut to the CA's own; {"profile"}: server or client).
  // The certificate is installed into the entry, so the answer holds no file.
  void post_ca_sign(const httplib::Request& req, httplib::Response& res) {
    const auto s = require_writer(req);
    const std::string ca_name = req.matches[1];
    ops::validate_entry_name(ca_name);
    const auto j = json_object_body(req.body, R"({"name", "days", "profile"})");
    const std::string name = string_field(j, "name", true);
    ops::validate_entry_name(name);
    const std::string profile_name = string_field(j, "profile", false, "server");
    const auto profile = x509::parse_leaf_profile(profile_name);
    if (!profile) throw bad_field("profile", "server or client");
    ops::IssueOptions o;
    o.profile = *profile;
    o.days = 90;
    if (const auto it = j.find("days"); it != j.end() && !it->is_null()) {
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 36500)
        throw bad_field("days", "a whole number of days from 1 to 36500");
      o.days = it->get<std::int64_t>();
    }
    o.now = now();
    const std::lock_guard lock(s->mutex);
    auto& store = s->store;
    (void)ops::find_authority(store, ca_name);
    const ops::Authority ca = ops::Authority::open(store, ca_name);
    const auto r = ops::ca_sign_key(store, ca, name, o);
    std::optional<std::filesystem::path> backup_file;
    if (r.installed && !r.installed->already_installed)
      if (auto config = ops::auto_backup_config(store))
        backup_file = ops::auto_backup(store, *config, r.installed->name, o.now);
    nlohmann::json out{{"ca", r.ca},
                       {"profile", x509::leaf_profile_name(*profile)},
                       {"certificate", cli::certificate_info_json(r.certificate)},
                       {"installed", r.installed.has_value()},
                       {"name", r.installed ? nlohmann::json(r.installed->name) : nlohmann::json()},
                       {"output", nullptr},
                       {"backup_file", backup_file ? nlohmann::json(backup_file->string())
                                                   : nlohmann::json()}};
    if (r.installed && r.installed->replaced_entry) out["replaced_entry"] = *r.installed->replaced_entry;
    send_json(res, 201, out);
  }

  // POST /api/v1/ca/{ca}/revoke: as `keysafe ca revoke CA WHAT [--reason R] --json`, WHAT a
  // serial (hex) or an entry name ({"what", "reason"}); 200 also when it was revoked already.
  void post_ca_revoke(const httplib::Request& req, httplib::Response& res) {
    const auto s = require_writer(req);
    const std::string ca_name = req.matches[1];
    ops::validate_entry_name(ca_name);
    const auto j = json_object_body(req.body, R"({"what", "reason"})");
    const std::string what = string_field(j, "what", true);
    const std::string reason = string_field(j, "reason", false);
    const std::lock_guard lock(s->mutex);
    const auto r = ops::ca_revoke(s->store, ca_name, what,
                                  reason.empty() ? std::nullopt : std::optional(reason), now());
    send_json(res, 200, {{"ca", r.ca},
                         {"serial", r.serial},
                         {"subject", r.subject},
                         {"name", r.key_name ? nlohmann::json(*r.key_name) : nlohmann::json()},
                         {"reason", r.reason},
                         {"already_revoked", r.already_revoked}});
  }

  // "kdf_cost" (log2 N of scrypt, 14 to 22) of a backup body; the CLI's default without it.
  static std::uint32_t kdf_cost(const nlohmann::json& j) {
    const auto it = j.find("kdf_cost");
    if (it == j.end() || it->is_null()) return crypto::k_default_log2_n;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 14 || it->get<std::int64_t>() > 22)
      throw bad_field("kdf_cost", "an integer from 14 to 22");
    return static_cast<std::uint32_t>(it->get<std::int64_t>());
  }

  // The store a read runs on: the session's (unlocked: check opens the keys, audit checks its
  // head MAC) or, for a bearer token, one opened locked for this request.
  template <class F>
  void with_read_store(const httplib::Request& req, F read) {
    if (const auto s = session_of(req)) {
      const std::lock_guard lock(s->mutex);
      read(s->store);
      return;
    }
    require_reader(req);
    auto store = store::Keystore::open_for_listing(options.store);
    read(store);
  }

  static std::string no_store_option(std::string_view fix) { return std::string(fix); }

  // GET /api/v1/check: as `keysafe check --json` (?name=NAME for one entry).
  void get_check(const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> name;
    if (req.has_param("name")) {
      name = req.get_param_value("name");
      ops::validate_entry_name(*name);
    }
    with_read_store(req, [&](store::Keystore& store) {
      const auto report = ops::check_store(store, name, now());
      const int code = report.damaged() ? 8 : 0;  // cli::k_exit_damaged, as check without --strict
      send_json(res, 200, cli::check_json(report, store.path().string(), no_store_option, code));
    });
  }

  // GET /api/v1/audit: as `keysafe audit --json`; ?verify=true as `audit --verify --json`.
  void get_audit(const httplib::Request& req, httplib::Response& res) {
    const bool verify = req.has_param("verify") && req.get_param_value("verify") == "true";
    with_read_store(req, [&](store::Keystore& store) {
      send_json(res, 200, cli::audit_json(ops::verify_audit(store), verify));
    });
  }

  // GET /api/v1/deployments: as `keysafe deployments --json`.
  void get_deployments(const httplib::Request& req, httplib::Response& res) {
    with_read_store(req, [&](store::Keystore& store) {
      send_json(res, 200, cli::deployments_json(ops::list_deployments(store)));
    });
  }

  // GET /api/v1/status: as `keysafe status --json` (probes every target, 5 s each at most).
  void get_status(const httplib::Request& req, httplib::Response& res) {
    std::optional<std::string> name;
    if (req.has_param("name")) {
      name = req.get_param_value("name");
      ops::validate_entry_name(*name);
    }
    with_read_store(req, [&](store::Keystore& store) {
      const auto statuses = ops::deployment_status(store, name, std::chrono::milliseconds(5000));
      send_json(res, 200, cli::status_json(statuses, no_store_option));
    });
  }

  void routes() {
    auto& s = *http;
    for (const auto& asset : embedded_assets()) {
      const Asset* a = &asset;
      s.Get(std::string(a->path), [a](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(a->content), std::string(a->content_type));
      });
    }
    // Browsers ask for it unprompted; the page has none.
    s.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    s.Get("/api/v1/session", guarded([this](const auto& q, auto& r) { get_session(q, r); }));
    s.Post("/api/v1/session", guarded([this](const auto& q, auto& r) { post_session(q, r); }));
    s.Delete("/api/v1/session", guarded([this](const auto& q, auto& r) { delete_session(q, r); }));
    s.Get("/api/v1/entries", guarded([this](const auto& q, auto& r) { get_entries(q, r); }));
    s.Post("/api/v1/entries", guarded([this](const auto& q, auto& r) { post_entries(q, r); }));
    s.Get(R"(/api/v1/entries/([^/]+)/request)",
          guarded([this](const auto& q, auto& r) { get_request(q, r); }));
    s.Post(R"(/api/v1/entries/([^/]+)/certificate)",
           guarded([this](const auto& q, auto& r) { post_certificate(q, r); }));
    s.Post(R"(/api/v1/entries/([^/]+)/export)",
           guarded([this](const auto& q, auto& r) { post_export(q, r); }));
    s.Post("/api/v1/backup", guarded([this](const auto& q, auto& r) { post_backup(q, r); }));
    s.Post(R"(/api/v1/ca/([^/]+)/sign)",
           guarded([this](const auto& q, auto& r) { post_ca_sign(q, r); }));
    s.Post(R"(/api/v1/ca/([^/]+)/revoke)",
           guarded([this](const auto& q, auto& r) { post_ca_revoke(q, r); }));
    s.Get("/api/v1/check", guarded([this](const auto& q, auto& r) { get_check(q, r); }));
    s.Get("/api/v1/audit", guarded([this](const auto& q, auto& r) { get_audit(q, r); }));
    s.Get("/api/v1/deployments",
          guarded([this](const auto& q, auto& r) { get_deployments(q, r); }));
    s.Get("/api/v1/status", guarded([this](const auto& q, auto& r) { get_status(q, r); }));
    s.Get(R"(/api/v1/entries/(.*))", guarded([this](const auto& q, auto& r) { get_entry(q, r); }));

    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      t_request_start = std::chrono::steady_clock::now();
      // Answers are never compressed: Debian's httplib picks brotli at quality 11 for any
      // client that offers it (Chromium does), 29 s for the 7.8 MB list of 10,000 entries
      // against 1.1 s uncompressed; and compressing answers that hold a secret (csrf_token)
      // next to text a client chose is what BREACH exploits. (httplib's own, non-const
      // Request, handed to us as const.)
      auto& headers = const_cast<httplib::Request&>(req).headers;
      headers.erase("Accept-Encoding");
      // No route takes a form: a body sent as one (curl --data-binary's default type) is read
      // as bytes. httplib would cap it at 8,192 bytes whatever --max-body says (413 for a
      // certificate bundle uploaded with plain curl) and copy it into its parameters, where
      // an unlock body's passphrase would escape the wiping.
      if (const auto type = headers.find("Content-Type"); type != headers.end()) {
        std::string value = type->second;
        for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (value.rfind("application/x-www-form-urlencoded", 0) == 0)
          type->second = "application/octet-stream";
      }
      if (auto h = refusal(req)) {
        send_error(res, *h);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    // Answers httplib gives itself (no route, a body over the limit, a bad request) get the
    // error document too; an answer a route made already has its body.
    s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                    httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 413)
        send_error(res, {413, "too-large",
                         Error(Errc::Refused, "the request body is too large",
                               "this server accepts at most " +
                                   std::to_string(options.max_body) + " bytes",
                               "send less, or start keysafe serve with a larger --max-body")});
      else if (res.status == 404)
        send_error(res, {404, "not-found",
                         Error(Errc::NotFound, "nothing here: " + loggable(req.method) + " " +
                                                   loggable(req.path),
                               "", "docs/API.md lists the routes")});
      else
        send_error(res, {res.status, "bad-request",
                         Error(Errc::Usage, "the request could not be handled",
                               "HTTP status " + std::to_string(res.status), "")});
      return httplib::Server::HandlerResponse::Handled;
    }));
    s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      send_error(res, {500, "internal",
                       Error(Errc::Internal, "unexpected failure", "",
                             "please report this as a keysafe bug")});
    });
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      log_line(req, res);
    });
  }
};

WebServer::WebServer(ServeOptions options, ops::ServerIdentity identity)
    : m_impl(std::make_unique<Impl>(std::move(options), std::move(identity))) {
  std::optional<Error> tls_error;
  m_impl->http = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
    try {
      m_impl->setup_tls(ctx);
      return true;
    } catch (const Error& e) {
      tls_error = e;
      return false;
    }
  });
  if (tls_error) throw *tls_error;
  if (!m_impl->http->is_valid())
    throw Error(Errc::Crypto, "cannot set up TLS for keysafe serve");
  auto& s = *m_impl->http;
  s.set_payload_max_length(m_impl->options.max_body);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_keep_alive_timeout(5);
  // httplib writes the headers and the body separately; with Nagle's algorithm the body waits
  // for the client's delayed ACK, 40 ms on every answer (measured: a 204 took 45 ms).
  s.set_tcp_nodelay(true);
  s.set_default_headers({
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Strict-Transport-Security", "max-age=31536000"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  });
  m_impl->routes();
}

WebServer::~WebServer() = default;

void WebServer::bind() {
  const auto& o = m_impl->options;
  if (!m_impl->http->bind_to_port(o.host, o.port)) {
    const int err = errno;
    throw Error(Errc::Io, "cannot listen on " + o.host + ":" + std::to_string(o.port),
                err != 0 ? std::strerror(err) : "the address is taken or not local",
                "choose another --listen ADDR:PORT (another process may listen there)");
  }
}

void WebServer::run() { m_impl->http->listen_after_bind(); }

void WebServer::stop() { m_impl->http->stop(); }

}  // namespace keysafe::server
