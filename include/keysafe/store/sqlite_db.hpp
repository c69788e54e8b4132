// A thin RAII layer over SQLite: connections, prepared statements, transactions,
// and translation of SQLite result codes into keysafe errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"

namespace keysafe::store {

class Statement;

class Database final {
 public:
  // Opens an existing file read-write; never creates one. A store whose directory this process
  // cannot write (and that has no -wal/-shm files) is opened read-only: reads work, writes fail
  // with a diagnosis.
  explicit Database(const std::filesystem::path& path);
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&&) = delete;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_id() const;
  int changes() const;
  sqlite3* handle() const noexcept { return m_db; }
  const std::filesystem::path& path() const noexcept { return m_path; }
  bool read_only() const noexcept { return m_read_only; }

  // What is wrong with the file's format-version bytes (offsets 18 and 19 of the SQLite
  // header: 1 rollback journal, 2 WAL), or nothing. SQLite opens a file with a larger write
  // version read-only and one with a larger read version not at all, without calling either
  // damage, so keysafe checks them itself.
  std::optional<std::string> format_version_problem() const;

  // Raises the keysafe error for an SQLite failure `rc` while doing `what`.
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* m_db = nullptr;
  std::filesystem::path m_path;
  bool m_read_only = false;
};

class Statement final {
 public:
  Statement(const Database& db, sqlite3_stmt* stmt) : m_db(&db), m_stmt(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept : m_db(other.m_db), m_stmt(other.m_stmt) {
    other.m_stmt = nullptr;
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::span<const std::uint8_t> value);
  Statement& bind_null(int index);
  Statement& bind(int index, const std::optional<std::int64_t>& value);

  // Steps once; true while a row is available.
  bool step();
  // Steps to completion (for statements without rows).
  void run();
  void reset();

  std::int64_t int64(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::string text(int column) const;
  Bytes blob(int column) const;
  bool is_null(int column) const;

 private:
  const Database* m_db;
  sqlite3_stmt* m_stmt;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
// Inside another transaction on the same connection it is a savepoint instead: its commit
// keeps its changes for the outer transaction to commit (or roll back with the rest), and it
// undoes only its own changes when not committed. So a Keystore method that writes in its own
// transaction joins an enclosing Keystore::write, and a multi-step operation commits once.
class Transaction final {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& m_db;
  bool m_nested;
  bool m_done = false;
};

// One read transaction around many queries (BEGIN ... COMMIT), so they see one snapshot and
// SQLite takes its shared locks once instead of once per query. Inside a transaction it does
// nothing.
class ReadSnapshot final {
 public:
  explicit ReadSnapshot(Database& db);
  ~ReadSnapshot();
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  Database& m_db;
  bool m_owner;
};

}  // namespace keysafe::store
