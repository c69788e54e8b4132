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
std::vector<AcmeAccountView> list_acme_accounts(store::Keystore& store);
AcmeAccountView show_acme_account(store::Keystore& store, std::string_view name);

enum class AcmeChallenge { HttpListen, HttpWebroot };
std::string_view acme_challenge_name(AcmeChallenge c) noexcept;  // http-01-listen, http-01-webroot

struct AcmeIssueParams {
  std::string name;
  std::vector<std::string> dns;
  std::optional<std::string> account;  // default: the store's only account
  AcmeChallenge challenge = AcmeChallenge::HttpListen;
  std::string challenge_param;  // ADDR:PORT or the webroot directory
  x509::KeyAlgorithm algorithm = x509::KeyAlgorithm::EcP256;
  std::int64_t now = 0;
  // Progress lines ("ordering ...", "validated a.example"), for the front end to show.
  std::function<void(const std::string&)> progress;
  // Test hook: the poll bound (seconds).
  std::int64_t poll_timeout = 120;
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
};
std::optional<AcmeEntryView> acme_entry_view(store::Keystore& store, std::int64_t key_id);

}  // namespace keysafe::ops
