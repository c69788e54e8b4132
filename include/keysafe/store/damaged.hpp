// Finding the entries of a damaged store: each entry is read on its own, through the paths
// SQLite can still follow, so that one damaged page costs only the entries stored on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/database.hpp"

namespace keysafe::store {

struct SurvivingEntryId {
  std::int64_t key_id = 0;
  std::optional<std::string> name;  // nullopt when neither its row nor the name index reads
};

// Every entry id a damaged store still shows: from a scan of `keys` (as far as it reads), its
// name index, the key ids its certificates and requests point at, and a lookup of each id up
// to the largest one seen. In id order.
std::vector<SurvivingEntryId> surviving_entry_ids(Database& db);

// What `PRAGMA integrity_check` still says (at most `limit` lines), or why it could not run.
std::vector<std::string> damage_summary(Database& db, int limit = 20);

}  // namespace keysafe::store
