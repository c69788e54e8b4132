// The PostgreSQL backend, through libpq: connecting by URI (passwords only from libpq's own
// sources), statements with `?` placeholders, writers serialised by an advisory lock, and the
// mapping of server errors to store diagnoses.
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "connection.hpp"
#include "keysafe/shell_word.hpp"
#include "lock_timeout.hpp"
#include "pg_placeholders.hpp"

namespace keysafe::store {
namespace {

// Type OIDs (pg_type.h is not installed for clients; these values are fixed).
constexpr Oid k_bool = 16, k_bytea = 17, k_int8 = 20, k_int2 = 21, k_int4 = 23, k_text = 25;

// libpq's message without its trailing newline, on one line.
std::string one_line(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\t', ' ');
  return s;
}

bool contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

// Refuses a URI that is not one, or that carries a password: argv and the environment of
// other users' `ps` would show it (docs/POSTGRESQL.md names libpq's own sources instead).
void check_uri(const std::string& uri) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error);
  if (options == nullptr) {
    const std::string why = one_line(error);
    PQfreemem(error);
    throw Error(Errc::Usage, "the store URI is not a valid PostgreSQL connection URI",
                why.empty() ? "libpq cannot parse it" : why,
                "write it as postgresql://USER@HOST[:PORT][,HOST2[:PORT]]/DATABASE[?PARAM=VALUE]");
  }
  bool has_password = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o)
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0')
      has_password = true;
  PQconninfoFree(options);
  if (has_password)
    throw Error(Errc::Usage, "the store URI contains a password",
                "a password in --store or KEYSAFE_STORE is visible to other users (ps, "
                "/proc/PID/environ, shell history); keysafe refuses it",
                "remove it from the URI and give it to libpq instead: a line "
                "HOST:PORT:DATABASE:USER:PASSWORD in ~/.pgpass (chmod 600) or the file named by "
                "PGPASSFILE, or PGPASSWORD, or a client certificate (sslcert/sslkey)");
}

class PgConnection;

class PgStatement final : public StatementBackend {
 public:
  PgStatement(PgConnection& db, std::string sql, int parameters)
      : m_db(&db), m_sql(std::move(sql)), m_values(static_cast<std::size_t>(parameters)),
        m_null(static_cast<std::size_t>(parameters), true),
        m_types(static_cast<std::size_t>(parameters), 0),
        m_formats(static_cast<std::size_t>(parameters), 0) {}
  ~PgStatement() override;
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;

  void bind(int index, std::int64_t value) override {
    std::string be(8, '\0');
    for (int b = 0; b < 8; ++b)
      be[static_cast<std::size_t>(b)] = static_cast<char>(static_cast<std::uint64_t>(value) >> (56 - 8 * b));
    set(index, std::move(be), k_int8, 1);
  }
  void bind(int index, std::string_view value) override { set(index, std::string(value), k_text, 0); }
  void bind(int index, std::span<const std::uint8_t> value) override {
    set(index, std::string(value.begin(), value.end()), k_bytea, 1);
  }
  void bind_null(int index) override {
    const auto i = slot(index);
    m_null[i] = true;
    m_types[i] = 0;
  }
  bool step() override;
  void queue() override;
  void reset() override {
    PQclear(m_result);
    m_result = nullptr;
    m_row = -1;
    std::fill(m_null.begin(), m_null.end(), true);
  }
  std::int64_t int64(int column) const override;
  std::string text(int column) const override;
  Bytes blob(int column) const override {
    const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(m_result, m_row, column));
    return Bytes(p, p + PQgetlength(m_result, m_row, column));
  }
  bool is_null(int column) const override { return PQgetisnull(m_result, m_row, column) == 1; }
  Value value(int column) const override {
    Value v;
    if (is_null(column)) return v;
    switch (PQftype(m_result, column)) {
      case k_bool:
      case k_int2:
      case k_int4:
      case k_int8:
        v.type = Value::Type::Integer;
        v.integer = int64(column);
        return v;
      case k_bytea:
        v.type = Value::Type::Blob;
        break;
      default:
        v.type = Value::Type::Text;
    }
    v.bytes.assign(PQgetvalue(m_result, m_row, column),
                   static_cast<std::size_t>(PQgetlength(m_result, m_row, column)));
    return v;
  }

 private:
  std::size_t slot(int index) const {
    if (index < 1 || static_cast<std::size_t>(index) > m_values.size())
      throw Error(Errc::Internal, "a query parameter index is out of range",
                  "parameter " + std::to_string(index) + " of " + std::to_string(m_values.size()));
    return static_cast<std::size_t>(index - 1);
  }
  // The bound values as libpq takes them (pointers into m_values).
  struct Params {
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<Oid> types;
  };
  Params params() const {
    Params p{std::vector<const char*>(m_values.size()), std::vector<int>(m_values.size()), m_types};
    for (std::size_t i = 0; i < m_values.size(); ++i) {
      p.values[i] = m_null[i] ? nullptr : m_values[i].data();
      p.lengths[i] = static_cast<int>(m_values[i].size());
      if (m_null[i]) p.types[i] = 0;
    }
    return p;
  }
  void set(int index, std::string value, Oid type, int format) {
    const auto i = slot(index);
    m_values[i] = std::move(value);
    m_null[i] = false;
    m_types[i] = type;
    m_formats[i] = format;
  }

  PgConnection* m_db;
  std::string m_sql;
  std::vector<std::string> m_values;
  std::vector<bool> m_null;
  std::vector<Oid> m_types;
  std::vector<int> m_formats;
  PGresult* m_result = nullptr;
  int m_row = -1;
  // The server-side prepared statement queue() made on first use (parsed and planned once).
  std::string m_prepared;
};

class PgConnection final : public Connection {
 public:
  explicit PgConnection(std::string uri);
  ~PgConnection() override { PQfinish(m_conn); }
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Backend backend() const noexcept override { return Backend::Postgresql; }
  void exec(std::string_view sql) override {
    drain();
    PGresult* r = PQexec(m_conn, std::string(sql).c_str());
    check(r, "running " + std::string(sql.substr(0, 40)));
    PQclear(r);
  }
  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override;
  int changes() const override { return m_changes; }
  bool read_only() const noexcept override { return false; }
  bool in_transaction() const override {
    const auto status = PQtransactionStatus(m_conn);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
  }
  // BEGIN and the write lock in one round trip (one simple query of two statements). A lock
  // that is not granted leaves no transaction open behind the error.
  void begin_write() override {
    m_conflicted = false;
    try {
      // READ COMMITTED whatever the database's default_transaction_isolation: writers take
      // turns on the lock, and each statement after it must see every commit before it (a
      // REPEATABLE READ snapshot, taken while waiting for the lock, would not).
      exec("BEGIN ISOLATION LEVEL READ COMMITTED; " + write_lock_sql());
    } catch (...) {
      rollback();
      throw;
    }
    m_write_locked = true;
  }
  void begin_read() override { exec("BEGIN ISOLATION LEVEL REPEATABLE READ"); }
  void commit() override {
    m_write_locked = false;
    exec("COMMIT");
    deallocate_unused();
  }
  void rollback() noexcept override {
    m_write_locked = false;
    try {
      drain();
    } catch (...) {
      // Rolling back is what a queued statement's failure asks for anyway.
    }
    PQclear(PQexec(m_conn, "ROLLBACK"));
    try {
      deallocate_unused();
    } catch (...) {
      // A session that cannot deallocate has lost its connection, and its statements with it.
    }
  }
  void upgrade_to_write() override {
    if (m_write_locked) return;
    exec(write_lock_sql());
    m_write_locked = true;
  }
  bool conflicted() const noexcept override { return m_conflicted; }
  void set_row_mac_key(const RowMacKey*) override {}  // MACs are computed at commit (integrity.cpp)
  void defer_foreign_keys() override { exec("SET CONSTRAINTS ALL DEFERRED"); }

  // Executes a statement; the result is the caller's.
  PGresult* run(const std::string& sql, const std::vector<const char*>& values,
                const std::vector<int>& lengths, const std::vector<Oid>& types,
                const std::vector<int>& formats) {
    drain();
    PGresult* r = PQexecParams(m_conn, sql.c_str(), static_cast<int>(values.size()),
                               types.data(), values.data(), lengths.data(), formats.data(), 1);
    check(r, "reading or writing the store");
    const char* tuples = PQcmdTuples(r);
    m_changes = tuples != nullptr && *tuples != '\0' ? std::atoi(tuples) : 0;
    return r;
  }
  // Sends a statement in pipeline mode (entered on first use); its result is read by drain().
  // `prepared` names the server-side statement to run, made (in the same pipeline) when empty.
  void send(std::string& prepared, const std::string& sql, const std::vector<const char*>& values,
            const std::vector<int>& lengths, const std::vector<Oid>& types,
            const std::vector<int>& formats) {
    if (!m_pipeline) {
      if (PQenterPipelineMode(m_conn) != 1) check(nullptr, "starting a pipeline of writes");
      m_pipeline = true;
    }
    if (prepared.empty()) {
      std::string name = "keysafe_" + std::to_string(++m_prepared_count);
      if (PQsendPrepare(m_conn, name.c_str(), sql.c_str(), static_cast<int>(types.size()),
                        types.data()) != 1) {
        drain();
        check(nullptr, "queueing a write to the store");
      }
      ++m_queued;
      prepared = std::move(name);
    }
    if (PQsendQueryPrepared(m_conn, prepared.c_str(), static_cast<int>(values.size()),
                            values.data(), lengths.data(), formats.data(), 1) != 1) {
      drain();
      check(nullptr, "queueing a write to the store");
    }
    // Bounded, so the results waiting in memory stay few (one round trip per batch).
    if (++m_queued >= k_pipeline_batch) drain();
  }
  // A prepared statement no longer used: deallocated after the transaction ends (never in the
  // middle of one, where a failure could not be reported).
  void forget(std::string name) noexcept {
    try {
      m_unused.push_back(std::move(name));
    } catch (...) {
    }
  }
  const std::string& uri() const noexcept { return m_uri; }

 private:
  // Writers take turns, as on SQLite: a transaction-level advisory lock per store (the key
  // includes the schema, so stores in separate schemas do not wait for each other), taken
  // before the first read of the transaction, so every statement after it sees every commit
  // before it (READ COMMITTED). Name uniqueness, serial numbers, renewal swaps and the audit
  // chain then never race, and no transaction can deadlock or fail serialisation with another
  // keysafe writer. KEYSAFE_LOCK_TIMEOUT bounds the wait.
  // KEYSAFE_LOCK_TIMEOUT bounds the wait: set for this transaction only (set_config's `true`),
  // by the same statement, before the lock is asked for (its select list runs left to right).
  static std::string write_lock_sql() {
    return "SELECT set_config('lock_timeout', '" + std::to_string(std::max(1, lock_timeout_ms())) +
           "', true), pg_advisory_xact_lock(1801812339, hashtext(current_schema()))";
  }
  // Throws the keysafe error for a failed result (clearing it).
  void check(PGresult* r, const std::string& what);
  [[noreturn]] void fail_connect();

  // Ends pipeline mode: one sync, then every queued statement's result read in order; the first
  // failure is thrown (as check() maps it) once the pipeline is closed again.
  void drain();
  void deallocate_unused() {
    if (m_unused.empty() || in_transaction()) return;
    std::string sql;
    for (const auto& name : m_unused) sql += "DEALLOCATE " + name + ";";
    m_unused.clear();
    exec(sql);
  }

  static constexpr int k_pipeline_batch = 1000;
  int m_prepared_count = 0;
  std::vector<std::string> m_unused;
  std::string m_uri;
  PGconn* m_conn = nullptr;
  bool m_pipeline = false;
  int m_queued = 0;
  int m_changes = 0;
  bool m_write_locked = false;
  bool m_conflicted = false;
};

PgConnection::PgConnection(std::string uri) : m_uri(std::move(uri)) {
  check_uri(m_uri);
  // The URI's own settings win, except the client encoding: keysafe reads and writes UTF-8.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname",
                            "client_encoding", nullptr};
  const char* values[] = {"10", "keysafe", m_uri.c_str(), "UTF8", nullptr};
  m_conn = PQconnectdbParams(keywords, values, 1);
  if (m_conn == nullptr || PQstatus(m_conn) != CONNECTION_OK) fail_connect();
  // Notices (e.g. "schema already exists, skipping") are not for the administrator.
  PQsetNoticeProcessor(m_conn, [](void*, const char*) {}, nullptr);
}

void PgConnection::drain() {
  if (!m_pipeline) return;
  PGresult* failure = nullptr;
  const auto keep = [&](PGresult* r) {
    const auto status = PQresultStatus(r);
    if (failure == nullptr && status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK &&
        status != PGRES_PIPELINE_ABORTED && status != PGRES_PIPELINE_SYNC)
      failure = r;
    else
      PQclear(r);
  };
  if (PQpipelineSync(m_conn) == 1) {
    // Each queued statement's results end with a null; the sync's own result comes last.
    for (int i = 0; i < m_queued && PQstatus(m_conn) == CONNECTION_OK; ++i)
      while (PGresult* r = PQgetResult(m_conn)) keep(r);
    while (PGresult* r = PQgetResult(m_conn)) {
      const bool synced = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
      keep(r);
      if (synced) break;
    }
  }
  const bool exited = PQexitPipelineMode(m_conn) == 1;
  m_pipeline = !exited;
  m_queued = 0;
  if (failure != nullptr) check(failure, "writing the store");
  if (!exited) check(nullptr, "finishing a pipeline of writes");
}

void PgConnection::fail_connect() {
  const std::string why = one_line(m_conn != nullptr ? PQerrorMessage(m_conn) : "out of memory");
  const std::string store = "the keystore database " + m_uri;
  if (contains(why, "password authentication failed") || contains(why, "no password supplied") ||
      contains(why, "authentication failed") || contains(why, "pg_hba.conf") ||
      contains(why, "certificate"))
    throw Error(Errc::StoreAuthentication, "the database server refused keysafe's login to " + store,
                why,
                "give libpq the right credentials: a line HOST:PORT:DATABASE:USER:PASSWORD in "
                "~/.pgpass (chmod 600) or the file named by PGPASSFILE, or PGPASSWORD, or a client "
                "certificate; and check the user in the URI and the server's pg_hba.conf");
  if (contains(why, "does not exist") && contains(why, "database"))
    throw Error(Errc::StoreDatabaseMissing, "there is no database for " + store, why,
                "create it (e.g. createdb -O USER DATABASE), then: keysafe init --store " +
                    shell_quote(m_uri));
  if (contains(why, "read-only") || contains(why, "hot standby") || contains(why, "read-write"))
    throw Error(Errc::StoreReadOnly, store + " only accepts reads on the servers named", why,
                "name the primary in the URI, or list every server with "
                "target_session_attrs=read-write (postgresql://db1,db2/DATABASE?target_session_attrs=read-write)");
  if (contains(why, "permission denied"))
    throw Error(Errc::StorePermission, "the database role may not connect to " + store, why,
                "grant it: GRANT CONNECT ON DATABASE DATABASE TO ROLE (as the database owner)");
  throw Error(Errc::StoreUnreachable, "cannot reach " + store, why,
              "check that the server runs and listens at that host and port (pg_isready -d " +
                  shell_quote(m_uri) + "), and the network between");
}

void PgConnection::check(PGresult* r, const std::string& what) {
  const auto status = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
  const char* state_field = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_field != nullptr ? state_field : "";
  const std::string why = one_line(r != nullptr && *PQresultErrorMessage(r) != '\0'
                                       ? PQresultErrorMessage(r)
                                       : PQerrorMessage(m_conn));
  PQclear(r);
  m_conflicted = state == "40001" || state == "40P01";
  const std::string store = "the keystore database " + m_uri;
  const std::string cause = what + ": " + why;
  if (PQstatus(m_conn) == CONNECTION_BAD || state.starts_with("08") || state == "57P01" ||
      state == "57P02" || state == "57P03")
    throw Error(Errc::StoreUnreachable, "lost the connection to " + store, cause,
                "check the server (pg_isready -d " + shell_quote(m_uri) +
                    "); nothing half-done was kept: a transaction that did not commit is rolled "
                    "back by the server. Run the command again once it answers (a URI listing "
                    "the standby too carries on after a failover)");
  if (state == "25006")
    throw Error(Errc::StoreReadOnly, store + " is read-only on this server", cause,
                "point --store at the primary, or list every server with "
                "target_session_attrs=read-write");
  if (state == "42501")
    throw Error(Errc::StorePermission, "the database role lacks a permission on " + store, cause,
                "grant the role keysafe connects as the rights on the store's tables (GRANT "
                "SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ... TO ROLE), or "
                "connect as the role that ran keysafe init");
  if (state == "55P03")
    throw Error(Errc::StoreLocked, store + " is locked by another keysafe writer",
                "waited " + format_seconds(lock_timeout_ms()) + " for the store's write lock (" +
                    why + ")",
                "wait for the other keysafe command to finish (SELECT pid, application_name, "
                "client_addr FROM pg_stat_activity), then run this one again; "
                "KEYSAFE_LOCK_TIMEOUT=SECONDS waits longer");
  if (m_conflicted)
    throw Error(Errc::StoreLocked,
                "the server aborted keysafe's transaction on " + store +
                    ": it conflicted with another session's",
                cause + " (SQLSTATE " + state + ")",
                "nothing of it was kept. keysafe runs such a transaction up to " +
                    std::to_string(k_write_attempts) +
                    " times before giving up: find the session that holds rows of the store's "
                    "tables (SELECT pid, application_name, state, query FROM pg_stat_activity), "
                    "then run the command again");
  if (state == "53100")
    throw Error(Errc::Io, "the disk of the database server is full (" + store + ")", cause,
                "free space on the server, then run the command again");
  if (state == "42P01" || state == "42703" || state == "42883")
    throw Error(Errc::StoreDamaged, store + " does not hold what keysafe created", cause,
                "a table, column or function of the store is missing: restore the store from a "
                "backup, or keysafe store copy it from a good copy");
  throw Error(Errc::Internal, "a PostgreSQL error on " + store,
              cause + (state.empty() ? "" : " (SQLSTATE " + state + ")"));
}

std::unique_ptr<StatementBackend> PgConnection::prepare(std::string_view sql) {
  NumberedSql numbered = numbered_placeholders(sql);
  return std::make_unique<PgStatement>(*this, std::move(numbered.sql), numbered.parameters);
}

bool PgStatement::step() {
  if (m_result == nullptr) {
    const Params p = params();
    m_result = m_db->run(m_sql, p.values, p.lengths, p.types, m_formats);
    m_row = -1;
  }
  if (m_row + 1 >= PQntuples(m_result)) {
    m_row = PQntuples(m_result);
    return false;
  }
  ++m_row;
  return true;
}

void PgStatement::queue() {
  const Params p = params();
  m_db->send(m_prepared, m_sql, p.values, p.lengths, p.types, m_formats);
}

PgStatement::~PgStatement() {
  PQclear(m_result);
  if (!m_prepared.empty()) m_db->forget(std::move(m_prepared));
}

std::int64_t PgStatement::int64(int column) const {
  if (is_null(column)) return 0;
  const auto* p = reinterpret_cast<const std::uint8_t*>(PQgetvalue(m_result, m_row, column));
  const int n = PQgetlength(m_result, m_row, column);
  switch (PQftype(m_result, column)) {
    case k_bool: return p[0] != 0 ? 1 : 0;
    case k_int2:
    case k_int4:
    case k_int8: {
      std::uint64_t v = (p[0] & 0x80) != 0 ? ~std::uint64_t{0} : 0;  // sign extension
      for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
      return static_cast<std::int64_t>(v);
    }
    default:  // text holding a number, as SQLite would convert it
      return std::strtoll(std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)).c_str(),
                          nullptr, 10);
  }
}

std::string PgStatement::text(int column) const {
  if (is_null(column)) return {};
  switch (PQftype(m_result, column)) {
    case k_bool:
    case k_int2:
    case k_int4:
    case k_int8: return std::to_string(int64(column));
    default:
      return std::string(PQgetvalue(m_result, m_row, column),
                         static_cast<std::size_t>(PQgetlength(m_result, m_row, column)));
  }
}

}  // namespace

namespace {

// The tag of a dollar quote starting at `at` ("$$" or "$name$"), or empty when there is none.
// A tag's name is an identifier that does not start with a digit ($1 is a parameter).
std::string_view dollar_tag(std::string_view sql, std::size_t at) {
  std::size_t end = at + 1;
  while (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) != 0 ||
                              sql[end] == '_' || static_cast<unsigned char>(sql[end]) >= 0x80))
    ++end;
  if (end >= sql.size() || sql[end] != '$') return {};
  if (end > at + 1 && std::isdigit(static_cast<unsigned char>(sql[at + 1])) != 0) return {};
  return sql.substr(at, end - at + 1);
}

// A word character before `at`: `a$b$` is an identifier, not a dollar quote.
bool after_identifier(std::string_view sql, std::size_t at) {
  if (at == 0) return false;
  const auto c = static_cast<unsigned char>(sql[at - 1]);
  return std::isalnum(c) != 0 || c == '_' || c == '$' || c >= 0x80;
}

}  // namespace

NumberedSql numbered_placeholders(std::string_view sql) {
  NumberedSql out;
  out.sql.reserve(sql.size() + 16);
  std::size_t i = 0;
  // Copies sql[i, end) unchanged and moves past it.
  const auto keep_until = [&](std::size_t end) {
    end = std::min(end, sql.size());
    out.sql.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    const char c = sql[i];
    const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
    if (c == '\'' || c == '"') {
      // A doubled quote inside reads as the closing quote and a new opening one: same result.
      const auto close = sql.find(c, i + 1);
      keep_until(close == std::string_view::npos ? sql.size() : close + 1);
    } else if (c == '-' && next == '-') {
      keep_until(sql.find('\n', i));
    } else if (c == '/' && next == '*') {
      std::size_t end = i + 2;
      for (int depth = 1; depth > 0 && end < sql.size(); ) {
        if (sql.compare(end, 2, "/*") == 0) {
          ++depth;
          end += 2;
        } else if (sql.compare(end, 2, "*/") == 0) {
          --depth;
          end += 2;
        } else {
          ++end;
        }
      }
      keep_until(end);
    } else if (c == '$' && !after_identifier(sql, i) && !dollar_tag(sql, i).empty()) {
      const std::string_view tag = dollar_tag(sql, i);
      const auto close = sql.find(tag, i + tag.size());
      keep_until(close == std::string_view::npos ? sql.size() : close + tag.size());
    } else if (c == '?') {
      out.sql += '$' + std::to_string(++out.parameters);
      ++i;
    } else {
      out.sql += c;
      ++i;
    }
  }
  return out;
}

std::unique_ptr<Connection> open_postgresql(const std::string& uri) {
  return std::make_unique<PgConnection>(uri);
}

}  // namespace keysafe::store
