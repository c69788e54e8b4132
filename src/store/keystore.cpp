// Keystore: validation on open, unlocking, and the transactions that change the store.
#include "keysafe/store/keystore.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <unordered_map>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "connection.hpp"
#include "entry_writer.hpp"
#include "held_file.hpp"
#include "keysafe/crypto/aead.hpp"
#include "keysafe/crypto/kdf_bounds.hpp"
#include "keysafe/store/acme.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/shell_word.hpp"
#include "keysafe/store/schema.hpp"

namespace keysafe::store {
// scrypt and AES-256-GCM live in keysafe_crypto, which backups share.
using crypto::aead_open;
using crypto::aead_seal;
using crypto::derive_kek;
using crypto::k_key_size;
using crypto::k_min_log2_n;
using crypto::KdfParams;

namespace {

constexpr char k_sqlite_magic[] = "SQLite format 3";  // 16 bytes with its NUL

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}

std::vector<std::string> from_json_array(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

void apply_connection_settings(Database& db) {
  if (db.backend() != Backend::Sqlite) return;  // PostgreSQL: enforced, durable as configured
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA secure_delete = ON");  // deleted keys are overwritten, not just unlinked
  db.exec("PRAGMA synchronous = FULL");  // an acknowledged write survives power loss
  // Up to 64 MiB of page cache (allocated only as used): a bulk transaction (an import of
  // 10,000 certificates, with its audit rows and row checksums) then stays in memory until
  // commit instead of spilling pages to the WAL over and over (measured: 19 writes per entry).
  db.exec("PRAGMA cache_size = -65536");
}

// Tells "no store", "not a store" and "cannot read" apart before SQLite sees the file.
void precheck_file(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      throw Error(Errc::StoreMissing, "there is no keystore at " + quoted(path),
                  "the file does not exist",
                  "create one with: keysafe init --store " + shell_quote(path.string()) +
                      " (or point --store / KEYSAFE_STORE at an existing store)");
    throw Error(Errc::StorePermission, "cannot reach the keystore " + quoted(path),
                std::strerror(errno), "check the permissions of the directories on the path");
  }
  if (!S_ISREG(st.st_mode))
    throw Error(Errc::StoreInvalid, quoted(path) + " is not a keysafe store",
                "it is not a regular file", "point --store / KEYSAFE_STORE at the store file");
  char magic[16] = {};
  // Not an ifstream: closing it would drop this process's SQLite locks on the file.
  const long got = detail::read_held(path, 0, magic, sizeof magic);
  if (got < 0)
    throw Error(Errc::StorePermission, "cannot read the keystore " + quoted(path),
                std::string("opening it failed: ") + std::strerror(errno),
                "run keysafe as the store's owner, or fix its mode: chmod 600 " + shell_quote(path.string()));
  if (got == 0)
    throw Error(Errc::StoreInvalid, quoted(path) + " is not a keysafe store", "the file is empty",
                "remove it and create a store with: keysafe init --store " + shell_quote(path.string()));
  if (got < 16 || std::memcmp(magic, k_sqlite_magic, sizeof magic) != 0)
    throw Error(Errc::StoreInvalid, quoted(path) + " is not a keysafe store",
                "it is not an SQLite database (a keysafe store begins with \"SQLite format 3\")",
                "check --store / KEYSAFE_STORE; keysafe init creates a new store");
}

// A store in a database: its tables are in the connection's search_path.
void require_store_in_database(Database& db) {
  auto q = db.prepare("SELECT to_regclass('store_header') IS NOT NULL, coalesce(current_schema(), '')");
  q.step();
  if (q.int64(0) != 0) return;
  throw Error(Errc::StoreMissing, "there is no keystore in the database " + db.path().string(),
              "the database (schema \"" + q.text(1) + "\") has no keysafe tables",
              "create one with: keysafe init --store " + shell_quote(db.path().string()) +
                  " (or point --store / KEYSAFE_STORE at the database and schema that hold the "
                  "store: ?options=-csearch_path%3DSCHEMA)");
}

// init on PostgreSQL: a UTF-8 database whose target schema (the first of search_path) exists,
// created here when missing, and holds nothing yet.
void prepare_empty_schema(Database& db) {
  const std::string where = db.path().string();
  {
    auto enc = db.prepare("SELECT current_setting('server_encoding')");
    enc.step();
    if (const std::string e = enc.text(0); e != "UTF8")
      throw Error(Errc::Unsupported, "the database " + where + " does not use UTF-8",
                  "its encoding is " + e + "; keysafe stores UTF-8 text",
                  "create the database with: createdb -E UTF8 -T template0 DATABASE");
  }
  auto schema = db.prepare("SELECT current_schema() IS NULL, current_setting('search_path')");
  schema.step();
  if (schema.int64(0) != 0) {
    // The first schema named in search_path that is not "$user".
    std::string name;
    std::string path = schema.text(1);
    std::size_t start = 0;
    while (start <= path.size()) {
      const auto comma = path.find(',', start);
      std::string item = path.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      item.erase(0, item.find_first_not_of(' '));
      item.erase(item.find_last_not_of(' ') + 1);
      if (item.size() >= 2 && item.front() == '"' && item.back() == '"') item = item.substr(1, item.size() - 2);
      if (!item.empty() && item != "$user") {
        name = item;
        break;
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (name.empty())
      throw Error(Errc::Usage, "the database connection names no schema to create the store in",
                  "its search_path is \"" + path + "\"",
                  "name one in the URI: ?options=-csearch_path%3Dkeysafe");
    auto create = db.prepare("SELECT format('CREATE SCHEMA IF NOT EXISTS %I', ?::text)");
    create.bind(1, std::string_view(name));
    create.step();
    db.exec(create.text(0));
  }
  auto q = db.prepare(
      "SELECT to_regclass('store_header') IS NOT NULL, current_schema(), count(c.oid) FROM "
      "pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
      "current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')");
  q.step();
  if (q.int64(0) != 0)
    throw Error(Errc::AlreadyExists, "a keystore already exists in the database " + where,
                "keysafe never creates a store over an existing one (it may hold your keys)",
                "use that store, or choose another database or schema with --store");
  if (q.int64(2) != 0)
    throw Error(Errc::AlreadyExists, "the database " + where + " is not empty",
                "its schema \"" + q.text(1) + "\" has " + std::to_string(q.int64(2)) +
                    " tables or views; keysafe creates its store only where nothing else is",
                "use an empty database (createdb DATABASE), or a schema of its own: "
                "?options=-csearch_path%3Dkeysafe");
}

StoreHeader read_header(Database& db) {
  auto q = db.prepare(
      "SELECT store_id, kdf, kdf_log2_n, kdf_r, kdf_p, kdf_salt, wrapped_data_key, checksum, "
      "created_at FROM store_header WHERE id = 1");
  if (!q.step())
    throw Error(Errc::StoreDamaged, "the keystore " + quoted(db.path()) + " is damaged",
                "its header row is missing", "restore the store from a backup");
  StoreHeader h;
  h.store_id = q.blob(0);
  h.kdf = q.text(1);
  h.kdf_params.log2_n = static_cast<std::uint32_t>(q.int64(2));
  h.kdf_params.r = static_cast<std::uint32_t>(q.int64(3));
  h.kdf_params.p = static_cast<std::uint32_t>(q.int64(4));
  h.kdf_salt = q.blob(5);
  h.wrapped_data_key = q.blob(6);
  h.checksum = q.blob(7);
  h.created_at = q.int64(8);
  if (h.kdf != "scrypt" || h.kdf_params.log2_n < k_min_log2_n || h.kdf_params.r == 0 ||
      h.kdf_params.p == 0 || h.store_id.size() != 16)
    throw Error(Errc::StoreNewer, "the keystore " + quoted(db.path()) + " uses an unknown KDF",
                "its header names " + h.kdf + " with parameters this keysafe does not accept",
                "use the keysafe version that created the store");
  // Bounded before the checksum or any derivation: the header's values are the file's choice.
  crypto::check_kdf_params(h.kdf_params, Errc::StoreDamaged, "the keystore " + quoted(db.path()),
                           "no keysafe writes such a header (it was altered); restore the store "
                           "from a backup: keysafe restore BACKUP-FILE");
  return h;
}

// A merge or lookup this large reads once what the store holds instead of asking per entry.
constexpr std::size_t k_bulk_merge = 64;

constexpr const char* k_key_columns =
    "k.id, k.name, k.algorithm, k.spki_der, k.spki_sha256, k.sealed_private_key IS NOT NULL, "
    "k.subject, k.dns, k.ip, k.current_certificate_id, k.created_at, k.last_backup_at";
constexpr int k_key_column_count = 12;

KeyRecord read_key(const Statement& q, int base = 0) {
  KeyRecord k;
  k.id = q.int64(base + 0);
  k.name = q.text(base + 1);
  k.algorithm = q.text(base + 2);
  k.spki_der = q.blob(base + 3);
  k.spki_sha256 = q.text(base + 4);
  k.has_private_key = q.int64(base + 5) != 0;
  k.subject = q.text(base + 6);
  k.dns = from_json_array(q.text(base + 7));
  k.ip = from_json_array(q.text(base + 8));
  k.current_certificate_id = q.optional_int64(base + 9);
  k.created_at = q.int64(base + 10);
  k.last_backup_at = q.optional_int64(base + 11);
  return k;
}

constexpr const char* k_cert_columns =
    "c.id, c.key_id, c.fingerprint_sha256, c.spki_sha256, c.subject, c.issuer, c.serial, "
    "c.not_before, c.not_after, c.dns, c.ip, c.is_ca, c.chain_trusted, c.chain_problem, "
    "c.installed_at";

CertificateRecord read_certificate(const Statement& q, int base = 0) {
  CertificateRecord c;
  c.id = q.int64(base + 0);
  c.key_id = q.int64(base + 1);
  c.fingerprint_sha256 = q.text(base + 2);
  c.spki_sha256 = q.text(base + 3);
  c.subject = q.text(base + 4);
  c.issuer = q.text(base + 5);
  c.serial = q.text(base + 6);
  c.not_before = q.int64(base + 7);
  c.not_after = q.int64(base + 8);
  c.dns = from_json_array(q.text(base + 9));
  c.ip = from_json_array(q.text(base + 10));
  c.is_ca = q.int64(base + 11) != 0;
  c.chain_trusted = q.int64(base + 12) != 0;
  c.chain_problem = q.text(base + 13);
  c.installed_at = q.int64(base + 14);
  return c;
}

std::string current_user() {
  std::string user;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr)
    user = pw->pw_name;
  else
    user = "uid " + std::to_string(::geteuid());
  // Who really ran it behind sudo.
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0')
    user += " (sudo by " + std::string(sudo) + ")";
  return user;
}

}  // namespace

Bytes audit_hash(const AuditRecord& r) {
  // SHA-256 over the previous hash and every field, each length-prefixed (docs/FORMAT.md).
  Bytes buf;
  const auto put = [&](std::span<const std::uint8_t> f) {
    for (int shift = 24; shift >= 0; shift -= 8)
      buf.push_back(static_cast<std::uint8_t>(f.size() >> shift));
    buf.insert(buf.end(), f.begin(), f.end());
  };
  const auto num = [&](std::int64_t v) {
    const std::string t = std::to_string(v);
    put(as_span(t));
  };
  put(as_span("keysafe-audit-v1"));
  put(r.prev_hash);
  num(r.id);
  num(r.at);
  put(as_span(r.user));
  put(as_span(r.action));
  put(as_span(r.entry));
  put(as_span(r.detail));
  return sha256(buf);
}

std::string audit_chain_problem(const std::vector<AuditRecord>& rows) {
  Bytes prev(32, 0);
  std::int64_t expected_id = 1;
  for (const auto& r : rows) {
    if (r.id != expected_id)
      return "row " + std::to_string(expected_id) + (r.id > expected_id ? " is missing (removed)"
                                                                        : " is out of order");
    if (r.prev_hash != prev)
      return "row " + std::to_string(r.id) + " does not follow row " + std::to_string(r.id - 1) +
             " (a row was removed or replaced)";
    if (audit_hash(r) != r.hash)
      return "row " + std::to_string(r.id) + " was edited (its hash does not match its fields)";
    prev = r.hash;
    ++expected_id;
  }
  return "";
}

Keystore::Keystore(Database db, StoreHeader header)
    : m_db(std::move(db)), m_header(std::move(header)) {
  m_db.set_row_mac_key(m_mac_key.get());
}

namespace {
// The new store file: its directory (0700) when missing, the file itself 0600, never over an
// existing file, never through a symlink.
void create_store_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (path.has_parent_path() && !std::filesystem::exists(path.parent_path(), ec)) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      throw Error(Errc::Io, "cannot create the directory " + quoted(path.parent_path()),
                  ec.message(), "create it yourself or choose another --store path");
    ::chmod(path.parent_path().c_str(), 0700);
  }
  // O_EXCL: never overwrite; O_NOFOLLOW: never through a symlink; mode 0600 whatever the umask.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw Error(Errc::AlreadyExists, "a file already exists at " + quoted(path),
                  "keysafe init never overwrites an existing file (it may hold your keys)",
                  "use that store, or choose another path with --store");
    throw Error(Errc::Io, "cannot create the keystore " + quoted(path), std::strerror(errno),
                "check that the directory exists and is writable");
  }
  ::fchmod(fd, 0600);
  ::close(fd);
}
}  // namespace

Database Keystore::create_empty(const std::filesystem::path& location) {
  if (is_database_uri(location.string())) {
    Database db(location);
    prepare_empty_schema(db);
    return db;
  }
  create_store_file(location);
  try {
    Database db(location);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA application_id = " + std::to_string(k_application_id));
    apply_connection_settings(db);
    return db;
  } catch (...) {
    remove_store_files(location);
    throw;
  }
}

void remove_store_files(const std::filesystem::path& path) {
  if (is_database_uri(path.string())) return;
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path.string() + "-wal", ec);
  std::filesystem::remove(path.string() + "-shm", ec);
}

void Keystore::create(const std::filesystem::path& path, std::span<const std::uint8_t> passphrase,
                      const KdfParams& params, std::int64_t now) {
  if (is_database_uri(path.string())) return create_in_database(path.string(), passphrase, params, now);
  create_store_file(path);
  std::error_code ec;
  try {
    // Derive before touching the schema so a KDF failure leaves nothing half-made.
    SecureBytes data_key;
    const StoreHeader h = make_header(passphrase, params, now, data_key);
    RowMacKey mac_key{row_mac_key(data_key, h.store_id)};
    Database db(path);
    db.set_row_mac_key(&mac_key);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA application_id = " + std::to_string(k_application_id));
    apply_connection_settings(db);
    migrate(db);
    write_new_header(db, h);
  } catch (...) {
    std::filesystem::remove(path, ec);
    std::filesystem::remove(path.string() + "-wal", ec);
    std::filesystem::remove(path.string() + "-shm", ec);
    throw;
  }
}

void Keystore::create_in_database(const std::string& uri,
                                  std::span<const std::uint8_t> passphrase,
                                  const KdfParams& params, std::int64_t now) {
  Database db{std::filesystem::path(uri)};
  prepare_empty_schema(db);
  SecureBytes data_key;
  const StoreHeader h = make_header(passphrase, params, now, data_key);
  RowMacKey mac_key{row_mac_key(data_key, h.store_id)};
  db.set_row_mac_key(&mac_key);
  Transaction tx(db);  // the schema and the header, or nothing
  migrate(db);
  write_new_header(db, h);
  tx.commit();
}

void Keystore::write_new_header(Database& db, const StoreHeader& h) {
    Transaction tx(db);
    auto q = db.prepare(
        "INSERT INTO store_header (id, store_id, kdf, kdf_log2_n, kdf_r, kdf_p, kdf_salt, "
        "wrapped_data_key, checksum, created_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.bind(1, h.store_id)
        .bind(2, h.kdf)
        .bind(3, std::int64_t{h.kdf_params.log2_n})
        .bind(4, std::int64_t{h.kdf_params.r})
        .bind(5, std::int64_t{h.kdf_params.p})
        .bind(6, h.kdf_salt)
        .bind(7, h.wrapped_data_key)
        .bind(8, h.checksum)
        .bind(9, h.created_at);
    q.run();
    // The empty audit log's head, MAC'd (the header carries the integrity marker).
    auto head = db.prepare("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, ?)");
    head.bind(1, std::span<const std::uint8_t>(Bytes(32, 0)));
    head.run();
    tx.commit();
}

bool Keystore::exists(const std::filesystem::path& location) {
  if (!is_database_uri(location.string())) {
    std::error_code ec;
    return std::filesystem::exists(std::filesystem::symlink_status(location, ec));
  }
  // The command opens the store next: the connection waits for it (park_connection).
  auto connection = open_postgresql(location.string());
  bool found = false;
  {
    auto q = connection->prepare("SELECT to_regclass('store_header') IS NOT NULL");
    q->step();
    found = q->int64(0) != 0;
  }
  park_connection(location.string(), std::move(connection));
  return found;
}

Keystore Keystore::open_for_listing(const std::filesystem::path& path) {
  if (is_database_uri(path.string())) {
    Database db(path);
    require_store_in_database(db);
    migrate(db);
    StoreHeader header = read_header(db);
    return Keystore(std::move(db), std::move(header));
  }
  precheck_file(path);
  Database db(path);
  try {
    auto app = db.prepare("PRAGMA application_id");
    app.step();
    const auto id = app.int64(0);
    if (id != k_application_id)
      throw Error(Errc::StoreInvalid, quoted(path) + " is not a keysafe store",
                  "it is an SQLite database of another application (application_id " +
                      std::to_string(id) + ")",
                  "check --store / KEYSAFE_STORE; keysafe init creates a new store");
  } catch (const Error& e) {
    // The magic said SQLite, so a file SQLite cannot read is damaged, not foreign.
    if (e.code() == Errc::StoreInvalid && e.cause().find("application_id") == std::string::npos)
      throw Error(Errc::StoreDamaged, "the keystore " + quoted(path) + " is damaged",
                  "it starts like an SQLite database but SQLite cannot read it (" + e.cause() + ")",
                  "restore the store from a backup: keysafe restore BACKUP-FILE");
    throw;
  }
  apply_connection_settings(db);
  migrate(db);
  StoreHeader header = read_header(db);
  return Keystore(std::move(db), std::move(header));
}

Keystore Keystore::open_for_host(const std::filesystem::path& path) {
  if (!is_database_uri(path.string())) return open_for_listing(path);
  Database db(path);
  require_store_in_database(db);
  migrate(db);
  return Keystore(std::move(db), StoreHeader{});
}

Keystore Keystore::open_damaged(const std::filesystem::path& path) {
  // The database server keeps its own pages consistent: a damaged row is found by the
  // ordinary checks.
  if (is_database_uri(path.string())) return open_for_listing(path);
  precheck_file(path);
  Database db(path);
  // SQLite refuses a file shorter than its header's page count outright unless the schema is
  // writable; then it reads what is there. query_only: nothing is written to a damaged store.
  db.exec("PRAGMA writable_schema = ON");
  db.exec("PRAGMA query_only = ON");
  StoreHeader header;
  try {
    header = read_header(db);
  } catch (const Error& e) {
    if (e.code() != Errc::StoreDamaged && e.code() != Errc::StoreInvalid) throw;
  }
  return Keystore(std::move(db), std::move(header));
}

Keystore Keystore::open(const std::filesystem::path& path) {
  Keystore store = open_for_listing(path);
  store.verify_header();
  return store;
}

// Checked when the header is used (unlocking) and by check, not on every open: listing reads
// no header field, and the SHA-256 would load OpenSSL's providers on the cold path.
void Keystore::verify_header() const {
  if (m_header_verified) return;
  if (header_checksum(m_header) != m_header.checksum)
    throw Error(Errc::StoreDamaged, "the keystore " + quoted(path()) + " has a damaged header",
                "the header checksum does not match its fields (this is not a passphrase "
                "problem: the checksum does not depend on the passphrase)",
                "restore the store from a backup: keysafe restore BACKUP-FILE");
  m_header_verified = true;
}

namespace {

Error tampered_error(const std::filesystem::path& path, const std::vector<Tampering>& found) {
  std::string rows;
  for (const auto& t : found) {
    if (!rows.empty()) rows += "; ";
    rows += t.table + " row " + t.row + ": " + t.what;
  }
  return Error(Errc::StoreTampered, "the keystore " + quoted(path) + " has been tampered with",
               rows + " (the MAC keyed from the data key does not verify: the file was changed by "
                      "something that does not hold the passphrase); nothing it holds was used",
               "restore the store from a backup (keysafe restore BACKUP-FILE into a new store) "
               "and find out who can write the file; keysafe check lists every tampered row");
}

}  // namespace

void Keystore::unlock(std::span<const std::uint8_t> passphrase, OnTampering on) {
  verify_header();
  SecureBytes kek = derive_kek(passphrase, m_header.kdf_salt, m_header.kdf_params);
  SecureBytes key;
  if (aead_open(kek, m_header.wrapped_data_key, integrity_data_key_aad(m_header.store_id), key)) {
    m_kek = std::move(kek);
    accept_data_key(std::move(key), true, on);
    return;
  }
  // Only the passphrase holder can wrap the data key, so one that opens without the integrity
  // marker was wrapped before keysafe added MACs (or is an old copy of the header put back).
  if (!aead_open(kek, m_header.wrapped_data_key, data_key_aad(m_header.store_id), key))
    throw Error(Errc::WrongPassphrase, "wrong passphrase for the keystore " + quoted(path()),
                "the store header is intact (its checksum verifies), but this passphrase does "
                "not open its data key",
                "enter the passphrase given to keysafe init; check --passphrase-file, "
                "--passphrase-fd or KEYSAFE_PASSPHRASE for a stray character");
  m_kek = std::move(kek);
  add_integrity(std::move(key));
}

void Keystore::accept_data_key(SecureBytes key, bool marked, OnTampering on) {
  m_mac_key->key = row_mac_key(key, m_header.store_id);
  m_data_key = std::move(key);
  m_marked = marked;
  if (!marked || on == OnTampering::Report) return;
  const auto found = tampering();
  if (!found.empty()) {
    forget_keys();
    throw tampered_error(path(), found);
  }
}

void Keystore::forget_keys() noexcept {
  m_data_key.clear();
  m_kek.clear();
  m_mac_key->key.clear();
  m_marked = false;
}

// The first unlock of a store from before schema v9: MAC every protected row as it is (the
// store had no keyed protection until now, so this is the best anyone can vouch for), then
// rewrap the data key under the integrity marker, all in one transaction.
void Keystore::add_integrity(SecureBytes key) {
  accept_data_key(std::move(key), false, OnTampering::Report);
  if (const auto problem = audit_chain_problem(audit_log()); !problem.empty()) {
    forget_keys();
    throw tampered_error(path(), {{"audit", problem.substr(4, problem.find(' ', 4) - 4),
                                   problem.substr(problem.find(' ', 4) + 1)}});
  }
  StoreHeader h = m_header;
  h.wrapped_data_key = aead_seal(m_kek, m_data_key, integrity_data_key_aad(h.store_id));
  h.checksum = header_checksum(h);
  try {
    Transaction tx(m_db);
    auto up = m_db.prepare("UPDATE store_header SET wrapped_data_key = ?, checksum = ? WHERE id = 1");
    up.bind(1, h.wrapped_data_key).bind(2, h.checksum);
    up.run();
    // A key slot's wrapping can be marked only with its key file's secret, which this command
    // does not have; an unmarked slot left behind would let a stripped store pass as an old one.
    auto slots = m_db.prepare("SELECT count(*) FROM key_slots");
    slots.step();
    const auto removed = static_cast<std::size_t>(slots.int64(0));
    m_db.exec("DELETE FROM key_slots");
    mac_every_row(m_db);
    m_marked = true;
    record("integrity-added", "",
           "integrity MACs added; " + std::to_string(removed) + " key file(s) removed");
    commit(tx);
    m_integrity_added = removed;
  } catch (...) {
    forget_keys();
    throw;
  }
  m_header = std::move(h);
}

std::vector<Tampering> Keystore::tampering() {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to verify its MACs");
  // A store from before the MACs, opened by an old key file: nothing is keyed yet.
  if (!m_marked) return {};
  // One snapshot for the rows, the log and its head: another process's commit between two of
  // these reads (a new audit row and the head that covers it) would look like tampering.
  ReadSnapshot snapshot(m_db);
  std::vector<Tampering> found = row_mac_mismatches(m_db);
  const auto rows = audit_log();
  if (const auto problem = audit_chain_problem(rows); !problem.empty())
    found.push_back({"audit", problem.substr(4, problem.find(' ', 4) - 4),
                     problem.substr(problem.find(' ', 4) + 1)});
  auto head = m_db.prepare("SELECT last_id, last_hash FROM audit_head WHERE id = 1");
  if (!head.step()) {
    found.push_back({"audit_head", "1", "is missing (the store has MACs, so it must exist)"});
    return found;
  }
  const std::int64_t last_id = head.int64(0);
  const Bytes last_hash = head.blob(1);
  const auto covered = std::find_if(rows.begin(), rows.end(),
                                    [&](const AuditRecord& r) { return r.id == last_id; });
  if (last_id != 0 && (covered == rows.end() || covered->hash != last_hash))
    found.push_back({"audit", std::to_string(last_id),
                     covered == rows.end()
                         ? "is missing: rows were removed from the end of the log, or the "
                           "chain was rebuilt (the MAC'd audit head covers up to this row)"
                         : "is not the row the MAC'd audit head covers: the chain was rebuilt"});
  return found;
}

namespace {

// The newest audit row's id and hash: what the next row chains to and what the MAC'd head
// covers. An empty log is id 0 with 32 zero bytes.
struct AuditLink {
  std::int64_t id = 0;
  Bytes hash = Bytes(32, 0);
};

AuditLink last_audit_link(Database& db) {
  auto last = db.prepare("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1");
  AuditLink link;
  if (last.step()) {
    link.id = last.int64(0);
    link.hash = last.blob(1);
  }
  return link;
}

}  // namespace

void Keystore::advance_audit_head() {
  const auto [id, hash] = last_audit_link(m_db);
  auto up = m_db.prepare(
      "INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, ?, ?) "
      "ON CONFLICT(id) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash");
  up.bind(1, id).bind(2, hash);
  up.run();
}

namespace {
// A key file holds 256 random bits, so a plain hash is a sufficient KDF (no stretching needed).
SecureBytes key_file_kek(std::span<const std::uint8_t> secret) {
  SecureBytes buf(as_span("keysafe-key-file-kek-v1").begin(),
                  as_span("keysafe-key-file-kek-v1").end());
  buf.insert(buf.end(), secret.begin(), secret.end());
  return sha256_secret(buf);  // the KEK never passes through a Bytes, which is not cleansed
}
std::string key_file_id(std::span<const std::uint8_t> secret) {
  Bytes buf(as_span("keysafe-key-file-id-v1").begin(), as_span("keysafe-key-file-id-v1").end());
  buf.insert(buf.end(), secret.begin(), secret.end());
  const std::string id = to_hex(sha256(buf));
  OPENSSL_cleanse(buf.data(), buf.size());
  return id;
}
}  // namespace

void Keystore::unlock_with_key_file(std::span<const std::uint8_t> secret, OnTampering on) {
  verify_header();
  auto q = m_db.prepare(
      "SELECT wrapped_data_key FROM key_slots WHERE kind = 'key-file' AND secret_id = ?");
  q.bind(1, key_file_id(secret));
  SecureBytes data_key;
  const bool found = q.step();
  const Bytes wrapped = found ? q.blob(0) : Bytes{};
  const SecureBytes kek = key_file_kek(secret);
  if (found && aead_open(kek, wrapped, integrity_data_key_aad(m_header.store_id), data_key))
    return accept_data_key(std::move(data_key), true, on);
  if (found && aead_open(kek, wrapped, data_key_aad(m_header.store_id), data_key)) {
    // A slot from before the MACs. Adding them needs the passphrase (the header's wrapping
    // must be marked), so until then the store is used as before, without keyed checks. Once
    // a store has MACs its unmarked slots are gone, so one here means the MACs were stripped.
    auto head = m_db.prepare("SELECT count(*) FROM audit_head");
    head.step();
    if (head.int64(0) != 0)
      throw tampered_error(path(), {{"key_slots", "of this key file",
                                     "it wraps the data key without the integrity marker in a "
                                     "store that has MACs (an old slot put back)"}});
    return accept_data_key(std::move(data_key), false, on);
  }
  throw Error(Errc::WrongPassphrase, "this key file does not open the keystore " + quoted(path()),
              "no key slot of the store was made from it (or it was removed)",
              "use the key file written by keysafe passwd --add-key-file for this store, or "
              "unlock with the passphrase");
}

void Keystore::add_key_file(std::span<const std::uint8_t> secret, std::int64_t now) {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to add a key file");
  const Bytes wrapped =
      aead_seal(key_file_kek(secret), m_data_key,
                m_marked ? integrity_data_key_aad(m_header.store_id) : data_key_aad(m_header.store_id));
  retrying([&] {
    Transaction tx(m_db);
    auto q = m_db.prepare(
        "INSERT INTO key_slots (kind, secret_id, wrapped_data_key, created_at) VALUES "
        "('key-file', ?, ?, ?)");
    q.bind(1, key_file_id(secret)).bind(2, wrapped).bind(3, now);
    q.run();
    commit(tx);
  });
}

std::int64_t Keystore::key_file_count() {
  auto q = m_db.prepare("SELECT count(*) FROM key_slots");
  q.step();
  return q.int64(0);
}

std::optional<KeyRecord> Keystore::key_by_name(std::string_view name) {
  auto q = m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k WHERE k.name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_key(q);
}

std::optional<KeyRecord> Keystore::key_by_id(std::int64_t id) {
  auto q = m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k WHERE k.id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_key(q);
}

std::optional<KeyRecord> Keystore::key_by_spki(std::string_view spki_sha256) {
  auto q =
      m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k WHERE k.spki_sha256 = ?");
  q.bind(1, spki_sha256);
  if (!q.step()) return std::nullopt;
  return read_key(q);
}

std::vector<KeyRecord> Keystore::all_keys() {
  auto q = m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k ORDER BY k.name");
  std::vector<KeyRecord> out;
  while (q.step()) out.push_back(read_key(q));
  return out;
}

std::vector<std::string> Keystore::key_names() {
  auto q = m_db.prepare("SELECT name FROM keys");
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.text(0));
  return out;
}

std::vector<std::optional<KeyRecord>> Keystore::keys_by_spki(
    const std::vector<std::string>& spki_sha256) {
  auto q =
      m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k WHERE k.spki_sha256 = ?");
  std::vector<std::optional<KeyRecord>> out;
  out.reserve(spki_sha256.size());
  const ReadSnapshot snapshot(m_db);  // an import looks up every certificate of a bundle
  if (spki_sha256.size() > k_bulk_merge) {
    // Many lookups: the keys read once (one query, not one round trip per certificate).
    auto all = m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k");
    std::unordered_map<std::string, KeyRecord> by_hash;
    while (all.step()) {
      KeyRecord k = read_key(all);
      by_hash.emplace(k.spki_sha256, std::move(k));
    }
    for (const auto& hash : spki_sha256) {
      const auto found = by_hash.find(hash);
      out.push_back(found != by_hash.end() ? std::optional<KeyRecord>(found->second) : std::nullopt);
    }
    return out;
  }
  for (const auto& hash : spki_sha256) {
    q.reset();
    q.bind(1, hash);
    out.push_back(q.step() ? std::optional<KeyRecord>(read_key(q)) : std::nullopt);
  }
  return out;
}

std::optional<CertificateRecord> Keystore::certificate_by_fingerprint(std::string_view fp) {
  auto q = m_db.prepare(std::string("SELECT ") + k_cert_columns +
                        " FROM certificates c WHERE c.fingerprint_sha256 = ?");
  q.bind(1, fp);
  if (!q.step()) return std::nullopt;
  return read_certificate(q);
}

std::optional<CertificateRecord> Keystore::certificate(std::int64_t id) {
  auto q =
      m_db.prepare(std::string("SELECT ") + k_cert_columns + " FROM certificates c WHERE c.id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_certificate(q);
}

std::vector<CertificateRecord> Keystore::certificates_of(std::int64_t key_id) {
  auto q = m_db.prepare(std::string("SELECT ") + k_cert_columns +
                        " FROM certificates c WHERE c.key_id = ? ORDER BY c.not_before, c.id");
  q.bind(1, key_id);
  std::vector<CertificateRecord> out;
  while (q.step()) out.push_back(read_certificate(q));
  return out;
}

std::vector<EntryRecord> Keystore::entries(std::optional<std::int64_t> expiring_by) {
  std::string sql = std::string("SELECT ") + k_key_columns + ", " + k_cert_columns +
                    ", (SELECT count(*) FROM certificates h WHERE h.key_id = k.id)";
  // Expiring: only current certificates can match, so start from the not_after index and reach
  // each key by its primary key (a current certificate belongs to its key), instead of
  // scanning every key; the few rows found are then sorted by name. CROSS JOIN fixes that loop
  // order: without statistics SQLite would rather walk all keys in name order to skip the sort.
  if (expiring_by)
    // (PostgreSQL has statistics and no CROSS JOIN ... ON: a plain join.)
    sql += std::string(" FROM certificates c ") +
           (m_db.backend() == Backend::Sqlite ? "CROSS JOIN" : "JOIN") + " keys k"
           " ON k.id = c.key_id AND k.current_certificate_id = c.id WHERE c.not_after <= ?";
  else
    sql += " FROM keys k LEFT JOIN certificates c ON c.id = k.current_certificate_id";
  sql += " ORDER BY k.name";
  const auto superseded = superseded_entries(m_db);
  auto q = m_db.prepare(sql);
  if (expiring_by) q.bind(1, *expiring_by);
  std::vector<EntryRecord> out;
  while (q.step()) {
    EntryRecord e;
    e.key = read_key(q);
    if (!q.is_null(k_key_column_count)) e.current = read_certificate(q, k_key_column_count);
    e.certificate_count = q.int64(k_key_column_count + 15);
    if (auto it = superseded.find(e.key.id); it != superseded.end()) e.superseded_by = it->second;
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<EntryRecord> Keystore::entry(std::string_view name) {
  auto key = key_by_name(name);
  if (!key) return std::nullopt;
  EntryRecord e;
  e.key = *key;
  if (key->current_certificate_id) e.current = certificate(*key->current_certificate_id);
  auto q = m_db.prepare("SELECT count(*) FROM certificates WHERE key_id = ?");
  q.bind(1, key->id);
  q.step();
  e.certificate_count = q.int64(0);
  if (auto by = replaced_by(m_db, key->id)) e.superseded_by = key_name_of(m_db, *by);
  return e;
}

std::optional<Bytes> Keystore::latest_request(std::int64_t key_id) {
  auto q = m_db.prepare(
      "SELECT der FROM requests WHERE key_id = ? ORDER BY created_at DESC, id DESC LIMIT 1");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  return q.blob(0);
}

Bytes Keystore::certificate_der(std::int64_t certificate_id) {
  auto q = m_db.prepare("SELECT der FROM certificates WHERE id = ?");
  q.bind(1, certificate_id);
  // A certificate id that names no row: a damaged store (found by tests/cli/corruption.sh).
  if (!q.step())
    throw Error(Errc::StoreDamaged, "the keystore " + quoted(m_db.path()) + " is damaged",
                "certificate row " + std::to_string(certificate_id) + " is referenced but missing",
                "restore the store from a backup; keysafe check shows what is still readable");
  return q.blob(0);
}

std::vector<Bytes> Keystore::chain_of(std::int64_t certificate_id) {
  auto q =
      m_db.prepare("SELECT der FROM chain_certificates WHERE certificate_id = ? ORDER BY position");
  q.bind(1, certificate_id);
  std::vector<Bytes> out;
  while (q.step()) out.push_back(q.blob(0));
  return out;
}

std::int64_t Keystore::add_key(const NewKey& key, std::span<const std::uint8_t> pkcs8) {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to add a key");
  const std::string spki_hash = to_hex(sha256(key.spki_der));
  std::int64_t id = 0;
  retrying([&] {
    Transaction tx(m_db);
    EntryWriter w(m_db);
    w.refuse_existing(key.name, spki_hash);
    id = w.key(key, spki_hash);
    // The row id is part of the associated data, so the key is sealed once the row exists.
    w.sealed_key(id, seal_private_key(id, spki_hash, pkcs8));
    if (!key.request_der.empty()) w.request(id, key.request_der, key.now);
    commit(tx);
  });
  return id;
}

std::int64_t Keystore::add_certificate(std::int64_t key_id, const NewCertificate& cert,
                                       bool make_current) {
  std::int64_t id = 0;
  retrying([&] {
    Transaction tx(m_db);
    EntryWriter w(m_db);
    id = w.certificate(key_id, cert);
    if (make_current) w.current_certificate(key_id, id);
    commit(tx);
  });
  return id;
}

namespace {

// What a large merge must not collide with: the store's names, public keys and certificate
// fingerprints (read once), plus those the merge has written so far, and the next free ids.
struct MergeIndex {
  std::unordered_set<std::string> names;
  std::unordered_set<std::string> spkis;
  std::unordered_set<std::string> fingerprints;
  std::int64_t next_key_id = 1;
  std::int64_t next_certificate_id = 1;

  static MergeIndex read(Database& db) {
    MergeIndex index;
    auto keys = db.prepare("SELECT name, spki_sha256 FROM keys");
    while (keys.step()) {
      index.names.insert(keys.text(0));
      index.spkis.insert(keys.text(1));
    }
    auto certificates = db.prepare("SELECT fingerprint_sha256 FROM certificates");
    while (certificates.step()) index.fingerprints.insert(certificates.text(0));
    auto ids = db.prepare(
        "SELECT (SELECT coalesce(max(id), 0) FROM keys), "
        "(SELECT coalesce(max(id), 0) FROM certificates)");
    ids.step();
    index.next_key_id = ids.int64(0) + 1;
    index.next_certificate_id = ids.int64(1) + 1;
    return index;
  }
  // An entry that shares nothing with the store or the merge so far, whose certificates all
  // belong to its key: written without reading anything back.
  bool is_new(const IncomingEntry& in, const std::string& spki_hash) const {
    if (names.contains(in.key.name) || spkis.contains(spki_hash)) return false;
    for (const auto& c : in.certificates)
      if (c.certificate.info.spki_sha256 != spki_hash ||
          fingerprints.contains(c.certificate.info.fingerprint_sha256))
        return false;
    return true;
  }
  void add(const IncomingEntry& in, const std::string& spki_hash, const std::string& name) {
    names.insert(name);
    spkis.insert(spki_hash);
    for (const auto& c : in.certificates) fingerprints.insert(c.certificate.info.fingerprint_sha256);
  }
};

}  // namespace

std::vector<MergeOutcome> Keystore::merge_entries(
    const std::vector<IncomingEntry>& entries,
    const std::function<void(std::size_t, std::size_t)>& progress) {
  std::vector<MergeOutcome> outcomes;
  retrying([&] {
    Transaction tx(m_db);
    outcomes.clear();  // a run again starts over
    outcomes.reserve(entries.size());
    // Prepared once for all entries: an import of a large bundle runs them tens of thousands of
    // times in this one transaction.
    auto by_spki =
        m_db.prepare(std::string("SELECT ") + k_key_columns + " FROM keys k WHERE k.spki_sha256 = ?");
    auto has_req = m_db.prepare("SELECT 1 FROM requests WHERE key_id = ? AND der = ?");
    auto has_cert = m_db.prepare("SELECT 1 FROM certificates WHERE fingerprint_sha256 = ?");
    auto cert_not_before = m_db.prepare("SELECT not_before FROM certificates WHERE id = ?");
    auto backup = m_db.prepare(
        "UPDATE keys SET last_backup_at = ? WHERE id = ? AND coalesce(last_backup_at, 0) < ?");
    EntryWriter w(m_db);
    const auto seal_row = [&](std::int64_t key_id, const std::string& spki_hash,
                              std::span<const std::uint8_t> pkcs8) {
      w.sealed_key(key_id, seal_private_key(key_id, spki_hash, pkcs8));
    };
    // The write lock is held: the ids after the largest ones stay free for this transaction.
    std::optional<MergeIndex> index;
    if (entries.size() >= k_bulk_merge) {
      index = MergeIndex::read(m_db);
      // A new key row names its current certificate before that row exists.
      m_db.defer_foreign_keys();
    }

    // A new entry with nothing to look up (MergeIndex::is_new): the rows the general path below
    // writes for it, with the ids the database would give, queued (Statement::queue).
    const auto add_new = [&](const IncomingEntry& in, const std::string& spki_hash) {
      MergeOutcome out;
      out.name = in.key.name;
      out.created = true;
      const std::int64_t key_id = index->next_key_id++;
      Bytes sealed;
      if (in.pkcs8) sealed = seal_private_key(key_id, spki_hash, *in.pkcs8);
      // The certificates' ids, and which one ends up current (as below: the first, then one
      // marked current that is at least as new), so the key row names it when inserted.
      std::unordered_set<std::string> added;
      std::vector<std::pair<const NewCertificate*, std::int64_t>> certificates;
      std::optional<std::pair<std::int64_t, std::int64_t>> current;
      for (const auto& c : in.certificates) {
        if (!added.insert(c.certificate.info.fingerprint_sha256).second) continue;
        const std::int64_t cert_id = index->next_certificate_id++;
        certificates.emplace_back(&c.certificate, cert_id);
        const std::int64_t not_before = c.certificate.info.not_before;
        if (!current || (c.current && current->second <= not_before))
          current = std::make_pair(cert_id, not_before);
      }
      w.key(in.key, spki_hash, key_id, sealed,
            current ? std::optional<std::int64_t>(current->first) : std::nullopt);
      std::vector<const Bytes*> requests;
      for (const auto& request : in.requests) {
        const Bytes& der = request.first;  // (not a structured binding: clang 14 lambdas)
        if (std::any_of(requests.begin(), requests.end(), [&](const Bytes* r) { return *r == der; }))
          continue;
        requests.push_back(&der);
        w.request(key_id, der, request.second);
        ++out.requests_added;
      }
      for (const auto& [certificate, cert_id] : certificates) {
        w.certificate(key_id, *certificate, cert_id);
        ++out.certificates_added;
      }
      if (in.last_backup_at) {
        backup.reset();
        backup.bind(1, *in.last_backup_at).bind(2, key_id).bind(3, *in.last_backup_at);
        backup.queue();
      }
      return out;
    };

    for (const auto& in : entries) {
      const std::string spki_hash = to_hex(sha256(in.key.spki_der));
      if (index && index->is_new(in, spki_hash)) {
        outcomes.push_back(add_new(in, spki_hash));
        index->add(in, spki_hash, in.key.name);
        if (progress) progress(outcomes.size(), entries.size());
        continue;
      }
      MergeOutcome out;
      by_spki.reset();
      by_spki.bind(1, spki_hash);
      std::optional<KeyRecord> existing;
      if (by_spki.step()) existing = read_key(by_spki);
      std::int64_t key_id = 0;
      // The key's current certificate (its id and notBefore), followed as certificates arrive.
      std::optional<std::pair<std::int64_t, std::int64_t>> current;
      if (existing) {
        key_id = existing->id;
        out.name = existing->name;
        if (existing->current_certificate_id) {
          cert_not_before.reset();
          cert_not_before.bind(1, *existing->current_certificate_id);
          if (cert_not_before.step())
            current = std::make_pair(*existing->current_certificate_id, cert_not_before.int64(0));
        }
        if (in.pkcs8 && !existing->has_private_key) {
          seal_row(key_id, spki_hash, *in.pkcs8);
          out.key_added = true;
        }
      } else {
        w.refuse_existing(in.key.name, spki_hash);
        key_id = w.key(in.key, spki_hash);
        out.name = in.key.name;
        out.created = true;
        if (in.pkcs8) seal_row(key_id, spki_hash, *in.pkcs8);
      }
      for (const auto& [der, created] : in.requests) {
        has_req.reset();
        has_req.bind(1, key_id).bind(2, der);
        if (has_req.step()) continue;
        w.request(key_id, der, created);
        ++out.requests_added;
      }
      for (const auto& c : in.certificates) {
        if (c.certificate.info.spki_sha256 != spki_hash)
          throw Error(Errc::KeyCertMismatch,
                      "a certificate for \"" + in.key.name + "\" does not belong to its key",
                      "its public key (SHA-256 " + c.certificate.info.spki_sha256 +
                          ") differs from the key's (" + spki_hash + ")");
        has_cert.reset();
        has_cert.bind(1, c.certificate.info.fingerprint_sha256);
        if (has_cert.step()) continue;
        const std::int64_t cert_id = w.certificate(key_id, c.certificate);
        if (index) index->next_certificate_id = std::max(index->next_certificate_id, cert_id + 1);
        ++out.certificates_added;
        // Becomes current when marked so and at least as new as what the store has.
        const std::int64_t not_before = c.certificate.info.not_before;
        if (!current || (c.current && current->second <= not_before)) {
          w.current_certificate(key_id, cert_id);
          current = std::make_pair(cert_id, not_before);
        }
      }
      if (in.last_backup_at) {
        backup.reset();
        backup.bind(1, *in.last_backup_at).bind(2, key_id).bind(3, *in.last_backup_at);
        backup.queue();
      }
      if (index) {
        index->next_key_id = std::max(index->next_key_id, key_id + 1);
        index->add(in, spki_hash, out.name);
      }
      outcomes.push_back(std::move(out));
      if (progress) progress(outcomes.size(), entries.size());
    }
    commit(tx);
  });
  return outcomes;
}

Bytes Keystore::seal_secret(std::string_view purpose, std::span<const std::uint8_t> secret) const {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to seal a secret");
  return aead_seal(m_data_key, secret, secret_aad(m_header.store_id, purpose));
}

SecureBytes Keystore::open_secret(std::string_view purpose,
                                  std::span<const std::uint8_t> sealed) const {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to open a secret");
  SecureBytes out;
  if (!aead_open(m_data_key, sealed, secret_aad(m_header.store_id, purpose), out))
    throw Error(Errc::StoreDamaged, "the store's " + std::string(purpose) + " is damaged",
                "its sealed copy fails authentication",
                "restore the store from a backup (keysafe restore)");
  return out;
}

Bytes Keystore::seal_private_key(std::int64_t key_id, std::string_view spki_sha256,
                                std::span<const std::uint8_t> pkcs8) const {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to seal a key");
  return aead_seal(m_data_key, pkcs8, private_key_aad(m_header.store_id, key_id, spki_sha256));
}

void Keystore::add_prepared_entries(std::size_t count,
                                    const std::function<void(ReservedIds)>& start,
                                    const std::function<PreparedEntry(std::size_t)>& next) {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to add keys");
  // Not run again on a conflict (retrying): `start` launches the workers that seal entries for
  // these ids and `next` hands each entry over once.
  Transaction tx(m_db);
  // The write lock is held from here, so the ids after the largest ones stay free.
  ReservedIds ids;
  {
    auto q = m_db.prepare(
        "SELECT (SELECT coalesce(max(id), 0) FROM keys), "
        "(SELECT coalesce(max(id), 0) FROM certificates)");
    q.step();
    ids.first_key_id = q.int64(0) + 1;
    ids.first_certificate_id = q.int64(1) + 1;
  }
  // The key row names its current certificate before that row exists (same transaction).
  m_db.defer_foreign_keys();
  EntryWriter w(m_db);
  auto ins_issued = m_db.prepare(
      "INSERT INTO issued_certificates (authority_key_id, serial, subject, fingerprint_sha256, "
      "key_name, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  start(ids);
  for (std::size_t n = 0; n < count; ++n) {
    const PreparedEntry e = next(n);
    const auto& k = e.key;
    const auto& c = e.certificate;
    const auto& i = c.info;
    w.key(k, i.spki_sha256, e.key_id, e.sealed_private_key, e.certificate_id);
    if (!k.request_der.empty()) w.request(e.key_id, k.request_der, k.now);
    w.certificate(e.key_id, c, e.certificate_id);
    if (e.authority_key_id) {
      ins_issued.reset();
      ins_issued.bind(1, *e.authority_key_id)
          .bind(2, i.serial_hex)
          .bind(3, i.subject)
          .bind(4, i.fingerprint_sha256)
          .bind(5, k.name)
          .bind(6, i.not_after)
          .bind(7, c.now);
      ins_issued.queue();
    }
  }
  commit(tx);
}

void Keystore::delete_entry(std::int64_t key_id) {
  retrying([&] {
    Transaction tx(m_db);
    auto clear = m_db.prepare("UPDATE keys SET current_certificate_id = NULL WHERE id = ?");
    clear.bind(1, key_id);
    clear.run();
    auto del = m_db.prepare("DELETE FROM keys WHERE id = ?");
    del.bind(1, key_id);
    del.run();
    commit(tx);
  });
  m_db.checkpoint();
}

void Keystore::rewrap(std::span<const std::uint8_t> new_passphrase, const KdfParams& params) {
  if (!unlocked())
    throw Error(Errc::Internal, "the store must be unlocked to change its passphrase");
  StoreHeader h = m_header;
  h.kdf_params = params;
  h.kdf_salt = random_bytes(16);
  SecureBytes kek = derive_kek(new_passphrase, h.kdf_salt, params);
  h.wrapped_data_key = aead_seal(
      kek, m_data_key, m_marked ? integrity_data_key_aad(h.store_id) : data_key_aad(h.store_id));
  h.checksum = header_checksum(h);
  Transaction tx(m_db);
  auto q = m_db.prepare(
      "UPDATE store_header SET kdf_log2_n = ?, kdf_r = ?, kdf_p = ?, kdf_salt = ?, "
      "wrapped_data_key = ?, checksum = ? WHERE id = 1");
  q.bind(1, std::int64_t{params.log2_n})
      .bind(2, std::int64_t{params.r})
      .bind(3, std::int64_t{params.p})
      .bind(4, h.kdf_salt)
      .bind(5, h.wrapped_data_key)
      .bind(6, h.checksum);
  q.run();
  commit(tx);
  m_header = std::move(h);
  if (!m_kek.empty()) m_kek = std::move(kek);
  m_db.checkpoint();
}

std::size_t Keystore::rotate_data_key() {
  if (!unlocked() || m_kek.empty() || !m_marked)
    throw Error(Errc::Usage, "rotating the data key needs the store passphrase",
                "the new data key is wrapped under the passphrase, which a key file does not give",
                "run it without --key-file / KEYSAFE_KEY_FILE, with the passphrase");
  SecureBytes old_key = m_data_key;
  SecureBytes old_mac_key = m_mac_key->key;
  SecureBytes new_key = random_secret(k_key_size);
  StoreHeader h = m_header;
  h.wrapped_data_key = aead_seal(m_kek, new_key, integrity_data_key_aad(h.store_id));
  h.checksum = header_checksum(h);
  std::size_t removed = 0;
  try {
    Transaction tx(m_db);
    {
      auto sealed = m_db.prepare(
          "SELECT id, name, spki_sha256, sealed_private_key FROM keys "
          "WHERE sealed_private_key IS NOT NULL ORDER BY id");
      auto reseal = m_db.prepare("UPDATE keys SET sealed_private_key = ? WHERE id = ?");
      while (sealed.step()) {
        const std::int64_t id = sealed.int64(0);
        const std::string spki = sealed.text(2);
        const Bytes aad = private_key_aad(h.store_id, id, spki);
        SecureBytes pkcs8;
        if (!aead_open(old_key, sealed.blob(3), aad, pkcs8))
          throw Error(Errc::StoreDamaged,
                      "the stored private key of \"" + sealed.text(1) + "\" is damaged",
                      "its row fails authentication, so it cannot be re-sealed; nothing changed",
                      "restore this key from a backup, or delete the entry, then rotate again");
        reseal.reset();
        reseal.bind(1, aead_seal(new_key, pkcs8, aad)).bind(2, id);
        reseal.run();
      }
    }
    {
      // The fleet signing key: sealed under the data key like a private key.
      auto signing = m_db.prepare("SELECT sealed_private_key FROM fleet_signing_key WHERE id = 1");
      if (signing.step()) {
        const Bytes aad = secret_aad(h.store_id, k_fleet_signing_purpose);
        SecureBytes pkcs8;
        if (!aead_open(old_key, signing.blob(0), aad, pkcs8))
          throw Error(Errc::StoreDamaged, "the store's fleet signing key is damaged",
                      "its row fails authentication, so it cannot be re-sealed; nothing changed",
                      "restore the store from a backup, then rotate again");
        auto up = m_db.prepare("UPDATE fleet_signing_key SET sealed_private_key = ? WHERE id = 1");
        up.bind(1, aead_seal(new_key, pkcs8, aad));
        up.run();
      }
    }
    {
      // ACME account keys: sealed under the data key for their account's name.
      auto accounts = m_db.prepare("SELECT id, name, sealed_private_key FROM acme_accounts");
      auto up = m_db.prepare("UPDATE acme_accounts SET sealed_private_key = ? WHERE id = ?");
      while (accounts.step()) {
        const Bytes aad = secret_aad(h.store_id, acme_account_purpose(accounts.text(1)));
        SecureBytes pkcs8;
        if (!aead_open(old_key, accounts.blob(2), aad, pkcs8))
          throw Error(Errc::StoreDamaged,
                      "the key of the ACME account \"" + accounts.text(1) + "\" is damaged",
                      "its row fails authentication, so it cannot be re-sealed; nothing changed",
                      "restore the store from a backup, then rotate again");
        up.reset();
        up.bind(1, aead_seal(new_key, pkcs8, aad)).bind(2, accounts.int64(0));
        up.run();
      }
    }
    auto slots = m_db.prepare("SELECT count(*) FROM key_slots");
    slots.step();
    removed = static_cast<std::size_t>(slots.int64(0));
    m_db.exec("DELETE FROM key_slots");
    auto up = m_db.prepare("UPDATE store_header SET wrapped_data_key = ?, checksum = ? WHERE id = 1");
    up.bind(1, h.wrapped_data_key).bind(2, h.checksum);
    up.run();
    m_data_key = new_key;
    m_mac_key->key = row_mac_key(new_key, h.store_id);
    mac_every_row(m_db);
    record("data-key-rotated", "",
           "new data key; every sealed key re-sealed; " + std::to_string(removed) +
               " key file(s) removed");
    commit(tx);
  } catch (...) {
    m_data_key = std::move(old_key);
    m_mac_key->key = std::move(old_mac_key);
    throw;
  }
  m_header = std::move(h);
  // secure_delete overwrote the old ciphertexts in the file; no copy stays in the WAL either.
  m_db.checkpoint();
  return removed;
}

void Keystore::record(std::string action, std::string entry, std::string detail) {
  m_pending_audit.push_back({std::move(action), std::move(entry), std::move(detail)});
}

void Keystore::commit(Transaction& tx) {
  if (!m_pending_audit.empty()) {
    auto [id, prev] = last_audit_link(m_db);
    auto ins = m_db.prepare(
        "INSERT INTO audit (id, at, \"user\", action, entry, detail, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    const std::string user = current_user();  // one passwd lookup, however many rows
    for (auto& a : m_pending_audit) {
      AuditRecord r;
      r.id = ++id;
      r.at = m_audit_clock ? m_audit_clock() : static_cast<std::int64_t>(std::time(nullptr));
      r.user = user;
      r.action = a.action;
      r.entry = a.entry;
      r.detail = a.detail;
      r.prev_hash = prev;
      r.hash = audit_hash(r);
      ins.reset();
      ins.bind(1, r.id)
          .bind(2, r.at)
          .bind(3, r.user)
          .bind(4, r.action)
          .bind(5, r.entry)
          .bind(6, r.detail)
          .bind(7, r.prev_hash)
          .bind(8, r.hash);
      ins.queue();
      prev = r.hash;
    }
  }
  // Rows appended while the store was locked are covered from the next unlocked write on.
  if (m_marked && unlocked()) advance_audit_head();
  tx.commit();
  m_pending_audit.clear();
}

void Keystore::replace_chain(std::int64_t certificate_id, const std::vector<Bytes>& chain,
                             bool trusted, const std::string& problem) {
  write([&](Database& db) {
    auto verdict =
        db.prepare("UPDATE certificates SET chain_trusted = ?, chain_problem = ? WHERE id = ?");
    verdict.bind(1, std::int64_t{trusted ? 1 : 0});
    if (problem.empty()) verdict.bind_null(2);
    else verdict.bind(2, std::string_view(problem));
    verdict.bind(3, certificate_id);
    verdict.run();
    auto drop = db.prepare("DELETE FROM chain_certificates WHERE certificate_id = ?");
    drop.bind(1, certificate_id);
    drop.run();
    auto add = db.prepare(
        "INSERT INTO chain_certificates (certificate_id, position, der) VALUES (?, ?, ?)");
    for (std::size_t i = 0; i < chain.size(); ++i) {
      add.reset();
      add.bind(1, certificate_id)
          .bind(2, static_cast<std::int64_t>(i))
          .bind(3, std::span<const std::uint8_t>(chain[i]));
      add.run();
    }
  });
}

void Keystore::write(const std::function<void(Database&)>& body) {
  retrying([&] {
    Transaction tx(m_db);
    body(m_db);
    commit(tx);
  });
}

void Keystore::retrying(const std::function<void()>& attempt) {
  // Audit rows queued before the transaction are written by whichever run commits; rows a
  // failed run queued (record() inside a write body) are dropped, so a run again adds its own
  // once.
  const std::size_t queued = m_pending_audit.size();
  retry_on_conflict(m_db, [&] {
    if (m_pending_audit.size() > queued)
      m_pending_audit.erase(m_pending_audit.begin() + static_cast<std::ptrdiff_t>(queued),
                            m_pending_audit.end());
    attempt();
  });
}

void Keystore::flush_audit() {
  if (m_pending_audit.empty()) return;
  retrying([&] {
    Transaction tx(m_db);
    commit(tx);
  });
}

std::vector<AuditRecord> Keystore::audit_log() {
  std::vector<AuditRecord> out;
  auto q = m_db.prepare(
      "SELECT id, at, \"user\", action, entry, detail, prev_hash, hash FROM audit ORDER BY id");
  while (q.step()) {
    AuditRecord r;
    r.id = q.int64(0);
    r.at = q.int64(1);
    r.user = q.text(2);
    r.action = q.text(3);
    r.entry = q.text(4);
    r.detail = q.text(5);
    r.prev_hash = q.blob(6);
    r.hash = q.blob(7);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> Keystore::integrity_problems() { return m_db.integrity_problems(); }

std::vector<ChecksumMismatch> Keystore::checksum_mismatches() {
  return row_checksum_mismatches(m_db);
}

std::optional<Bytes> Keystore::setting(std::string_view key) {
  auto q = m_db.prepare("SELECT value FROM settings WHERE key = ?");
  q.bind(1, key);
  if (!q.step()) return std::nullopt;
  return q.blob(0);
}

std::vector<std::pair<std::string, Bytes>> Keystore::settings() {
  auto q = m_db.prepare("SELECT key, value FROM settings ORDER BY key");
  std::vector<std::pair<std::string, Bytes>> out;
  while (q.step()) out.emplace_back(q.text(0), q.blob(1));
  return out;
}

void Keystore::set_setting(std::string_view key, std::span<const std::uint8_t> value) {
  retrying([&] {
    Transaction tx(m_db);
    auto q = m_db.prepare(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    q.bind(1, key).bind(2, value);
    q.run();
    commit(tx);
  });
}

void Keystore::unset_setting(std::string_view key) {
  retrying([&] {
    Transaction tx(m_db);
    auto q = m_db.prepare("DELETE FROM settings WHERE key = ?");
    q.bind(1, key);
    q.run();
    commit(tx);
  });
}

void Keystore::mark_backed_up(const std::vector<std::int64_t>& key_ids, std::int64_t when) {
  retrying([&] {
    Transaction tx(m_db);
    auto q = m_db.prepare("UPDATE keys SET last_backup_at = ? WHERE id = ?");
    for (auto id : key_ids) {
      q.reset();
      q.bind(1, when).bind(2, id);
      q.run();
    }
    commit(tx);
  });
}

namespace {
std::atomic<std::uint64_t> g_private_keys_opened{0};
}  // namespace

std::uint64_t private_keys_opened() noexcept { return g_private_keys_opened.load(); }

SecureBytes Keystore::open_private_key(const KeyRecord& key) {
  if (!unlocked()) throw Error(Errc::Internal, "the store must be unlocked to open a key");
  auto q = m_db.prepare("SELECT sealed_private_key FROM keys WHERE id = ?");
  q.bind(1, key.id);
  if (!q.step() || q.is_null(0))
    throw Error(Errc::NotFound, "the entry \"" + key.name + "\" has no private key",
                "it holds a certificate only", "import its key with: keysafe import KEY-FILE");
  const Bytes sealed = q.blob(0);
  SecureBytes pkcs8;
  if (!aead_open(m_data_key, sealed, private_key_aad(m_header.store_id, key.id, key.spki_sha256),
                 pkcs8))
    throw Error(Errc::StoreDamaged, "the stored private key of \"" + key.name + "\" is damaged",
                "its row fails authentication while the data key opens: the ciphertext was "
                "altered, damaged, or moved from another row",
                "restore this key from a backup: keysafe restore BACKUP-FILE");
  ++g_private_keys_opened;
  return pkcs8;
}

}  // namespace keysafe::store
