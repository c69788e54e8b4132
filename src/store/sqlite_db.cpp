// SQLite connection handling and the mapping of SQLite failures to store diagnoses.
#include "keysafe/store/sqlite_db.hpp"

#include <cerrno>
#include <cstring>

namespace keysafe::store {
namespace {

constexpr int k_busy_timeout_ms = 10000;

}  // namespace

Database::Database(const std::filesystem::path& path) : m_path(path) {
  const int rc = sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const int saved_errno = errno;
    std::string detail = m_db != nullptr ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
    if (rc == SQLITE_CANTOPEN || rc == SQLITE_PERM || rc == SQLITE_READONLY)
      throw Error(Errc::StorePermission, "cannot open the keystore \"" + path.string() + "\"",
                  detail + (saved_errno != 0 ? std::string(" (") + std::strerror(saved_errno) + ")"
                                             : std::string()),
                  "check that you can read and write the file and its directory (ls -l " +
                      path.parent_path().string() + ")");
    throw Error(Errc::StoreDamaged, "cannot open the keystore \"" + path.string() + "\"", detail);
  }
  sqlite3_busy_timeout(m_db, k_busy_timeout_ms);
  sqlite3_extended_result_codes(m_db, 1);
}

Database::~Database() {
  if (m_db != nullptr) sqlite3_close_v2(m_db);
}

Database::Database(Database&& other) noexcept : m_db(other.m_db), m_path(std::move(other.m_path)) {
  other.m_db = nullptr;
}

void Database::fail(int rc, std::string_view what) const {
  const std::string detail = m_db != nullptr ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
  const std::string file = "\"" + m_path.string() + "\"";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(Errc::StoreLocked, "the keystore " + file + " is locked by another process",
                  "waited " + std::to_string(k_busy_timeout_ms / 1000) + " s while " +
                      std::string(what) + " (" + detail + ")",
                  "wait for the other keysafe command to finish, then run this one again");
    case SQLITE_CORRUPT:
      throw Error(Errc::StoreDamaged, "the keystore " + file + " is damaged",
                  "SQLite reports corruption while " + std::string(what) + " (" + detail + ")",
                  "restore the store from a backup; keysafe check shows what is still readable");
    case SQLITE_NOTADB:
      throw Error(Errc::StoreInvalid, "the file " + file + " is not a keysafe store",
                  "it is not an SQLite database (" + detail + ")",
                  "check --store / KEYSAFE_STORE, or create a store with: keysafe init");
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
      throw Error(Errc::StorePermission, "cannot write to the keystore " + file,
                  std::string(what) + ": " + detail,
                  "check the permissions of the file, its -wal/-shm files and its directory");
    case SQLITE_FULL:
      throw Error(Errc::Io, "the disk holding the keystore " + file + " is full",
                  std::string(what) + ": " + detail, "free space, then run the command again");
    case SQLITE_IOERR:
      throw Error(Errc::Io, "an I/O error on the keystore " + file,
                  std::string(what) + ": " + detail, "check the disk and the file system");
    default:
      throw Error(Errc::Internal, "an SQLite error on the keystore " + file,
                  std::string(what) + ": " + detail);
  }
}

void Database::exec(std::string_view sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(m_db, std::string(sql).c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) fail(rc, "running " + std::string(sql.substr(0, 40)));
}

Statement Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) fail(rc, "preparing a query");
  return Statement(*this, stmt);
}

std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(m_db); }
int Database::changes() const { return sqlite3_changes(m_db); }

Statement::~Statement() {
  if (m_stmt != nullptr) sqlite3_finalize(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(m_stmt, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int index, std::span<const std::uint8_t> value) {
  sqlite3_bind_blob(m_stmt, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind_null(int index) {
  sqlite3_bind_null(m_stmt, index);
  return *this;
}
Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind(index, *value) : bind_null(index);
}

bool Statement::step() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int code = sqlite3_errcode(m_db->handle());
  m_db->fail(code != SQLITE_OK ? code : rc, "reading or writing the store");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(m_stmt, column); }

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(m_stmt, column);
  const int n = sqlite3_column_bytes(m_stmt, column);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

Bytes Statement::blob(int column) const {
  const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, column));
  const int n = sqlite3_column_bytes(m_stmt, column);
  return p == nullptr ? Bytes() : Bytes(p, p + n);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
}

Transaction::Transaction(Database& db) : m_db(db) { m_db.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!m_done) sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  m_db.exec("COMMIT");
  m_done = true;
}

}  // namespace keysafe::store
