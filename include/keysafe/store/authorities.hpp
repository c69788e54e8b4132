// Local CAs (table `authorities`), what they issued (`issued_certificates`), and pending
// renewals (`keys.renews_key_id`): the SQL of the CA and renewal operations.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/database.hpp"

namespace keysafe::store {

struct AuthorityRecord {
  std::int64_t key_id = 0;  // the CA's own entry in `keys`
  std::string name;         // that entry's name
  std::optional<std::int64_t> parent_key_id;
  std::string parent_name;  // empty for a root
  std::int64_t crl_number = 0;
  std::int64_t created_at = 0;
};

struct IssuedRecord {
  std::int64_t authority_key_id = 0;
  std::string serial;  // uppercase hex
  std::string subject;
  std::string fingerprint_sha256;
  std::optional<std::string> key_name;  // the entry it was installed into; none = a file
  std::int64_t not_after = 0;
  std::int64_t issued_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::string revocation_reason;  // RFC 5280 name; empty while not revoked
};

std::vector<AuthorityRecord> authorities(Database& db);
std::optional<AuthorityRecord> authority(Database& db, std::int64_t key_id);
void insert_authority(Database& db, std::int64_t key_id, std::optional<std::int64_t> parent_key_id,
                      std::int64_t now);

// Throws AlreadyExists when the CA has issued that serial before.
void insert_issued(Database& db, const IssuedRecord& record);
std::vector<IssuedRecord> issued_by(Database& db, std::int64_t authority_key_id);
std::int64_t issued_count(Database& db, std::int64_t authority_key_id);
// Issued certificates installed into entry `key_name` (newest first).
std::vector<IssuedRecord> issued_to(Database& db, std::int64_t authority_key_id,
                                    const std::string& key_name);
// Marks a serial revoked; false when it was revoked already.
bool mark_revoked(Database& db, std::int64_t authority_key_id, const std::string& serial,
                  std::int64_t at, const std::string& reason);
// The CA's next CRL number, recorded and returned: one more than the last, and at least `now`
// (Unix seconds). Growing with time, a CRL signed after a restore from an older backup
// outnumbers every CRL the lost store could have signed before the restore (docs/CA.md).
std::int64_t next_crl_number(Database& db, std::int64_t authority_key_id, std::int64_t now);
// Raises the recorded CRL number to `at_least` (restore: never lowered).
void raise_crl_number(Database& db, std::int64_t authority_key_id, std::int64_t at_least);

// Renewal with a new key: the pending entry `new_key_id` replaces `old_key_id` when its
// first certificate is installed (schema v7, keys.renews_key_id). The link is kept after
// that as history: the entry with a certificate and renews_key_id = X has replaced X.
std::optional<std::int64_t> renews_key_id(Database& db, std::int64_t key_id);
// The pending entry (no certificate yet) that renews `old_key_id`, if any.
std::optional<std::int64_t> pending_renewal_of(Database& db, std::int64_t old_key_id);
// The entry that has replaced `old_key_id` (its renewal completed), if any.
std::optional<std::int64_t> replaced_by(Database& db, std::int64_t old_key_id);
// Every replaced ("superseded") entry: old key id -> the name of the entry that replaced it.
// One scan, so that listings need no query per entry (renews_key_id has no index).
std::map<std::int64_t, std::string> superseded_entries(Database& db);
void set_renews_key_id(Database& db, std::int64_t new_key_id,
                       std::optional<std::int64_t> old_key_id);
void rename_key(Database& db, std::int64_t key_id, const std::string& name);
bool key_name_taken(Database& db, const std::string& name);
std::optional<std::string> key_name_of(Database& db, std::int64_t key_id);
// Another request for an existing key (renewal with the same key).
void add_request(Database& db, std::int64_t key_id, const Bytes& der, std::int64_t now);

}  // namespace keysafe::store
