// What each store backend implements (src/store only): a connection and its statements.
// Database, Statement, Transaction and ReadSnapshot (database.hpp) forward to these.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/store/database.hpp"

namespace keysafe::store {

class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void bind(int index, std::int64_t value) = 0;
  virtual void bind(int index, std::string_view value) = 0;
  virtual void bind(int index, std::span<const std::uint8_t> value) = 0;
  virtual void bind_null(int index) = 0;
  virtual bool step() = 0;
  // Runs the statement, its rows (if any) unread, without waiting for the server where the
  // backend can (Statement::queue). SQLite runs it at once.
  virtual void queue() {
    while (step()) {
    }
  }
  virtual void reset() = 0;
  virtual std::int64_t int64(int column) const = 0;
  virtual std::string text(int column) const = 0;
  virtual Bytes blob(int column) const = 0;
  virtual bool is_null(int column) const = 0;
  virtual Value value(int column) const = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Backend backend() const noexcept = 0;
  virtual void exec(std::string_view sql) = 0;
  virtual std::unique_ptr<StatementBackend> prepare(std::string_view sql) = 0;
  virtual int changes() const = 0;
  virtual bool read_only() const noexcept = 0;
  virtual bool in_transaction() const = 0;
  // Outermost transactions (nested ones are savepoints, the same on both backends).
  virtual void begin_write() = 0;
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  // Never throws: the error that got here is the one to report.
  virtual void rollback() noexcept = 0;
  // A savepoint inside a read snapshot that is about to write (PostgreSQL takes the write lock).
  virtual void upgrade_to_write() {}
  virtual void set_row_mac_key(const RowMacKey* key) = 0;
  virtual std::optional<std::string> format_version_problem() const { return std::nullopt; }
  virtual std::vector<std::string> integrity_problems() { return {}; }
  virtual void checkpoint() {}
  virtual void defer_foreign_keys() = 0;
  // Whether the last failed statement failed because the server aborted the transaction for a
  // serialization failure or a deadlock (PostgreSQL 40001, 40P01): running it again may succeed.
  virtual bool conflicted() const noexcept { return false; }
};

std::unique_ptr<Connection> open_sqlite(const std::filesystem::path& path);
std::unique_ptr<Connection> open_postgresql(const std::string& uri);

// A database connection kept for the next Database opened on the same URI in this process
// (Keystore::exists asks, then the command opens the store: one login, not two).
void park_connection(std::string uri, std::unique_ptr<Connection> connection);

}  // namespace keysafe::store
