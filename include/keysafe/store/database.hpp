// The store's database, whichever backend holds it: an SQLite file (the embedded default) or a
// PostgreSQL database named by a libpq URI (a store shared by many hosts). Connections,
// statements, transactions and the translation of backend failures into keysafe errors; nothing
// above src/store knows which backend it talks to. SQL is written once, with `?` placeholders,
// in the dialect both accept.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/error.hpp"
#include "keysafe/ossl/bytes.hpp"

namespace keysafe::store {

enum class Backend { Sqlite, Postgresql };

// True for a libpq connection URI (postgresql://… or postgres://…): such a --store is a
// database, never a file path.
bool is_database_uri(std::string_view location);

// One column value as the row checksums and MACs encode it: the type tags are SQLite's
// (1 integer, 3 text, 4 blob, 5 null), which docs/FORMAT.md fixes for both backends.
struct Value {
  enum class Type : std::uint8_t { Integer = 1, Text = 3, Blob = 4, Null = 5 };
  Type type = Type::Null;
  std::int64_t integer = 0;
  std::string bytes;  // text (UTF-8) or blob
};

struct RowMacKey;
class Connection;
class StatementBackend;
class Statement;

class Database final {
 public:
  // An SQLite file: opens an existing file read-write, never creates one; a store whose
  // directory this process cannot write (and that has no -wal/-shm files) is opened read-only:
  // reads work, writes fail with a diagnosis. A database URI: connects with libpq (passwords
  // only from libpq's own sources; one written in the URI is refused).
  explicit Database(const std::filesystem::path& location);
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&&) = delete;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Backend backend() const noexcept;
  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  // Rows changed by the last statement.
  int changes() const;
  // The file path, or the URI, as given.
  const std::filesystem::path& path() const noexcept { return m_location; }
  bool read_only() const noexcept;
  bool in_transaction() const;

  // What is wrong with an SQLite file's format-version bytes (offsets 18 and 19 of the header:
  // 1 rollback journal, 2 WAL), or nothing. SQLite opens a file with a larger write version
  // read-only and one with a larger read version not at all, without calling either damage,
  // so keysafe checks them itself. Nothing for PostgreSQL.
  std::optional<std::string> format_version_problem() const;
  // The backend's own consistency findings (SQLite: integrity_check and foreign_key_check;
  // PostgreSQL keeps its own and reports nothing here).
  std::vector<std::string> integrity_problems();
  // After deleting secrets: SQLite truncates its WAL so no copy is left there.
  void checkpoint();
  // Foreign keys checked at commit instead of per statement (rows that refer to each other).
  void defer_foreign_keys();
  // What keyed row MACs are computed with (integrity.hpp); must outlive the connection's use.
  void set_row_mac_key(const RowMacKey* key);
  const RowMacKey* row_mac_key() const noexcept { return m_mac_key; }

  Connection& connection() noexcept { return *m_connection; }

 private:
  std::filesystem::path m_location;
  std::unique_ptr<Connection> m_connection;
  const RowMacKey* m_mac_key = nullptr;
};

class Statement final {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> impl);
  ~Statement();
  Statement(Statement&& other) noexcept;
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
  // Runs it with its current bindings without waiting for the server where the backend can
  // (PostgreSQL: libpq pipeline mode, many statements per round trip; SQLite: as run()), for
  // bulk writes whose rows nothing reads back. Its rows are discarded and changes() does not
  // count it. A failure is thrown by the next statement, exec or commit on the connection at
  // the latest, with the code run() would have given; the transaction then rolls back whole.
  // Later statements see its changes, as after run().
  void queue();
  void reset();

  // Integers (and booleans, as 0 or 1).
  std::int64_t int64(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::string text(int column) const;
  Bytes blob(int column) const;
  bool is_null(int column) const;
  Value value(int column) const;

 private:
  std::unique_ptr<StatementBackend> m_impl;
};

// A write transaction: SQLite's BEGIN IMMEDIATE; on PostgreSQL BEGIN plus the store's
// transaction-level advisory lock, so writers take turns as on SQLite (readers never wait).
// Rolls back unless committed.
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

// How many times a write transaction is run at most when the server aborts it for a
// serialization failure or deadlock (retry_on_conflict).
inline constexpr int k_write_attempts = 6;

// Runs `attempt`, which opens its own (outermost) Transaction, writes and commits, and runs it
// again when the server aborted it for a serialization failure or a deadlock (PostgreSQL 40001,
// 40P01): up to k_write_attempts runs, waiting a jittered, doubling delay in between (20 ms to
// about 0.5 s, under 1.5 s in all). `attempt` must be safe to run again: everything it wrote
// was rolled back, so it must not keep state from a failed run. Inside a transaction it runs
// once: the outermost transaction is the one that can be run again.
void retry_on_conflict(Database& db, const std::function<void()>& attempt);

// One read transaction around many queries, so they see one snapshot (SQLite: BEGIN, taking
// its shared locks once; PostgreSQL: REPEATABLE READ). Inside a transaction it does nothing.
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
