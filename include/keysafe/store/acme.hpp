// The ACME tables (schema v13): accounts at ACME CAs, their keys sealed under the data key,
// and per entry the account and challenge its renewals use (docs/ACME.md, docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/database.hpp"

namespace keysafe::store {

struct AcmeAccountRecord {
  std::int64_t id = 0;
  std::string name;
  std::string directory_url;
  std::string account_url;  // the JWS "kid"
  std::string contact;      // JSON array of contact URLs
  std::string status;       // as the CA last said: valid, deactivated, revoked
  std::string key_algorithm;
  std::string jwk_thumbprint;  // RFC 7638, of the account key
  Bytes sealed_private_key;    // PKCS#8, Keystore::seal_secret(acme_account_purpose(name))
  std::optional<std::string> directory_ca_pem;  // trust anchors for the CA's HTTPS; none = system
  std::int64_t created_at = 0;
};

// The purpose an account key is sealed for: bound to the account's name, so a sealed key
// copied to another account's row does not open.
std::string acme_account_purpose(std::string_view account_name);

struct AcmeEntryRecord {
  std::int64_t key_id = 0;
  std::int64_t account_id = 0;
  std::string account;  // joined from acme_accounts
  std::string directory_url;
  std::string challenge;        // http-01-listen, http-01-webroot, dns-01-hook
  std::string challenge_param;  // ADDR:PORT, the webroot directory, or {"hook", "resolver"} JSON
  // --preferred-chain, so renewals pick the same chain. Kept in the challenge_param column
  // (no schema change): {"param": PARAM, "preferred_chain": CN} when set, PARAM alone when not
  // (as every row before it); acme_entry() and put_acme_entry() convert.
  std::optional<std::string> preferred_chain;
  std::optional<std::string> order_url;  // the last order
  std::int64_t updated_at = 0;
};

std::vector<AcmeAccountRecord> acme_accounts(Database& db);
std::optional<AcmeAccountRecord> acme_account_by_name(Database& db, std::string_view name);
std::optional<AcmeAccountRecord> acme_account_by_id(Database& db, std::int64_t id);
std::int64_t insert_acme_account(Database& db, const AcmeAccountRecord& a);
// The CA's word on the account (deactivated); inside Keystore::write, which re-MACs the row.
void set_acme_account_status(Database& db, std::int64_t id, std::string_view status);

// A new account key after a rollover the CA accepted; inside Keystore::write.
void set_acme_account_key(Database& db, std::int64_t id, std::string_view key_algorithm,
                          std::string_view jwk_thumbprint, std::span<const std::uint8_t> sealed_private_key);

std::optional<AcmeEntryRecord> acme_entry(Database& db, std::int64_t key_id);
// Inserts or replaces the entry's settings.
void put_acme_entry(Database& db, const AcmeEntryRecord& e);
// The entry is no longer renewed by ACME (keysafe adopt certbot --release); inside
// Keystore::write.
void remove_acme_entry(Database& db, std::int64_t key_id);

}  // namespace keysafe::store
