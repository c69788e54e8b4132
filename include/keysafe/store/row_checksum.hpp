// Row checksums: a SHA-256 over every field keysafe shows or relies on, kept by triggers in
// the store (schema v8), so `check` finds a changed byte in a row that nothing else protects
// (dates, names, chain verdicts). Not a MAC: it detects damage, not a deliberate edit (the
// audit log and the AEAD tags on sealed keys cover those).
#pragma once

#include <string>
#include <vector>

#include "keysafe/store/database.hpp"

namespace keysafe::store {


// A row whose stored checksum does not match its fields.
struct ChecksumMismatch {
  std::string table;  // keys, certificates, chain_certificates
  std::string entry;  // the entry name the row belongs to ("" if that cannot be read)
  std::string row;    // which row: "key", or "certificate SERIAL", or "chain certificate N of SERIAL"
};

// Every row of keys, certificates and chain_certificates whose checksum fails.
std::vector<ChecksumMismatch> row_checksum_mismatches(Database& db);
// The same for the rows of one entry (its key, certificates and their chains), read through
// the primary keys only, so that damage elsewhere in the file does not stop it.
std::vector<ChecksumMismatch> entry_checksum_mismatches(Database& db, std::int64_t key_id);

}  // namespace keysafe::store
