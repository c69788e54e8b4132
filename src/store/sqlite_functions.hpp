// The SQL functions keysafe registers on every SQLite connection (src/store only): the row
// checksum and row MAC functions the schema's triggers call.
#pragma once

#include <sqlite3.h>

#include "keysafe/store/integrity.hpp"

namespace keysafe::store {

// keysafe_row_sha256(...): a tool without it (the sqlite3 shell) cannot change a checked column.
void register_row_checksum(sqlite3* db);
// keysafe_row_mac(table, column...) keyed with `key`, which must outlive the connection's use;
// it fails while the key is empty, so a write to a protected table needs the unlocked store.
void register_row_mac(sqlite3* db, const RowMacKey* key);

}  // namespace keysafe::store
