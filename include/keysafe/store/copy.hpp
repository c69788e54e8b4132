// keysafe store copy: a whole store, row for row, between any two backends (SQLite file ->
// PostgreSQL database to move to a shared store, PostgreSQL -> SQLite file for an offline
// copy). Sealed keys, MACs and the audit log are copied as they are, so the copy opens with
// the same passphrase and needs none to be made.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace keysafe::store {

struct CopiedTable {
  std::string table;
  std::int64_t rows = 0;
  std::string sha256;  // hex, over every column of every row in key order (both sides agree)
};

struct CopyResult {
  std::vector<CopiedTable> tables;
  std::int64_t entries = 0;
};

// Copies `from` into `to` (an empty database or schema, or a path where no file exists) in one
// transaction, then reads both back: the row count and SHA-256 of every table, row checksums
// recomputed by the target included, must match, or the target is removed (a file) or rolled
// back (a database) and StoreDamaged is thrown naming the table. `progress` hears each table.
CopyResult copy_store(const std::filesystem::path& from, const std::filesystem::path& to,
                      const std::function<void(const std::string& table, std::int64_t rows)>&
                          progress = {});

}  // namespace keysafe::store
