// check and salvage on a damaged store: which entries still read and verify, and copying
// those into a new store.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct EntryCondition {
  std::int64_t key_id = 0;
  std::optional<std::string> name;  // nullopt: the entry's name cannot be read
  bool readable = false;             // every row reads and verifies
  std::string problem;               // why not
  bool key_opened = false;           // its sealed private key opened and matched (unlocked)
};

struct DamageReport {
  std::string cause;                  // the error that stopped reading the store normally
  std::vector<std::string> integrity; // what SQLite's integrity check says
  bool header_readable = false;
  bool keys_checked = false;          // the store was unlocked: sealed keys were opened
  std::vector<EntryCondition> entries;
  std::size_t readable() const;
  // "www" or "entry #7 (its name cannot be read)".
  static std::string label(const EntryCondition& e);
};

// Each entry on its own: its key row, row checksums, certificates (decode, fingerprint, public
// key), chain certificates and request; with the store unlocked, its sealed private key.
// `store` comes from Keystore::open_damaged (or any store that failed to read normally).
DamageReport assess_damage(store::Keystore& store, std::string cause);

struct SalvageResult {
  std::filesystem::path to;
  std::vector<std::string> copied;
  std::vector<EntryCondition> lost;
};

// Creates `to` (never over a file) with the same passphrase and KDF parameters, and copies
// every readable entry into it in one transaction, each entry's key opened and checked again
// on the way. `damaged` must be unlocked.
SalvageResult salvage_store(store::Keystore& damaged, const DamageReport& report,
                            const std::filesystem::path& to,
                            std::span<const std::uint8_t> passphrase, std::int64_t now);

}  // namespace keysafe::ops
