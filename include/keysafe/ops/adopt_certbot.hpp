// keysafe adopt certbot: certbot's lineages (live/NAME, its archive, renewal/NAME.conf and its
// ACME account) taken over: each becomes an entry with its key, certificate and chain, an
// ACME account in the store (the same account at the CA, no new registration) and the entry's
// ACME settings, so `keysafe renew NAME` renews it; and a deployment of the lineage's live
// files (layout "files"), so renew writes regular files where certbot's links were.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ops/adopt.hpp"
#include "keysafe/ops/import.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// The suffix certbot's renewal configuration gets while keysafe renews the lineage.
inline constexpr std::string_view k_certbot_adopted_suffix = ".adopted-by-keysafe";

struct CertbotLineage {
  std::string name;          // live/NAME
  std::string renewal_conf;  // renewal/NAME.conf ("" when there is none)
  std::vector<AdoptFile> files;  // live/NAME/{cert,chain,fullchain,privkey}.pem with their roles
  std::string entry;
  std::string action;  // create, link (the key is in the store already)
  std::string subject;
  std::vector<std::string> dns;
  std::int64_t not_after = 0;
  std::string fingerprint_sha256;
  std::string spki_sha256;
  // From the renewal configuration.
  std::string authenticator;  // webroot, standalone, nginx, apache, manual, dns-...
  std::string server;         // the ACME directory URL
  std::string key_type;       // rsa, ecdsa
  // How keysafe answers the challenge (acme_challenge_name), "" when it does not renew it.
  std::string challenge;
  std::string challenge_param;
  bool takes_over_renewal = false;  // renewal/NAME.conf is renamed
  // The ACME account.
  std::string certbot_account;  // certbot's account id
  std::string account_dir;      // accounts/HOST/PATH/ID
  std::string account_url;
  std::string account;         // its name in this store: certbot-ID
  std::string account_action;  // import (checked at the CA first), existing
  std::string target;          // the deployment's label (live/NAME); "" when none is recorded
  std::vector<std::string> notes;
  std::string problem;  // not adopted, and why
  std::size_t key_index = 0;
};

struct CertbotPlan {
  std::string config_dir;
  std::optional<std::string> directory_ca_pem;
  std::string directory_ca_file;
  std::vector<CertbotLineage> lineages;
  ImportContents contents;
  ImportPlan import;
  std::size_t adoptable() const;
};

struct CertbotOptions {
  // Trust anchors for the ACME server's HTTPS, stored with the imported accounts
  // (--directory-ca-file, KEYSAFE_ACME_CA_FILE); none: the system's.
  std::optional<std::filesystem::path> directory_ca_file;
  std::int64_t now = 0;
};

// Reads every lineage under DIR/live (nothing written; the ACME server is not contacted).
// Problems are recorded per lineage; a configuration directory that cannot be read throws.
CertbotPlan plan_adopt_certbot(store::Keystore& store, const std::filesystem::path& config_dir,
                               const CertbotOptions& options);

// Imports the accounts (each confirmed by the CA first; a lineage whose account the CA does not
// confirm gets that problem and is not adopted), the keys and certificates, the entries' ACME
// settings and the deployments, and renames renewal/NAME.conf of each lineage keysafe renews.
// Needs the store unlocked when plan.import.needs_unlock or an account is imported.
void apply_adopt_certbot(store::Keystore& store, CertbotPlan& plan, std::int64_t now);

struct CertbotRelease {
  std::string name;
  std::string restored;  // renewal/NAME.conf
  std::string entry;     // kept in the store, with its ACME settings removed
  std::vector<std::string> kept;  // what keysafe keeps, for people
};
// Gives the lineage's renewal back to certbot: renames NAME.conf.adopted-by-keysafe back to
// NAME.conf and removes the entry's ACME settings (so keysafe renew no longer orders for it);
// the entry, its account and its deployments stay. Audited.
CertbotRelease release_certbot_lineage(store::Keystore& store, const std::filesystem::path& config_dir,
                                       const std::string& name, std::int64_t now);

}  // namespace keysafe::ops
