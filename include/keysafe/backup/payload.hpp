// The backup payload: every entry's private key, requests, certificates, chains and metadata,
// (version 2) the store's local-CA roles, deployments and settings, and (version 3) its fleet:
// hosts, assignments with their agents' last reports, and the fleet signing key, as one JSON
// document (docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::backup {

// Version 2 added authorities, deployments, settings and scope; version 3 the fleet; version 4
// ACME accounts and entries' ACME settings. Versions 1 to 3 are still read.
inline constexpr int k_payload_version = 4;

struct BackupCertificate {
  Bytes der;
  std::vector<Bytes> chain;  // the leaf's issuer first
  bool current = false;
  bool chain_trusted = false;
  std::string chain_problem;
  std::int64_t installed_at = 0;
};

struct BackupEntry {
  std::string name;
  std::string algorithm;
  std::string spki_sha256;
  Bytes spki_der;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::int64_t created_at = 0;
  std::optional<SecureBytes> private_key_pkcs8;  // none for a certificate-only entry
  std::vector<std::pair<Bytes, std::int64_t>> requests;
  std::vector<BackupCertificate> certificates;
};

// One certificate a local CA issued (store::IssuedRecord without the store's row ids).
struct BackupIssued {
  std::string serial;  // uppercase hex
  std::string subject;
  std::string fingerprint_sha256;
  std::optional<std::string> key_name;  // the entry it was installed into; none = a file
  std::int64_t not_after = 0;
  std::int64_t issued_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::string revocation_reason;  // empty while not revoked
};

// The CA role of an entry of the backup (its `authorities` row and what it issued).
struct BackupAuthority {
  std::string entry;        // the CA's entry name in the backup
  std::string spki_sha256;  // the CA's public key: what restore finds the entry by
  std::optional<std::string> parent;              // the issuing CA's entry name; none = root
  std::optional<std::string> parent_spki_sha256;  // and its public key
  std::int64_t crl_number = 0;  // the number of the last CRL published
  std::int64_t created_at = 0;
  std::vector<BackupIssued> issued;
};

struct BackupDeployedFile {
  std::string path;
  std::string sha256;
  std::string role;  // layout "files" (keysafe adopt) only; absent from the JSON when empty
};

// A deployment of an entry of the backup (store::DeploymentRecord without the row ids).
struct BackupDeployment {
  std::string entry;
  std::string spki_sha256;  // the entry's public key
  std::string target_dir;
  std::string layout;
  std::vector<BackupDeployedFile> files;
  std::optional<std::string> test_cmd;
  std::optional<std::string> reload_cmd;
  std::optional<std::string> probe;
  std::optional<std::string> sni;
  std::string certificate_fingerprint;
  std::int64_t deployed_at = 0;
};

// One row of the store's `settings` table.
struct BackupSetting {
  std::string key;
  Bytes value;
};

// The store's fleet signing key: its private half travels (inside the encrypted payload, like
// entries' private keys) because every host key file pins its public half.
struct BackupFleetSigningKey {
  Bytes public_key;  // Ed25519 SubjectPublicKeyInfo DER
  SecureBytes private_key_pkcs8;
  std::int64_t created_at = 0;
};

// A host (store::HostRecord without the row id).
struct BackupHost {
  std::string name;
  std::string algorithm;
  Bytes public_key;  // SubjectPublicKeyInfo DER
  std::string public_key_sha256;
  std::optional<std::string> role;
  std::int64_t created_at = 0;
};

// An agent's last report on an assignment (store::HostReport without the row id).
struct BackupHostReport {
  std::string state;
  std::optional<std::string> deployed_fingerprint;
  std::optional<std::string> served_fingerprint;
  std::vector<BackupDeployedFile> files;
  std::optional<std::string> error;
  std::int64_t reported_at = 0;
};

// An assignment of an entry of the backup to a host of the backup. Its sealed copy and
// signature are not carried: they bind the store's row id of the key, which a restore does not
// keep, so restore seals the entry's key to the host again and signs with the same fleet key.
struct BackupAssignment {
  std::string host;
  std::string entry;
  std::string spki_sha256;  // the entry's public key
  std::string target_dir;
  std::string layout;
  std::optional<std::string> test_cmd;
  std::optional<std::string> reload_cmd;
  std::optional<std::string> probe;
  std::optional<std::string> sni;
  std::int64_t assigned_at = 0;
  std::optional<BackupHostReport> report;
};

// An ACME account (store::AcmeAccountRecord without the row id): its key travels inside the
// encrypted payload like an entry's private key.
struct BackupAcmeAccount {
  std::string name;
  std::string directory_url;
  std::string account_url;
  std::string contact;  // JSON array of contact URLs, as stored
  std::string status;
  std::string key_algorithm;
  std::string jwk_thumbprint;
  SecureBytes private_key_pkcs8;
  std::optional<std::string> directory_ca_pem;
  std::int64_t created_at = 0;
};

// An entry's ACME settings (store::AcmeEntryRecord by names instead of row ids).
struct BackupAcmeEntry {
  std::string entry;
  std::string spki_sha256;  // the entry's public key
  std::string account;      // the account's name in the backup
  std::string directory_url;
  std::string challenge;
  std::string challenge_param;
  std::optional<std::string> preferred_chain;  // --preferred-chain, for renewals
  std::optional<std::string> order_url;
  std::int64_t updated_at = 0;
};

struct BackupPayload {
  int version = k_payload_version;  // as read; what encode_payload writes is always the latest
  std::int64_t created = 0;
  std::string written_by;  // "keysafe 0.1.0"
  // "store": backup --all, the whole store (settings included); "entries": named entries.
  std::string scope = "entries";
  std::vector<BackupEntry> entries;
  std::vector<BackupAuthority> authorities;  // version 2; empty when read from version 1
  std::vector<BackupDeployment> deployments;
  std::vector<BackupSetting> settings;
  // Version 3, scope "store" only; empty when read from an older version.
  std::optional<BackupFleetSigningKey> fleet_signing_key;
  std::vector<BackupHost> hosts;
  std::vector<BackupAssignment> assignments;
  // Version 4; empty when read from an older version.
  std::vector<BackupAcmeAccount> acme_accounts;
  std::vector<BackupAcmeEntry> acme_entries;
};

SecureBytes encode_payload(const BackupPayload& payload);
// Throws Damaged for a payload that does not decode, Unsupported for a newer version.
BackupPayload decode_payload(std::span<const std::uint8_t> data, std::string_view source);

}  // namespace keysafe::backup
