// The store schema: ordered migrations, each applied in one transaction.
#pragma once

#include <cstdint>

#include "keysafe/store/database.hpp"

namespace keysafe::store {

// SQLite application_id of a keysafe store ("ksaf").
inline constexpr std::int32_t k_application_id = 0x6b736166;

// The schema version this build writes and the newest it can read.
int latest_schema_version() noexcept;

// Applies every migration above the store's version (SQLite: the file's user_version;
// PostgreSQL: keysafe_schema.version), in order. Refuses a newer store.
void migrate(Database& db);
// The PostgreSQL half of migrate (pg_schema.cpp).
void migrate_postgresql(Database& db);

}  // namespace keysafe::store
