// Database, Statement and transactions over either backend (connection.hpp).
#include "keysafe/store/database.hpp"

#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "connection.hpp"
#include "keysafe/store/integrity.hpp"

namespace keysafe::store {

bool is_database_uri(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

namespace {
std::mutex g_parked_mutex;
std::string g_parked_uri;
std::unique_ptr<Connection> g_parked;

std::unique_ptr<Connection> connect(const std::string& uri) {
  {
    std::lock_guard lock(g_parked_mutex);
    if (g_parked && g_parked_uri == uri) return std::move(g_parked);
  }
  return open_postgresql(uri);
}
}  // namespace

void park_connection(std::string uri, std::unique_ptr<Connection> connection) {
  std::lock_guard lock(g_parked_mutex);
  g_parked_uri = std::move(uri);
  g_parked = std::move(connection);
}

Database::Database(const std::filesystem::path& location) : m_location(location) {
  const std::string text = location.string();
  m_connection = is_database_uri(text) ? connect(text) : open_sqlite(location);
}

Database::~Database() = default;
Database::Database(Database&& other) noexcept = default;

Backend Database::backend() const noexcept { return m_connection->backend(); }
void Database::exec(std::string_view sql) { m_connection->exec(sql); }
Statement Database::prepare(std::string_view sql) { return Statement(m_connection->prepare(sql)); }
int Database::changes() const { return m_connection->changes(); }
bool Database::read_only() const noexcept { return m_connection->read_only(); }
bool Database::in_transaction() const { return m_connection->in_transaction(); }
std::optional<std::string> Database::format_version_problem() const {
  return m_connection->format_version_problem();
}
std::vector<std::string> Database::integrity_problems() {
  return m_connection->integrity_problems();
}
void Database::checkpoint() { m_connection->checkpoint(); }
void Database::defer_foreign_keys() { m_connection->defer_foreign_keys(); }
void Database::set_row_mac_key(const RowMacKey* key) {
  m_mac_key = key;
  m_connection->set_row_mac_key(key);
}

Statement::Statement(std::unique_ptr<StatementBackend> impl) : m_impl(std::move(impl)) {}
Statement::~Statement() = default;
Statement::Statement(Statement&& other) noexcept = default;

Statement& Statement::bind(int index, std::int64_t value) {
  m_impl->bind(index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  m_impl->bind(index, value);
  return *this;
}
Statement& Statement::bind(int index, std::span<const std::uint8_t> value) {
  m_impl->bind(index, value);
  return *this;
}
Statement& Statement::bind_null(int index) {
  m_impl->bind_null(index);
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}
bool Statement::step() { return m_impl->step(); }
void Statement::run() {
  while (step()) {
  }
}
void Statement::queue() { m_impl->queue(); }
void Statement::reset() { m_impl->reset(); }
std::int64_t Statement::int64(int column) const { return m_impl->int64(column); }
std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}
std::string Statement::text(int column) const { return m_impl->text(column); }
Bytes Statement::blob(int column) const { return m_impl->blob(column); }
bool Statement::is_null(int column) const { return m_impl->is_null(column); }
Value Statement::value(int column) const { return m_impl->value(column); }

// Both backends resolve a savepoint name to the innermost one of that name, so one name serves
// every nesting depth.
Transaction::Transaction(Database& db) : m_db(db), m_nested(db.in_transaction()) {
  if (m_nested) {
    m_db.exec("SAVEPOINT keysafe_nested");
    m_db.connection().upgrade_to_write();
  } else {
    m_db.connection().begin_write();
  }
}

Transaction::~Transaction() {
  if (m_done) return;
  if (!m_nested) {
    m_db.connection().rollback();
    return;
  }
  try {
    m_db.exec("ROLLBACK TO keysafe_nested");
    m_db.exec("RELEASE keysafe_nested");
  } catch (...) {
    // The transaction may be gone already (a full disk, a lost connection); the exception
    // that got us here is the one to report.
  }
}

void Transaction::commit() {
  if (m_nested) {
    m_db.exec("RELEASE keysafe_nested");
  } else {
    // PostgreSQL rows changed in this transaction get their MACs here, computed by keysafe:
    // the MAC key never reaches the server.
    if (m_db.backend() == Backend::Postgresql) seal_pending_rows(m_db);
    m_db.connection().commit();
  }
  m_done = true;
}

void retry_on_conflict(Database& db, const std::function<void()>& attempt) {
  if (db.in_transaction()) {
    attempt();
    return;
  }
  std::minstd_rand jitter(std::random_device{}());
  for (int run = 1;; ++run) {
    try {
      attempt();
      return;
    } catch (const Error&) {
      if (run >= k_write_attempts || !db.connection().conflicted()) throw;
    }
    // Two sessions that collided wait for different times, so they do not collide again.
    const int base_ms = 20 << (run - 1);  // 20, 40, 80, 160, 320
    std::uniform_int_distribution<int> spread(base_ms / 2, base_ms + base_ms / 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(spread(jitter)));
  }
}

ReadSnapshot::ReadSnapshot(Database& db) : m_db(db), m_owner(!db.in_transaction()) {
  if (m_owner) m_db.connection().begin_read();
}

ReadSnapshot::~ReadSnapshot() {
  // Ending a read transaction cannot lose data; an error here has nothing to report.
  if (m_owner) m_db.connection().rollback();
}

}  // namespace keysafe::store
