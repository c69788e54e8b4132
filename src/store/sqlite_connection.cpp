// The SQLite backend: connection handling and the mapping of SQLite failures to store
// diagnoses.
#include <sqlite3.h>

#include "connection.hpp"
#include "lock_timeout.hpp"
#include "held_file.hpp"
#include "sqlite_functions.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <vector>

namespace keysafe::store {
namespace {

std::string read_first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// The command line of a process, arguments joined by spaces (NULs in /proc/PID/cmdline).
std::string command_line(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!raw.empty() && raw.back() == '\0') raw.pop_back();
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  if (raw.size() > 200) raw = raw.substr(0, 200) + "...";
  return raw;
}


// A process holding a lock on the store file or its -wal/-shm files (from /proc/locks).
struct LockHolder {
  long pid = 0;
  bool writer = false;       // holds a write lock (not only a shared one)
  std::string command;       // /proc/PID/comm
  std::string command_line;  // /proc/PID/cmdline, arguments joined by spaces
};

// Other processes holding locks on the store, only the writers when there are any; empty when
// none can be found.
std::vector<LockHolder> lock_holders(const std::filesystem::path& store) {
  // The inodes of the store and of its -wal and -shm files (SQLite locks bytes of these).
  struct FileId {
    unsigned long inode;
  };
  std::vector<FileId> files;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    struct stat st {};
    if (::stat((store.string() + suffix).c_str(), &st) == 0)
      files.push_back({static_cast<unsigned long>(st.st_ino)});
  }
  // /proc/locks: "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 120 120" (OFD locks have pid -1,
  // and a line starting with "->" is a waiter, not a holder).
  std::map<long, LockHolder> by_pid;
  std::ifstream locks("/proc/locks");
  std::string line;
  const long self = static_cast<long>(::getpid());
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, device;
    long pid = 0;
    if (!(fields >> number >> kind)) continue;
    if (kind == "->") continue;
    if (!(fields >> mode >> access >> pid >> device)) continue;
    if (pid <= 0 || pid == self) continue;
    const auto colon = device.rfind(':');
    if (colon == std::string::npos) continue;
    char* end = nullptr;
    const unsigned long inode = std::strtoul(device.c_str() + colon + 1, &end, 10);
    if (end == device.c_str() + colon + 1 || *end != '\0') continue;
    // The inode decides: on overlay and some network file systems the device /proc/locks
    // shows is not the one stat() reports.
    const bool ours = std::any_of(files.begin(), files.end(),
                                  [&](const FileId& f) { return f.inode == inode; });
    if (!ours) continue;
    auto& holder = by_pid[pid];
    holder.pid = pid;
    holder.writer = holder.writer || access == "WRITE";
  }
  std::vector<LockHolder> holders;
  for (auto& [pid, holder] : by_pid) {
    holder.command = read_first_line("/proc/" + std::to_string(pid) + "/comm");
    holder.command_line = command_line(pid);
    holders.push_back(holder);
  }
  // Only the writers when there are any: every open connection holds shared locks too, and a
  // writer waits for the writers.
  if (std::any_of(holders.begin(), holders.end(), [](const LockHolder& h) { return h.writer; }))
    std::erase_if(holders, [](const LockHolder& h) { return !h.writer; });
  return holders;
}

// What to hand SQLite. A store in a directory this process cannot write (a read-only mount, a
// root-owned directory read by a monitoring user) cannot get the -wal/-shm files WAL mode
// needs, so SQLite would refuse even to read it. When those files are absent and cannot be
// created, nobody can be writing the store (a writer needs them too): open it read-only and
// immutable, so reading works and any write fails as "read-only".
std::string open_target(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  if (::access(dir.c_str(), W_OK) == 0) return file;
  struct stat st {};
  if (::stat((file + "-wal").c_str(), &st) == 0 || ::stat((file + "-shm").c_str(), &st) == 0)
    return file;
  // A URI path: percent-encode the three characters a URI gives meaning to.
  std::string uri = "file:";
  for (const char c : std::filesystem::absolute(path).string()) {
    if (c == '%') uri += "%25";
    else if (c == '?') uri += "%3f";
    else if (c == '#') uri += "%23";
    else uri += c;
  }
  return uri + "?mode=ro&immutable=1";
}


// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    unsigned min = 0, cp = 0;
    if (c < 0x80) { ++i; continue; }
    if ((c & 0xE0) == 0xC0) { extra = 1; cp = c & 0x1Fu; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { extra = 2; cp = c & 0x0Fu; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { extra = 3; cp = c & 0x07u; min = 0x10000; }
    else return false;
    if (extra > s.size() - i - 1) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

class SqliteConnection;

class SqliteStatement final : public StatementBackend {
 public:
  SqliteStatement(const SqliteConnection& db, sqlite3_stmt* stmt) : m_db(&db), m_stmt(stmt) {}
  ~SqliteStatement() override { sqlite3_finalize(m_stmt); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind(int index, std::int64_t value) override { sqlite3_bind_int64(m_stmt, index, value); }
  void bind(int index, std::string_view value) override {
    sqlite3_bind_text(m_stmt, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  void bind(int index, std::span<const std::uint8_t> value) override {
    sqlite3_bind_blob(m_stmt, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  }
  void bind_null(int index) override { sqlite3_bind_null(m_stmt, index); }
  bool step() override;
  void reset() override {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
  std::int64_t int64(int column) const override { return sqlite3_column_int64(m_stmt, column); }
  std::string text(int column) const override;
  Bytes blob(int column) const override {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, column));
    const int n = sqlite3_column_bytes(m_stmt, column);
    return p == nullptr ? Bytes() : Bytes(p, p + n);
  }
  bool is_null(int column) const override {
    return sqlite3_column_type(m_stmt, column) == SQLITE_NULL;
  }
  Value value(int column) const override {
    Value v;
    switch (sqlite3_column_type(m_stmt, column)) {
      case SQLITE_NULL: return v;
      case SQLITE_INTEGER:
        v.type = Value::Type::Integer;
        v.integer = int64(column);
        return v;
      case SQLITE_BLOB: {
        v.type = Value::Type::Blob;
        const Bytes b = blob(column);
        v.bytes.assign(b.begin(), b.end());
        return v;
      }
      default:  // TEXT (keysafe stores no floats)
        v.type = Value::Type::Text;
        v.bytes = text(column);
        return v;
    }
  }

 private:
  const SqliteConnection* m_db;
  sqlite3_stmt* m_stmt;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(const std::filesystem::path& path);
  ~SqliteConnection() override { sqlite3_close_v2(m_db); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Backend backend() const noexcept override { return Backend::Sqlite; }
  void exec(std::string_view sql) override {
    char* message = nullptr;
    const int rc = sqlite3_exec(m_db, std::string(sql).c_str(), nullptr, nullptr, &message);
    sqlite3_free(message);
    if (rc != SQLITE_OK) fail(rc, "running " + std::string(sql.substr(0, 40)));
  }
  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    sqlite3_stmt* stmt = nullptr;
    const int rc =
        sqlite3_prepare_v2(m_db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) fail(rc, "preparing a query");
    return std::make_unique<SqliteStatement>(*this, stmt);
  }
  int changes() const override { return sqlite3_changes(m_db); }
  bool read_only() const noexcept override { return m_read_only; }
  bool in_transaction() const override { return sqlite3_get_autocommit(m_db) == 0; }
  void begin_write() override { exec("BEGIN IMMEDIATE"); }
  void begin_read() override { exec("BEGIN"); }
  void commit() override { exec("COMMIT"); }
  // Errors are ignored: SQLite may already have rolled the whole transaction back (a full
  // disk, an I/O error).
  void rollback() noexcept override { sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr); }
  void set_row_mac_key(const RowMacKey* key) override { register_row_mac(m_db, key); }
  std::optional<std::string> format_version_problem() const override;
  std::vector<std::string> integrity_problems() override;
  void checkpoint() override { exec("PRAGMA wal_checkpoint(TRUNCATE)"); }
  void defer_foreign_keys() override { exec("PRAGMA defer_foreign_keys = ON"); }

  const std::filesystem::path& path() const noexcept { return m_path; }
  sqlite3* handle() const noexcept { return m_db; }
  [[noreturn]] void fail(int rc, std::string_view what) const;

 private:
  sqlite3* m_db = nullptr;
  std::filesystem::path m_path;
  bool m_read_only = false;
};

bool SqliteStatement::step() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int code = sqlite3_errcode(m_db->handle());
  m_db->fail(code != SQLITE_OK ? code : rc, "reading or writing the store");
}

std::string SqliteStatement::text(int column) const {
  const auto* p = sqlite3_column_text(m_stmt, column);
  const int n = sqlite3_column_bytes(m_stmt, column);
  std::string value = p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
  // keysafe only ever stores UTF-8: anything else is a damaged page (found by
  // tests/cli/corruption.sh: a flipped byte in a name made --json output fail as an internal error).
  if (!valid_utf8(value)) {
    const char* column_name = sqlite3_column_name(m_stmt, column);
    throw Error(Errc::StoreDamaged, "the keystore \"" + m_db->path().string() + "\" is damaged",
                std::string("a text field (") + (column_name != nullptr ? column_name : "?") +
                    ") is not valid UTF-8: keysafe never writes such text",
                "restore the store from a backup; keysafe check shows what is still readable");
  }
  return value;
}

SqliteConnection::SqliteConnection(const std::filesystem::path& path) : m_path(path) {
  const int busy_timeout_ms = lock_timeout_ms();  // a bad KEYSAFE_LOCK_TIMEOUT fails before opening
  const std::string target = open_target(path);
  const int flags = target == path.string()
                        ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
                        : SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX;
  m_read_only = target != path.string();
  const int rc = sqlite3_open_v2(target.c_str(), &m_db, flags, nullptr);
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
  sqlite3_busy_timeout(m_db, busy_timeout_ms);
  sqlite3_extended_result_codes(m_db, 1);
  register_row_checksum(m_db);
}

std::vector<std::string> SqliteConnection::integrity_problems() {
  std::vector<std::string> out;
  if (auto problem = format_version_problem()) out.push_back(std::move(*problem));
  auto q = prepare("PRAGMA integrity_check");
  while (q->step()) {
    std::string line = q->text(0);
    if (line != "ok") out.push_back(std::move(line));
  }
  auto fk = prepare("PRAGMA foreign_key_check");
  while (fk->step()) out.push_back("a row of " + fk->text(0) + " refers to a missing " + fk->text(2));
  return out;
}

std::optional<std::string> SqliteConnection::format_version_problem() const {
  unsigned char versions[2] = {0, 0};
  // Not an ifstream: closing it would drop this process's SQLite locks on the file.
  if (detail::read_held(m_path, 18, versions, 2) != 2) return std::nullopt;
  for (int i = 0; i < 2; ++i)
    if (versions[i] != 1 && versions[i] != 2)
      return std::string("its file header gives ") + (i == 0 ? "write" : "read") +
             " format version " + std::to_string(versions[i]) +
             " (SQLite writes 1 or 2: a damaged header byte, offset " + std::to_string(18 + i) +
             ")";
  return std::nullopt;
}
void SqliteConnection::fail(int rc, std::string_view what) const {
  const std::string detail = m_db != nullptr ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
  const std::string file = "\"" + m_path.string() + "\"";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: {
      // Name the process holding the lock when /proc/locks tells.
      const auto holders = lock_holders(m_path);
      std::string who = "another process";
      std::string fix = "wait for the other keysafe command to finish, then run this one again";
      if (!holders.empty()) {
        std::string names;
        const std::size_t shown = std::min<std::size_t>(holders.size(), 3);
        for (std::size_t i = 0; i < shown; ++i) {
          const auto& h = holders[i];
          if (!names.empty()) names += ", ";
          names += h.command.empty() ? "pid " + std::to_string(h.pid)
                                     : h.command + " (pid " + std::to_string(h.pid) + ")";
        }
        if (holders.size() > shown) names += " and " + std::to_string(holders.size() - shown) + " more";
        who = names;
        const auto& first = holders.front();
        fix = "wait for " + (first.command.empty() ? std::string("it") : first.command) +
              " (pid " + std::to_string(first.pid) + (first.command_line.empty() ? "" : ": " + first.command_line) +
              ") to finish or end it, then run this one again; KEYSAFE_LOCK_TIMEOUT=SECONDS waits longer";
      } else {
        fix += "; KEYSAFE_LOCK_TIMEOUT=SECONDS waits longer";
      }
      throw Error(Errc::StoreLocked, "the keystore " + file + " is locked by " + who,
                  "waited " + format_seconds(lock_timeout_ms()) + " while " + std::string(what) +
                      " (" + detail + ")",
                  fix);
    }
    case SQLITE_CORRUPT:
      throw Error(Errc::StoreDamaged, "the keystore " + file + " is damaged",
                  "SQLite reports corruption while " + std::string(what) + " (" + detail + ")",
                  "restore the store from a backup; keysafe check shows what is still readable");
    case SQLITE_NOTADB:
      throw Error(Errc::StoreInvalid, "the file " + file + " is not a keysafe store",
                  "it is not an SQLite database (" + detail + ")",
                  "check --store / KEYSAFE_STORE, or create a store with: keysafe init");
    case SQLITE_READONLY:
      if (const auto problem = format_version_problem())
        throw Error(Errc::StoreDamaged, "the keystore " + file + " is damaged",
                    "SQLite opened it read-only because " + *problem + " (while " +
                        std::string(what) + ")",
                    "restore the store from a backup; keysafe check shows what is still "
                    "readable");
      if (m_read_only)
        throw Error(Errc::StorePermission, "the keystore " + file + " is read-only here",
                    "this user has no write permission on its directory " +
                        m_path.parent_path().string() +
                        ", so it was opened for reading only (a write needs its -wal/-shm "
                        "files there) while " + std::string(what),
                    "run the command as the store's owner, or make the directory writable");
      [[fallthrough]];
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
    case SQLITE_ERROR:
      // Damage SQLite reports as a plain error: a file header naming an unknown format (a
      // flipped schema-format byte), or a schema table that no longer parses or holds what
      // keysafe created.
      for (const char* sign : {"unsupported file format", "malformed database schema",
                               "no such table", "no such column", "no such index",
                               "already exists", "duplicate column name", "foreign key mismatch"})
        if (detail.find(sign) != std::string::npos)
          throw Error(Errc::StoreDamaged, "the keystore " + file + " is damaged",
                      "SQLite cannot read its schema while " + std::string(what) + " (" +
                          detail + ")",
                      "restore the store from a backup; keysafe check shows what is still "
                      "readable");
      throw Error(Errc::Internal, "an SQLite error on the keystore " + file,
                  std::string(what) + ": " + detail);
    default:
      throw Error(Errc::Internal, "an SQLite error on the keystore " + file,
                  std::string(what) + ": " + detail);
  }
}

}  // namespace

std::unique_ptr<Connection> open_sqlite(const std::filesystem::path& path) {
  return std::make_unique<SqliteConnection>(path);
}

}  // namespace keysafe::store
