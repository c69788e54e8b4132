// The keystore: one SQLite file holding sealed keys, requests, certificates and chains.
// Reads need no passphrase; sealing and opening private keys need `unlock`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/header.hpp"
#include "keysafe/store/integrity.hpp"
#include "keysafe/store/row_checksum.hpp"
#include "keysafe/store/database.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::store {

struct KeyRecord {
  std::int64_t id = 0;
  std::string name;
  std::string algorithm;
  Bytes spki_der;
  std::string spki_sha256;
  bool has_private_key = false;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::optional<std::int64_t> current_certificate_id;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> last_backup_at;
};

// What listings show of a certificate: columns only, never the decoded DER.
struct CertificateRecord {
  std::int64_t id = 0;
  std::int64_t key_id = 0;
  std::string fingerprint_sha256;
  std::string spki_sha256;
  std::string subject;
  std::string issuer;
  std::string serial;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  bool is_ca = false;
  bool chain_trusted = false;
  std::string chain_problem;
  std::int64_t installed_at = 0;
};

struct EntryRecord {
  KeyRecord key;
  std::optional<CertificateRecord> current;
  std::int64_t certificate_count = 0;
  // Set when a renewal with a new key has replaced this entry (its renewal's certificate is
  // installed): the name of the entry that replaced it. Derived from keys.renews_key_id.
  std::optional<std::string> superseded_by;
};

struct NewKey {
  std::string name;
  std::string algorithm;
  Bytes spki_der;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  Bytes request_der;
  std::int64_t now = 0;
};

struct NewCertificate {
  Bytes der;
  x509::CertificateInfo info;
  std::vector<Bytes> chain;  // DER, the leaf's issuer first
  bool chain_trusted = false;
  std::string chain_problem;
  std::int64_t now = 0;
};

// One entry brought in from outside (restore, import), merged by public key.
struct IncomingCertificate {
  NewCertificate certificate;
  bool current = false;
};
struct IncomingEntry {
  NewKey key;                              // name, algorithm, spki, subject, names, now
  std::optional<SecureBytes> pkcs8;        // the private key, when the entry has one
  std::vector<std::pair<Bytes, std::int64_t>> requests;  // DER and creation time
  std::vector<IncomingCertificate> certificates;
  std::optional<std::int64_t> last_backup_at;
};
// A new entry built outside the store (bulk issuance): its rows are complete, the private key
// already sealed for `key_id` (see Keystore::seal_private_key), the certificate current.
struct PreparedEntry {
  std::int64_t key_id = 0;          // reserved by add_prepared_entries
  std::int64_t certificate_id = 0;  // likewise
  NewKey key;                       // name, algorithm, spki, subject, names, request, now
  Bytes sealed_private_key;
  NewCertificate certificate;
  // When issued by a local CA with an `authorities` row: that CA's key id (issued_certificates).
  std::optional<std::int64_t> authority_key_id;
};
struct ReservedIds {
  std::int64_t first_key_id = 0;
  std::int64_t first_certificate_id = 0;
};

struct MergeOutcome {
  std::string name;
  bool created = false;         // a new entry
  bool key_added = false;       // a private key joined an entry that had none
  std::size_t certificates_added = 0;
  std::size_t requests_added = 0;
};

// One row of the append-only audit log; each row's hash covers the previous row's hash.
struct AuditRecord {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string user;
  std::string action;  // created, imported, exported, backed-up, restored, deleted, installed, ...
  std::string entry;
  std::string detail;
  Bytes prev_hash;
  Bytes hash;
};
Bytes audit_hash(const AuditRecord& record);
// The first broken link of the hash chain (a row edited, removed or out of order), or "" when
// every row follows the previous one. Unkeyed: anyone can rebuild a consistent chain, which
// the MAC'd audit head catches (Keystore::tampering).
std::string audit_chain_problem(const std::vector<AuditRecord>& rows);

// What unlocking does when a protected row fails its MAC: throw Errc::StoreTampered before
// anything is used (every command), or unlock anyway so the caller can report every finding
// (check, audit --verify), using nothing the store holds.
enum class OnTampering { Throw, Report };

// How many sealed private keys this process has opened (shown by KEYSAFE_STATS=1).
std::uint64_t private_keys_opened() noexcept;

// Removes a store file and its -wal/-shm files (a half-made store); nothing for a database.
void remove_store_files(const std::filesystem::path& path);

class Keystore final {
 public:
  // Creates a new store file (0600, never over an existing file) and its parent directory, or,
  // for a postgresql:// URI, the store's schema in an empty database.
  static void create(const std::filesystem::path& path, std::span<const std::uint8_t> passphrase,
                     const crypto::KdfParams& params, std::int64_t now);
  // A new, empty target for a store copy: the file created (0600, never over one) or the
  // database checked empty, ready for migrate and rows; no header.
  static Database create_empty(const std::filesystem::path& location);
  // Whether a store is there: a file (or anything else) at the path; for a database URI, the
  // store's tables in the database (connection failures are thrown).
  static bool exists(const std::filesystem::path& location);
  // Opens and validates an existing store, header checksum included; diagnoses what else the
  // file is.
  static Keystore open(const std::filesystem::path& path);
  // The same without the header checksum, for commands that only read entries (list, show):
  // they use no header field, and the SHA-256 would load OpenSSL's providers on their cold
  // path. Unlocking still verifies it, and check reports it.
  static Keystore open_for_listing(const std::filesystem::path& path);
  // For a fleet agent: on PostgreSQL no header is read (a host role may not read the wrapped
  // data key, which would allow an offline passphrase search), so the store cannot be
  // unlocked; on SQLite as open_for_listing.
  static Keystore open_for_host(const std::filesystem::path& path);
  // For check and salvage on a damaged store: no migration and no write; the header when its
  // row still reads (header_readable()), else an empty one that nothing can unlock.
  static Keystore open_damaged(const std::filesystem::path& path);
  bool header_readable() const noexcept { return !m_header.wrapped_data_key.empty(); }

  const std::filesystem::path& path() const noexcept { return m_db.path(); }
  const StoreHeader& header() const noexcept { return m_header; }

  // Derives the key-encryption key once and opens the data key. Throws WrongPassphrase.
  // Then verifies every integrity MAC (settings, deployments, key slots, CA state, the audit
  // head) and throws Errc::StoreTampered naming the rows that fail, unless told to report.
  // A store from before the MACs (schema v9) gets them here, in one transaction; its key
  // files, whose wrapping cannot be marked without their secret, are removed then
  // (integrity_added() says how many).
  void unlock(std::span<const std::uint8_t> passphrase, OnTampering on = OnTampering::Throw);
  // Throws Errc::StoreDamaged when the header's checksum does not match its fields (unlocking
  // checks it first, so a damaged header is never reported as a wrong passphrase). The header
  // is read once per open, so it is hashed once however often this is called.
  void verify_header() const;
  bool unlocked() const noexcept { return !m_data_key.empty(); }
  // Unlocks with a key file's 32-byte secret (a key slot added by add_key_file).
  void unlock_with_key_file(std::span<const std::uint8_t> secret,
                            OnTampering on = OnTampering::Throw);
  // The unlocked data key carries the integrity marker: tampering() checks the MACs.
  bool has_integrity() const noexcept { return m_marked; }
  // Every protected row whose MAC fails, and audit-head problems. Needs unlock.
  std::vector<Tampering> tampering();
  // Set when this unlock added the integrity MACs to an older store: how many key files were
  // removed (they must be added again: keysafe passwd --add-key-file FILE).
  std::optional<std::size_t> integrity_added() const noexcept { return m_integrity_added; }
  // A new random data key: every sealed private key re-sealed, every MAC recomputed, the
  // header rewrapped under the same passphrase, in one transaction. Key slots wrap the old
  // data key and cannot be rewrapped without their secrets: they are removed, and the count
  // returned. Needs an unlock with the passphrase (not a key file).
  std::size_t rotate_data_key();
  // Adds a key slot: the data key wrapped under a key derived from `secret`. Needs unlock.
  void add_key_file(std::span<const std::uint8_t> secret, std::int64_t now);
  std::int64_t key_file_count();

  std::optional<KeyRecord> key_by_name(std::string_view name);
  std::optional<KeyRecord> key_by_id(std::int64_t id);
  std::optional<KeyRecord> key_by_spki(std::string_view spki_sha256);
  std::vector<KeyRecord> all_keys();
  // Every entry name (for naming a large import without one query per entry).
  std::vector<std::string> key_names();
  // key_by_spki for many hashes with one prepared statement; results in the same order.
  std::vector<std::optional<KeyRecord>> keys_by_spki(const std::vector<std::string>& spki_sha256);
  std::optional<CertificateRecord> certificate_by_fingerprint(std::string_view fingerprint);
  std::optional<CertificateRecord> certificate(std::int64_t id);
  std::vector<CertificateRecord> certificates_of(std::int64_t key_id);
  // Entries in name order; with `expiring_by`, only those whose current certificate's
  // notAfter is at or before it.
  std::vector<EntryRecord> entries(std::optional<std::int64_t> expiring_by = std::nullopt);
  std::optional<EntryRecord> entry(std::string_view name);
  std::optional<Bytes> latest_request(std::int64_t key_id);
  std::vector<Bytes> chain_of(std::int64_t certificate_id);
  Bytes certificate_der(std::int64_t certificate_id);

  // One transaction: the key row, its sealed private key and its request. Needs unlock.
  std::int64_t add_key(const NewKey& key, std::span<const std::uint8_t> pkcs8_private_key);
  // One transaction: the certificate, its chain, and (if `make_current`) the key's pointer.
  std::int64_t add_certificate(std::int64_t key_id, const NewCertificate& cert, bool make_current);

  // One transaction for all entries: an entry whose public key is stored already gains what
  // it lacks (never duplicated); any other entry is created under its name. Needs unlock
  // when any entry carries a private key.
  // `progress` (optional) is told (merged, total) as entries are written.
  std::vector<MergeOutcome> merge_entries(
      const std::vector<IncomingEntry>& entries,
      const std::function<void(std::size_t, std::size_t)>& progress = {});

  // Many new entries in one transaction with statements prepared once: reserves `count` key
  // and certificate ids (passed to `start`, so that keys can be sealed elsewhere meanwhile),
  // then inserts next(0) ... next(count - 1) in order, with the queued audit rows. Names and
  // public keys must be new (a clash rolls everything back). Needs unlock.
  void add_prepared_entries(std::size_t count, const std::function<void(ReservedIds)>& start,
                            const std::function<PreparedEntry(std::size_t)>& next);
  // Seals a PKCS#8 private key for the row `key_id` with public-key hash `spki_sha256` (the
  // associated data binds it there). Reads only the data key: safe from several threads.
  Bytes seal_private_key(std::int64_t key_id, std::string_view spki_sha256,
                         std::span<const std::uint8_t> pkcs8) const;

  // Another secret of the store (the fleet signing key), sealed under the data key for
  // `purpose`. Needs unlock; open throws StoreDamaged when the seal does not open.
  Bytes seal_secret(std::string_view purpose, std::span<const std::uint8_t> secret) const;
  SecureBytes open_secret(std::string_view purpose, std::span<const std::uint8_t> sealed) const;

  // Replaces the chain stored with a certificate and its verdict (installing it again with new
  // chain material or trust anchors), with the queued audit rows, in one transaction.
  void replace_chain(std::int64_t certificate_id, const std::vector<Bytes>& chain, bool trusted,
                     const std::string& problem);

  // Removes the entry with its requests, certificates and chains (secure_delete overwrites
  // the freed pages), then checkpoints the WAL so no copy is left there either.
  void delete_entry(std::int64_t key_id);

  // Wraps the same data key under a new passphrase and KDF parameters (one transaction).
  // Needs unlock.
  void rewrap(std::span<const std::uint8_t> new_passphrase, const crypto::KdfParams& params);

  // Queues an audit row; it is written inside the next write transaction (or flush_audit).
  void record(std::string action, std::string entry, std::string detail = {});
  void flush_audit();
  std::vector<AuditRecord> audit_log();
  void set_audit_clock(std::function<std::int64_t()> clock) { m_audit_clock = std::move(clock); }

  // PRAGMA integrity_check's findings; empty when the file is sound.
  std::vector<std::string> integrity_problems();
  // Rows of keys, certificates and chains whose row checksum fails (store/row_checksum.hpp).
  std::vector<ChecksumMismatch> checksum_mismatches();

  // Store-wide settings (table `settings`).
  std::optional<Bytes> setting(std::string_view key);
  // Every setting, by key (a complete backup carries them all).
  std::vector<std::pair<std::string, Bytes>> settings();
  void set_setting(std::string_view key, std::span<const std::uint8_t> value);
  void unset_setting(std::string_view key);

  // Records a verified backup of these keys at `when` (one transaction).
  void mark_backed_up(const std::vector<std::int64_t>& key_ids, std::int64_t when);

  // For the store's sibling modules (authorities, deployments): reads on the same connection,
  // and one write transaction that also writes the queued audit rows. Rolled back if `body`
  // throws.
  Database& database() noexcept { return m_db; }
  void write(const std::function<void(Database&)>& body);

  // The PKCS#8 private key of an entry. Needs unlock; throws StoreDamaged naming a tampered row.
  SecureBytes open_private_key(const KeyRecord& key);

 private:
  explicit Keystore(Database db, StoreHeader header);
  // init on PostgreSQL: the schema and the header in one transaction, in an empty database
  // (or schema named by the URI's search_path, created when missing).
  static void create_in_database(const std::string& uri, std::span<const std::uint8_t> passphrase,
                                 const crypto::KdfParams& params, std::int64_t now);
  static void write_new_header(Database& db, const StoreHeader& h);

  void commit(Transaction& tx);
  // Runs `attempt` (a whole write transaction) through retry_on_conflict, dropping the audit
  // rows a failed run queued.
  void retrying(const std::function<void()>& attempt);
  // Takes the data key (and its MAC subkey); with `marked`, the store has integrity MACs.
  void accept_data_key(SecureBytes key, bool marked, OnTampering on);
  void add_integrity(SecureBytes key);
  void forget_keys() noexcept;
  // The audit head, moved to the last row (inside the write transaction).
  void advance_audit_head();

  struct PendingAudit {
    std::string action;
    std::string entry;
    std::string detail;
  };
  std::vector<PendingAudit> m_pending_audit;
  std::function<std::int64_t()> m_audit_clock;
  Database m_db;
  StoreHeader m_header;
  mutable bool m_header_verified = false;
  SecureBytes m_data_key;
  // The key-encryption key of a passphrase unlock: rewraps the header when the MACs are
  // added or the data key is rotated, without a second scrypt.
  SecureBytes m_kek;
  // On the heap, so the SQL function registered on m_db keeps its address across moves.
  std::unique_ptr<RowMacKey> m_mac_key = std::make_unique<RowMacKey>();
  bool m_marked = false;  // the data key opened under the integrity marker
  std::optional<std::size_t> m_integrity_added;
};

}  // namespace keysafe::store
