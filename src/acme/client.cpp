// The RFC 8555 protocol over HttpClient: requests signed by jws.cpp, answers checked here.
#include "keysafe/acme/client.hpp"

#include <algorithm>
#include <ctime>
#include <thread>
#include <utility>

#include "keysafe/acme/jws.hpp"

namespace keysafe::acme {
namespace {

constexpr std::string_view k_problem_prefix = "urn:ietf:params:acme:error:";

struct ProblemAdvice {
  std::string_view kind;
  std::string_view meaning;
  std::string_view check;
};
// RFC 8555 §6.7's table, in words an administrator can act on.
constexpr ProblemAdvice k_advice[] = {
    {"accountDoesNotExist", "the CA has no account for this key",
     "create the account again: keysafe acme account create NAME --directory URL --email ADDR --agree-tos"},
    {"alreadyRevoked", "the certificate is revoked already", "nothing to do"},
    {"badCSR", "the CA does not accept the certificate request",
     "check the entry's names and key type (keysafe show NAME)"},
    {"badNonce", "the CA did not accept the request's nonce",
     "try again; a proxy between keysafe and the CA may replay or reorder requests"},
    {"badPublicKey", "the CA does not accept the key", "use another --key type"},
    {"badRevocationReason", "the CA does not accept that revocation reason", "choose another --reason"},
    {"badSignatureAlgorithm", "the CA does not accept the account key's signature algorithm",
     "create an account with --key ec-p256"},
    {"caa", "a CAA record forbids this CA to issue for the name",
     "check the name's CAA records (dig CAA NAME)"},
    {"compound", "several problems", "see each below"},
    {"connection", "the CA could not connect to the server answering the challenge",
     "check that the name resolves to this server and that port 80 reaches the --http-listen "
     "address or the web server serving --webroot (firewalls, NAT)"},
    {"dns", "the CA's DNS lookup failed", "check the name's DNS records"},
    {"externalAccountRequired", "the CA requires an external account binding",
     "get an EAB key id and HMAC key from the CA and create the account with "
     "--eab-kid ID --eab-hmac-key-file FILE"},
    {"incorrectResponse", "the CA fetched the challenge but got a wrong answer",
     "check that /.well-known/acme-challenge/ on port 80 is served from the --webroot directory "
     "(or reaches --http-listen), without redirects elsewhere"},
    {"invalidContact", "the CA does not accept the contact address", "give a valid --email"},
    {"malformed", "the CA says the request is malformed", "report this to keysafe's maintainers with --verbose output"},
    {"orderNotReady", "the order is not ready to be finalized", "run the command again"},
    {"rateLimited", "the CA's rate limit is reached", "wait until the retry time, then run the command again"},
    {"rejectedIdentifier", "the CA's policy refuses to issue for this name",
     "remove the name from --dns; public CAs issue only for registered public names"},
    {"serverInternal", "the CA had an internal error", "try again later"},
    {"tls", "the CA's TLS connection to the server answering the challenge failed",
     "check the server on the name's port 443"},
    {"unauthorized", "the CA says this account is not authorized for that",
     "check that the challenge is answered for every name, and that the account is valid "
     "(keysafe acme account show NAME)"},
    {"unsupportedContact", "the CA does not accept that kind of contact", "give a mailto: --email"},
    {"unsupportedIdentifier", "the CA does not issue for that kind of name", "use DNS names"},
    {"userActionRequired", "the CA needs the account holder to act (new terms of service)",
     "visit the URL in the CA's detail, then run the command again"},
};

const ProblemAdvice* advice_for(std::string_view kind) {
  for (const auto& a : k_advice)
    if (a.kind == kind) return &a;
  return nullptr;
}

std::string string_field(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A printable, bounded copy of text from the network (a CA's detail in a terminal).
std::string printable(std::string_view s, std::size_t max = 600) {
  std::string out;
  for (const char ch : s.substr(0, max)) {
    const auto c = static_cast<unsigned char>(ch);
    out += (c < 0x20 || c == 0x7f) ? ' ' : ch;
  }
  if (s.size() > max) out += "...";
  return out;
}

std::string required_url(const nlohmann::json& j, const char* name, std::string_view what) {
  const std::string v = string_field(j, name);
  if (v.rfind("https://", 0) != 0)
    throw Error(Errc::BadInput,
                "the ACME server's " + std::string(what) + " has no https \"" + name + "\" URL",
                "the answer is not what RFC 8555 specifies", "check the directory URL");
  return v;
}

}  // namespace

std::string resolve_directory(std::string_view name_or_url) {
  if (name_or_url == "letsencrypt") return std::string(k_letsencrypt);
  if (name_or_url == "letsencrypt-staging") return std::string(k_letsencrypt_staging);
  return std::string(name_or_url);
}

nlohmann::json parse_object(const HttpResponse& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw Error(Errc::BadInput, "the ACME server's answer from " + r.url + " is not a JSON object",
                "HTTP " + std::to_string(r.status) + ", " + std::to_string(r.body.size()) +
                    " bytes of " + (r.content_type().empty() ? "unknown type" : r.content_type()),
                "check that the directory URL names an ACME server");
  return j;
}

Directory parse_directory(std::string_view body, const std::string& url) {
  HttpResponse r;
  r.url = url;
  r.status = 200;
  r.body = std::string(body);
  const auto j = parse_object(r);
  Directory d;
  d.url = url;
  d.new_nonce = required_url(j, "newNonce", "directory " + url);
  d.new_account = required_url(j, "newAccount", "directory " + url);
  d.new_order = required_url(j, "newOrder", "directory " + url);
  d.revoke_cert = string_field(j, "revokeCert");
  d.key_change = string_field(j, "keyChange");
  d.renewal_info = string_field(j, "renewalInfo");
  if (const auto meta = j.find("meta"); meta != j.end() && meta->is_object()) {
    d.terms_of_service = string_field(*meta, "termsOfService");
    const auto eab = meta->find("externalAccountRequired");
    d.external_account_required = eab != meta->end() && eab->is_boolean() && eab->get<bool>();
  }
  return d;
}

std::string problem_kind(const nlohmann::json& problem) {
  const std::string type = string_field(problem, "type");
  if (type.rfind(k_problem_prefix, 0) != 0) return {};
  return type.substr(k_problem_prefix.size());
}

Error problem_error(const nlohmann::json& problem, std::string_view doing,
                    std::optional<std::int64_t> retry_after) {
  const std::string kind = problem_kind(problem);
  const auto* advice = advice_for(kind);
  std::string summary = "the CA refused " + std::string(doing);
  if (advice != nullptr) summary += ": " + std::string(advice->meaning);
  std::string cause = "the CA said";
  if (!kind.empty()) cause += " (" + kind + ")";
  const std::string detail = string_field(problem, "detail");
  cause += ": " + (detail.empty() ? std::string("no detail") : printable(detail));
  if (const auto subs = problem.find("subproblems"); subs != problem.end() && subs->is_array()) {
    std::size_t shown = 0;
    for (const auto& sub : *subs) {
      if (!sub.is_object() || ++shown > 10) break;
      std::string who;
      if (const auto id = sub.find("identifier"); id != sub.end() && id->is_object())
        who = string_field(*id, "value");
      cause += "\n  " + (who.empty() ? std::string() : printable(who, 255) + ": ") +
               problem_kind(sub) + " " + printable(string_field(sub, "detail"));
    }
  }
  std::string fix = advice != nullptr ? std::string(advice->check) : "check the CA's detail above";
  if (kind == "rateLimited" && retry_after) {
    const std::time_t when = std::time(nullptr) + static_cast<std::time_t>(*retry_after);
    char buf[32] = {};
    std::tm tm{};
    gmtime_r(&when, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fix = "wait until " + std::string(buf) + " (" + std::to_string(*retry_after) +
          " s, the CA's Retry-After), then run the command again";
  }
  return Error(Errc::AcmeRefused, summary, cause, fix);
}

Error problem_error(const HttpResponse& r, std::string_view doing, std::int64_t now) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(Errc::AcmeRefused,
                 "the CA refused " + std::string(doing) + " (HTTP " + std::to_string(r.status) + ")",
                 "its answer from " + r.url + " is no problem document: " + printable(r.body, 200),
                 "check the directory URL and try again later");
  }
  return problem_error(j, doing, retry_after_seconds(r.header("retry-after"), now));
}

Order parse_order(const nlohmann::json& body, std::string url) {
  Order o;
  o.url = std::move(url);
  o.body = body;
  o.status = string_field(body, "status");
  if (o.status.empty())
    throw Error(Errc::BadInput, "the CA's order " + o.url + " has no status",
                "the answer is not what RFC 8555 §7.1.3 specifies", "try again later");
  if (const auto a = body.find("authorizations"); a != body.end() && a->is_array())
    for (const auto& u : *a)
      if (u.is_string()) o.authorizations.push_back(u.get<std::string>());
  o.finalize = string_field(body, "finalize");
  o.certificate = string_field(body, "certificate");
  return o;
}

Client::Client(std::string directory_url, ClientOptions options)
    : m_directory_url(std::move(directory_url)),
      m_options(std::move(options)),
      m_http(m_options.http) {
  if (!m_options.now) m_options.now = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
  if (!m_options.sleep) m_options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

std::int64_t Client::now() const { return m_options.now(); }

const Directory& Client::directory() {
  if (m_directory) return *m_directory;
  const auto r = m_http.get(m_directory_url);
  if (r.status != 200)
    throw Error(Errc::AcmeUnreachable,
                "the ACME directory " + m_directory_url + " answered HTTP " + std::to_string(r.status),
                "an ACME directory answers 200 with a JSON object",
                "check the directory URL (letsencrypt, letsencrypt-staging or the CA's https URL)");
  m_directory = parse_directory(r.body, m_directory_url);
  return *m_directory;
}

void Client::use_key(EVP_PKEY* key, std::string kid) {
  m_key = key;
  m_kid = std::move(kid);
}

std::string Client::fresh_nonce() {
  if (!m_nonce.empty()) return std::exchange(m_nonce, {});
  const auto r = m_http.head(directory().new_nonce);
  const auto nonce = r.header("replay-nonce");
  if (!nonce || nonce->empty())
    throw Error(Errc::BadInput, "the ACME server gave no nonce",
                "HEAD " + directory().new_nonce + " answered HTTP " + std::to_string(r.status) +
                    " without a Replay-Nonce header",
                "check the directory URL");
  return *nonce;
}

HttpResponse Client::post(const std::string& url, const std::optional<nlohmann::json>& payload,
                          std::string_view doing) {
  if (m_key == nullptr) throw Error(Errc::Internal, "an ACME request without an account key");
  const std::string body_payload = payload ? payload->dump() : std::string();
  for (int attempt = 0;; ++attempt) {
    nlohmann::json header = {{"nonce", fresh_nonce()}, {"url", url}};
    if (m_kid.empty())
      header["jwk"] = public_jwk(m_key);
    else
      header["kid"] = m_kid;
    const auto jws = flattened_jws(m_key, header, body_payload);
    auto r = m_http.post(url, jws.dump(), "application/jose+json");
    if (auto n = r.header("replay-nonce"); n && !n->empty()) m_nonce = *n;
    if (r.status >= 200 && r.status < 300) return r;
    if (r.content_type() == "application/problem+json") {
      const auto j = nlohmann::json::parse(r.body, nullptr, false);
      // RFC 8555 §6.5: a badNonce answer carries a fresh nonce; retry with it.
      if (j.is_object() && problem_kind(j) == "badNonce" && attempt < m_options.bad_nonce_retries &&
          !m_nonce.empty())
        continue;
    }
    throw problem_error(r, doing, now());
  }
}

Client::Account Client::new_account(const std::vector<std::string>& contact, bool terms_agreed,
                                    const ExternalAccount* eab) {
  nlohmann::json payload = {{"termsOfServiceAgreed", terms_agreed}};
  if (!contact.empty()) payload["contact"] = contact;
  if (eab != nullptr) {
    if (m_key == nullptr) throw Error(Errc::Internal, "an ACME request without an account key");
    payload["externalAccountBinding"] =
        external_account_binding(eab->kid, eab->mac_key, public_jwk(m_key), directory().new_account);
  }
  m_kid.clear();
  const auto r = post(directory().new_account, payload, "creating the account");
  const auto location = r.header("location");
  if (!location || location->rfind("https://", 0) != 0)
    throw Error(Errc::BadInput, "the CA created the account but gave no https account URL",
                "newAccount answered HTTP " + std::to_string(r.status) + " without Location",
                "try again later");
  Account a;
  a.url = *location;
  a.body = parse_object(r);
  a.status = string_field(a.body, "status");
  m_kid = a.url;
  return a;
}

std::string Client::deactivate_account() {
  if (m_kid.empty()) throw Error(Errc::Internal, "deactivating an account without its URL");
  const auto r = post(m_kid, nlohmann::json{{"status", "deactivated"}}, "deactivating the account");
  const std::string status = string_field(parse_object(r), "status");
  return status.empty() ? std::string("deactivated") : status;
}

void Client::change_key(EVP_PKEY* new_key) {
  if (m_kid.empty() || m_key == nullptr) throw Error(Errc::Internal, "rolling over a key without an account");
  const std::string url = directory().key_change;
  if (url.rfind("https://", 0) != 0)
    throw Error(Errc::Unsupported, "the CA's directory offers no keyChange",
                "the directory " + m_directory_url + " has no https \"keyChange\" URL",
                "keep the account key, or create a new account with a new key");
  // RFC 8555 §7.3.5: the inner JWS has no nonce; its url is the outer one's.
  const nlohmann::json inner_payload = {{"account", m_kid}, {"oldKey", public_jwk(m_key)}};
  const auto inner = flattened_jws(new_key, {{"jwk", public_jwk(new_key)}, {"url", url}},
                                   inner_payload.dump());
  post(url, inner, "the account key rollover");
  m_key = new_key;
}

void Client::revoke(std::span<const std::uint8_t> certificate_der, int reason) {
  const std::string url = directory().revoke_cert;
  if (url.rfind("https://", 0) != 0)
    throw Error(Errc::Unsupported, "the CA's directory offers no revokeCert",
                "the directory " + m_directory_url + " has no https \"revokeCert\" URL",
                "revoke the certificate through the CA's own interface");
  post(url, nlohmann::json{{"certificate", base64url(certificate_der)}, {"reason", reason}},
       "revoking the certificate");
}

std::optional<RenewalWindow> Client::renewal_info(const std::string& cert_id) {
  std::string base = directory().renewal_info;
  if (base.empty()) return std::nullopt;
  if (base.back() != '/') base += '/';
  const auto r = m_http.get(base + cert_id);
  return parse_renewal_info(r, now());
}

Order Client::new_order(const std::vector<std::pair<std::string, std::string>>& identifiers,
                        std::string_view replaces) {
  nlohmann::json ids = nlohmann::json::array();
  std::string names;
  for (const auto& [type, value] : identifiers) {
    ids.push_back({{"type", type}, {"value", value}});
    names += (names.empty() ? "" : ", ") + value;
  }
  nlohmann::json payload{{"identifiers", ids}};
  if (!replaces.empty()) payload["replaces"] = std::string(replaces);
  const auto r = post(directory().new_order, payload, "the order for " + names);
  const auto location = r.header("location");
  if (!location || location->rfind("https://", 0) != 0)
    throw Error(Errc::BadInput, "the CA accepted the order but gave no https order URL",
                "newOrder answered HTTP " + std::to_string(r.status) + " without Location",
                "try again later");
  return parse_order(parse_object(r), *location);
}

Order Client::fetch_order(const std::string& url) {
  return parse_order(parse_object(post(url, std::nullopt, "reading the order")), url);
}

nlohmann::json Client::fetch_authorization(const std::string& url) {
  return parse_object(post(url, std::nullopt, "reading the authorization"));
}

void Client::respond(const std::string& challenge_url) {
  post(challenge_url, nlohmann::json::object(), "the challenge");
}

bool Client::wait_before_polling(const HttpResponse& r, std::int64_t deadline,
                                 std::int64_t fallback) {
  const std::int64_t t = now();
  if (t >= deadline) return false;
  std::int64_t wait = retry_after_seconds(r.header("retry-after"), t).value_or(fallback);
  wait = std::clamp<std::int64_t>(wait, 1, m_options.max_poll_interval.count());
  wait = std::min(wait, deadline - t);
  m_options.sleep(std::chrono::milliseconds(wait * 1000));
  return true;
}

nlohmann::json Client::wait_authorization(const std::string& url, std::string_view identifier) {
  const std::int64_t deadline = now() + m_options.poll_timeout.count();
  const std::string doing = "the authorization for " + std::string(identifier);
  for (;;) {
    const auto r = post(url, std::nullopt, doing);
    const auto authz = parse_object(r);
    const std::string status = string_field(authz, "status");
    if (status == "valid") return authz;
    if (status != "pending") {
      // The challenge that failed says what the CA saw.
      if (const auto cs = authz.find("challenges"); cs != authz.end() && cs->is_array())
        for (const auto& c : *cs)
          if (c.is_object() && c.contains("error") && c["error"].is_object())
            throw problem_error(c["error"], "the " + string_field(c, "type") + " challenge for " +
                                                std::string(identifier));
      throw Error(Errc::AcmeRefused,
                  "the CA refused " + doing + ": the authorization is " + printable(status, 40),
                  "the CA gave no challenge error", "run the command again");
    }
    if (!wait_before_polling(r, deadline, 1))
      throw Error(Errc::AcmeUnreachable, "the CA did not validate " + std::string(identifier) +
                                             " within " +
                                             std::to_string(m_options.poll_timeout.count()) + " s",
                  "the authorization " + url + " stayed pending",
                  "run the command again; the pending entry is kept");
  }
}

Order Client::finalize(const Order& order, std::span<const std::uint8_t> csr_der) {
  const std::int64_t deadline = now() + m_options.poll_timeout.count();
  if (order.finalize.rfind("https://", 0) != 0)
    throw Error(Errc::BadInput, "the CA's order has no https finalize URL", order.url,
                "try again later");
  auto r = post(order.finalize, nlohmann::json{{"csr", base64url(csr_der)}}, "the finalization");
  Order o = parse_order(parse_object(r), order.url);
  while (o.status != "valid") {
    if (o.status == "invalid") {
      if (const auto e = o.body.find("error"); e != o.body.end() && e->is_object())
        throw problem_error(*e, "the order");
      throw Error(Errc::AcmeRefused, "the CA refused the order: it became invalid",
                  order.url, "run the command again");
    }
    if (!wait_before_polling(r, deadline, 1))
      throw Error(Errc::AcmeUnreachable,
                  "the CA did not issue within " + std::to_string(m_options.poll_timeout.count()) + " s",
                  "the order " + order.url + " stayed " + o.status, "run the command again");
    r = post(order.url, std::nullopt, "reading the order");
    o = parse_order(parse_object(r), order.url);
  }
  if (o.certificate.rfind("https://", 0) != 0)
    throw Error(Errc::BadInput, "the CA's valid order has no https certificate URL", order.url,
                "try again later");
  return o;
}

Client::Chain Client::download_certificate(const std::string& url) {
  const auto r = post(url, std::nullopt, "the certificate download");
  if (r.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    throw Error(Errc::BadInput, "the CA's certificate download is no PEM chain",
                url + " answered " + std::to_string(r.body.size()) + " bytes of " +
                    (r.content_type().empty() ? "unknown type" : r.content_type()),
                "try again later");
  return Chain{r.body, links(r, "alternate")};
}

Client::Chain Client::download_alternate(const std::string& url) {
  if (url.rfind("https://", 0) != 0)
    throw Error(Errc::BadInput, "the CA's alternate chain URL is not https", printable(url, 200),
                "leave out --preferred-chain");
  auto chain = download_certificate(url);
  chain.alternates.clear();
  return chain;
}

std::string Client::key_authorization(std::string_view token) const {
  if (m_key == nullptr) throw Error(Errc::Internal, "a key authorization without an account key");
  return std::string(token) + "." + jwk_thumbprint(public_jwk(m_key));
}

}  // namespace keysafe::acme
