// ACME accounts and issuance (docs/ACME.md): the account key sealed in the store, the entry's
// key and request made as `create` makes them, the order answered by HTTP-01, and the chain
// installed as `install` installs it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ops/install.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace keysafe::acme {
class Http01Responder;
}

namespace keysafe::ops {

struct AcmeAccountParams {
  std::string name = "default";
  std::string directory;  // URL, or letsencrypt / letsencrypt-staging
  std::vector<std::string> emails;
  bool agree_tos = false;
  x509::KeyAlgorithm algorithm = x509::KeyAlgorithm::EcP256;
  // PEM trust anchors for the directory's HTTPS (--directory-ca-file, KEYSAFE_ACME_CA_FILE).
  std::optional<std::filesystem::path> directory_ca_file;
  // External account binding (RFC 8555 §7.3.4): the CA's key id and a file holding its MAC
  // key as base64url, as CAs hand it out. Used once, at creation; never stored.
  std::string eab_kid;
  std::optional<std::filesystem::path> eab_hmac_key_file;
  std::int64_t now = 0;
};

struct AcmeAccountView {
  std::string name;
  std::string directory_url;
  std::string account_url;
  std::vector<std::string> contact;
  std::string status;
  std::string key_algorithm;
  std::string jwk_thumbprint;
  bool has_directory_ca = false;
  std::int64_t created_at = 0;
};

// Reads and checks the CA file and the parameters, registers the account at the CA (newAccount),
// then stores it, its key sealed, in one transaction. Nothing is stored when the CA cannot be
// reached or refuses. Needs the store unlocked.
AcmeAccountView create_acme_account(store::Keystore& store, const AcmeAccountParams& params);
// Checks the name and that no account has it yet (before the passphrase is asked).
void prepare_acme_account(store::Keystore& store, AcmeAccountParams& params);

// An account the CA created earlier, with its key (keysafe adopt certbot).
struct ExistingAcmeAccount {
  std::string name;         // in this store
  std::string directory;    // https URL
  std::string account_url;  // the JWS "kid" as recorded with the key
  EVP_PKEY* key = nullptr;  // borrowed
  std::optional<std::string> directory_ca_pem;
  std::string origin;       // for the audit: where the account was found
  std::int64_t now = 0;
};
// Checks with the CA that the key's account exists at `account_url` (newAccount with
// onlyReturnExisting, RFC 8555 §7.3.1: nothing is registered), then stores it as
// create_acme_account does, its key sealed, without a new registration. Nothing is stored when
// the name is taken, the CA cannot be reached, knows no account for the key or names another
// URL. Needs the store unlocked.
AcmeAccountView import_acme_account(store::Keystore& store, const ExistingAcmeAccount& account);
// The PEM trust anchors in a CA file (checked: at least one certificate), as stored with an
// account (--directory-ca-file, KEYSAFE_ACME_CA_FILE).
std::string read_directory_ca_pem(const std::filesystem::path& file);

std::vector<AcmeAccountView> list_acme_accounts(store::Keystore& store);
AcmeAccountView show_acme_account(store::Keystore& store, std::string_view name);

// Deactivates the account at its CA (RFC 8555 §7.3.6) and records the CA's status; later
// orders with it are refused before anything is sent. Needs the store unlocked.
AcmeAccountView deactivate_acme_account(store::Keystore& store, std::string_view name);

// Account key rollover (RFC 8555 §7.3.5): a new key of `algorithm` is generated, the CA's
// keyChange is signed by both keys, and only once the CA accepts is the sealed key in the store
// replaced (audited acme-account-key-rolled-over). A refusal (Errc::AcmeRefused) leaves the
// store as it was. Needs the store unlocked.
struct AcmeRolloverResult {
  AcmeAccountView account;
  std::string old_key_algorithm;
  std::string old_jwk_thumbprint;
};
// Checks the account (it exists and is valid) and the algorithm before the passphrase is asked.
void prepare_acme_rollover(store::Keystore& store, std::string_view name, x509::KeyAlgorithm algorithm);
AcmeRolloverResult rollover_acme_account(store::Keystore& store, std::string_view name,
                                         x509::KeyAlgorithm algorithm);

// RFC 5280 CRLReason names keysafe accepts: unspecified, keyCompromise, affiliationChanged,
// superseded, cessationOfOperation. nullopt for any other.
std::optional<int> acme_revocation_reason(std::string_view name) noexcept;

struct AcmeRevokeParams {
  std::string name;
  std::string reason = "unspecified";
  std::optional<std::string> account;  // default: the account that ordered the entry
};
struct AcmeRevokeResult {
  std::string name;
  std::string serial;
  std::string fingerprint_sha256;
  std::string reason;
  std::string account;
  std::string directory_url;
};
// Checks the reason, the entry (it has a current certificate) and the account.
void prepare_acme_revoke(store::Keystore& store, const AcmeRevokeParams& params);
// Revokes the entry's current certificate at the CA, signed by the account key, and audits it.
// Needs the store unlocked.
AcmeRevokeResult acme_revoke(store::Keystore& store, const AcmeRevokeParams& params);

enum class AcmeChallenge { HttpListen, HttpWebroot, DnsHook };
// http-01-listen, http-01-webroot, dns-01-hook: as stored in acme_entries.challenge.
std::string_view acme_challenge_name(AcmeChallenge c) noexcept;
std::optional<AcmeChallenge> acme_challenge_from_name(std::string_view name) noexcept;
// The challenge_param of DnsHook as stored: {"hook": CMD, "resolver": "ADDR:PORT" or null}.
std::string dns_hook_param(const std::string& hook, const std::optional<std::string>& resolver);

struct AcmeIssueParams {
  std::string name;
  std::vector<std::string> dns;
  std::vector<std::string> ip;  // IP identifiers (RFC 8738), validated by HTTP-01
  std::optional<std::string> account;  // default: the store's only account
  AcmeChallenge challenge = AcmeChallenge::HttpListen;
  // ADDR:PORT, the webroot directory, or for DnsHook the JSON of dns_hook_param(): the
  // acme_entries.challenge_param a renewal passes back as stored.
  std::string challenge_param;
  x509::KeyAlgorithm algorithm = x509::KeyAlgorithm::EcP256;
  std::int64_t now = 0;
  // Progress lines ("ordering ...", "validated a.example"), for the front end to show.
  std::function<void(const std::string&)> progress;
  // Test hook: the poll bound (seconds).
  std::int64_t poll_timeout = 120;
  // DNS-01: how long the --dns-hook command may run (each call), and how long keysafe waits for
  // the TXT record at the --dns-resolver (seconds).
  std::int64_t dns_hook_timeout = 120;
  std::int64_t dns_wait_timeout = 120;
  // --preferred-chain: of the chains the CA offers (Link rel="alternate"), the first with a
  // certificate issued by this CN; the CA's default chain (with a warning) when none has.
  // Stored with the entry's ACME settings: renewals ask for the same chain.
  std::optional<std::string> preferred_chain;
  // ARI (RFC 9773): the certID of the certificate this order replaces, sent as "replaces".
  std::string replaces;
  // Orders on several threads (renew --all --parallel): one responder answers every order's
  // tokens (nullptr: this order makes its own), and the store is used only with this mutex
  // held (nullptr: not shared).
  acme::Http01Responder* shared_responder = nullptr;
  std::mutex* store_mutex = nullptr;
};

struct AcmeIssueResult {
  InstallResult install;
  std::string account;
  std::string directory_url;
  std::string challenge;
  std::string challenge_param;
  std::string order_url;
  bool entry_created = false;  // a new pending entry was made (else an existing one was used)
  std::string chain_top_issuer;  // the issuer CN of the installed chain's topmost certificate
  int chains_offered = 1;        // the default chain and its alternates
  std::vector<std::string> warnings;
};

// Checks names, the account and the challenge before anything is written or asked.
void prepare_acme_issue(store::Keystore& store, AcmeIssueParams& params);
// Creates the pending entry (or uses the existing pending one), orders, answers HTTP-01,
// finalizes with the entry's own request, and installs the chain with the entry's ACME settings
// in the same transaction. A refusal (Errc::AcmeRefused) keeps the pending entry, so running
// the command again reuses its key and request. Needs the store unlocked.
AcmeIssueResult acme_issue(store::Keystore& store, const AcmeIssueParams& params);

// For show --json: the entry's ACME settings, when it has them.
struct AcmeEntryView {
  std::string account;
  std::string directory;
  std::string challenge;
  std::string challenge_param;
  std::optional<std::string> preferred_chain;  // --preferred-chain, used by renewals too
};
std::optional<AcmeEntryView> acme_entry_view(store::Keystore& store, std::int64_t key_id);

}  // namespace keysafe::ops
