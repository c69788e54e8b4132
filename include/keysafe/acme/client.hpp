// An RFC 8555 client: the directory, nonces (badNonce retried), signed POSTs and POST-as-GET,
// accounts, orders, authorizations, challenges, finalization and the certificate chain.
// Every answer from the network is treated as hostile: sizes are capped (http.hpp), JSON that
// does not parse or lacks a field becomes a keysafe::Error, and problem documents become
// Errc::AcmeRefused errors carrying the CA's own words.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keysafe/acme/ari.hpp"
#include "keysafe/acme/http.hpp"
#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::acme {

inline constexpr std::string_view k_letsencrypt =
    "https://acme-v02.api.letsencrypt.org/directory";
inline constexpr std::string_view k_letsencrypt_staging =
    "https://acme-staging-v02.api.letsencrypt.org/directory";
// "letsencrypt" and "letsencrypt-staging" as the URLs above; anything else as given.
std::string resolve_directory(std::string_view name_or_url);

struct Directory {
  std::string url;
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;
  std::string key_change;
  std::string renewal_info;      // "" when the CA offers no ARI
  std::string terms_of_service;  // meta.termsOfService
  bool external_account_required = false;
};
// Throws Errc::BadInput naming what is missing (a server that is not an ACME directory).
Directory parse_directory(std::string_view body, const std::string& url);

// A problem document (RFC 7807, RFC 8555 §6.7) as a keysafe error: the type's meaning, the
// CA's detail, its subproblems, what to check, and for rateLimited when to retry.
// `doing` says what keysafe asked ("creating the account", "ordering a.example").
Error problem_error(const HttpResponse& r, std::string_view doing, std::int64_t now);
// The same for a problem object inside another document (a challenge's "error").
Error problem_error(const nlohmann::json& problem, std::string_view doing,
                    std::optional<std::int64_t> retry_after = std::nullopt);
// The short name of an ACME problem type ("badNonce" for urn:ietf:params:acme:error:badNonce),
// "" when the document is not an ACME problem.
std::string problem_kind(const nlohmann::json& problem);

// JSON from a response body; malformed JSON (or JSON that is not an object) throws
// Errc::BadInput naming the URL.
nlohmann::json parse_object(const HttpResponse& r);

struct Order {
  std::string url;
  std::string status;  // pending, ready, processing, valid, invalid
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;  // once valid
  nlohmann::json body;
};
Order parse_order(const nlohmann::json& body, std::string url);

struct ClientOptions {
  HttpOptions http;
  // badNonce: retried as long as the CA keeps sending fresh nonces, at most this often per
  // request (issue 17: at least 10).
  int bad_nonce_retries = 20;
  // Polling an authorization or order: at most this long in all, each wait between 1 s and
  // `max_poll_interval` (the CA's Retry-After within those bounds).
  std::chrono::seconds poll_timeout{120};
  std::chrono::seconds max_poll_interval{10};
  std::function<std::int64_t()> now;              // Unix seconds; default: the system clock
  std::function<void(std::chrono::milliseconds)> sleep;  // default: this thread sleeps
};

class Client final {
 public:
  Client(std::string directory_url, ClientOptions options);

  // Fetched on first use.
  const Directory& directory();

  // The key that signs every request: with `kid` (an existing account) requests carry it,
  // otherwise the public JWK (newAccount only). The key is borrowed.
  void use_key(EVP_PKEY* key, std::string kid = {});
  const std::string& kid() const noexcept { return m_kid; }

  struct Account {
    std::string url;  // the kid
    std::string status;
    nlohmann::json body;
  };
  // External account binding (RFC 8555 §7.3.4): the CA's key id and its MAC key (decoded).
  struct ExternalAccount {
    std::string kid;
    SecureBytes mac_key;
  };
  // newAccount (RFC 8555 §7.3); an existing account for the key is returned as found.
  Account new_account(const std::vector<std::string>& contact, bool terms_agreed,
                      const ExternalAccount* eab = nullptr);

  // A signed POST (payload JSON) or POST-as-GET (nullopt) to `url`; a badNonce is retried
  // with the fresh nonce it carried; any other problem is thrown as problem_error(doing).
  HttpResponse post(const std::string& url, const std::optional<nlohmann::json>& payload,
                    std::string_view doing);

  // Deactivates the account of the key in use (RFC 8555 §7.3.6); returns the CA's new status.
  std::string deactivate_account();
  // Account key rollover (RFC 8555 §7.3.5): the inner JWS, signed by `new_key` with its jwk,
  // carries {account, oldKey}; the outer is signed by the key in use with the kid. Once the CA
  // accepts, `new_key` (borrowed) signs every later request. Any refusal (a problem document,
  // or 409 when the new key belongs to another account) throws Errc::AcmeRefused and keeps the
  // key in use.
  void change_key(EVP_PKEY* new_key);
  // Revokes a certificate (RFC 8555 §7.6), signed by the account key in use; `reason` is the
  // RFC 5280 CRLReason code.
  void revoke(std::span<const std::uint8_t> certificate_der, int reason);

  // `replaces` (ARI, RFC 9773 §5): the certID of the certificate this order renews, or "".
  Order new_order(const std::vector<std::pair<std::string, std::string>>& identifiers,
                  std::string_view replaces = {});
  Order fetch_order(const std::string& url);
  nlohmann::json fetch_authorization(const std::string& url);
  // Tells the CA to validate the challenge (POST {} to its URL).
  void respond(const std::string& challenge_url);
  // Polls until the authorization leaves "pending" (or its challenge "processing"); throws
  // AcmeRefused with the challenge's error when it becomes invalid, AcmeUnreachable after the
  // poll timeout.
  nlohmann::json wait_authorization(const std::string& url, std::string_view identifier);
  // Sends the CSR (DER) and polls the order until valid; returns it with its certificate URL.
  Order finalize(const Order& order, std::span<const std::uint8_t> csr_der);
  // The PEM chain (leaf first) from the certificate URL, and the alternates the CA offers.
  struct Chain {
    std::string pem;
    std::vector<std::string> alternates;
  };
  Chain download_certificate(const std::string& url);
  // An alternate chain (a URL from Chain::alternates), its own alternates left empty.
  Chain download_alternate(const std::string& url);

  // ARI (RFC 9773 §4.2): the renewal window of `cert_id` (an unauthenticated GET of
  // renewalInfo/CERTID); nullopt when the directory offers no renewalInfo. A document that is
  // not a window throws Errc::BadInput.
  std::optional<RenewalWindow> renewal_info(const std::string& cert_id);

  // The key authorization of a token (RFC 8555 §8.1): token "." thumbprint(account JWK).
  std::string key_authorization(std::string_view token) const;

 private:
  std::string fresh_nonce();
  std::int64_t now() const;
  // Waits Retry-After (bounded) or `fallback`, and returns false once past `deadline`.
  bool wait_before_polling(const HttpResponse& r, std::int64_t deadline, std::int64_t fallback);

  std::string m_directory_url;
  ClientOptions m_options;
  HttpClient m_http;
  std::optional<Directory> m_directory;
  EVP_PKEY* m_key = nullptr;
  std::string m_kid;
  std::string m_nonce;
};

}  // namespace keysafe::acme
