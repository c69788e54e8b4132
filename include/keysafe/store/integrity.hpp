// Integrity MACs: HMAC-SHA-256 under a subkey of the data key over the rows an attacker who
// can write the store file could abuse (settings, deployments, key slots, CA state) and over
// the audit log's head, so that only the passphrase holder can change them (docs/FORMAT.md).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/database.hpp"

namespace keysafe::store {

// The HKDF-SHA-256 subkey for row MACs: never the data key itself.
SecureBytes row_mac_key(std::span<const std::uint8_t> data_key,
                        std::span<const std::uint8_t> store_id);
Bytes hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);

// What the keysafe_row_mac() SQL function of one connection keys with. Empty while the store
// is locked: the function then fails, so a write to a protected table needs the unlocked store.
struct RowMacKey final {
  SecureBytes key;
  // store copy only: rows are written with the MACs they already have (copied verbatim after
  // the insert), so the locked store's MAC function gives NULL instead of failing.
  bool copying_verbatim = false;
};

// A protected row whose MAC is missing or does not match its fields.
struct Tampering {
  std::string table;  // settings, deployments, key_slots, authorities, issued_certificates, audit
  std::string row;    // which row, as an administrator can find it: `key "backup_dir"`, `id 3`
  std::string what;   // what is wrong with it
};

// Every protected row whose MAC fails (a NULL MAC fails). Needs the key set.
std::vector<Tampering> row_mac_mismatches(Database& db);
// Gives every protected row its MAC (upgrading a store, rotating the data key).
void mac_every_row(Database& db);
// PostgreSQL, before each commit: the rows changed in the transaction (their triggers cleared
// the MAC) get theirs, computed by keysafe, so the MAC key never reaches the server. Nothing
// while the store is locked: a row left without a MAC is reported as tampering by the next
// unlock (SQLite's triggers refuse such a write at once). Nothing on SQLite.
void seal_pending_rows(Database& db);

}  // namespace keysafe::store
