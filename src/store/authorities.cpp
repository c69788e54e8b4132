// SQL of local CAs, issued certificates and pending renewals (schema v5 and v7).
#include "keysafe/store/authorities.hpp"

namespace keysafe::store {
namespace {

constexpr const char* k_authority_select =
    "SELECT a.key_id, k.name, a.parent_key_id, coalesce(p.name, ''), a.crl_number, a.created_at "
    "FROM authorities a JOIN keys k ON k.id = a.key_id LEFT JOIN keys p ON p.id = a.parent_key_id";

AuthorityRecord read_authority(const Statement& q) {
  AuthorityRecord r;
  r.key_id = q.int64(0);
  r.name = q.text(1);
  r.parent_key_id = q.optional_int64(2);
  r.parent_name = q.text(3);
  r.crl_number = q.int64(4);
  r.created_at = q.int64(5);
  return r;
}

constexpr const char* k_issued_select =
    "SELECT authority_key_id, serial, subject, fingerprint_sha256, key_name, not_after, "
    "issued_at, revoked_at, coalesce(revocation_reason, '') FROM issued_certificates";

IssuedRecord read_issued(const Statement& q) {
  IssuedRecord r;
  r.authority_key_id = q.int64(0);
  r.serial = q.text(1);
  r.subject = q.text(2);
  r.fingerprint_sha256 = q.text(3);
  if (!q.is_null(4)) r.key_name = q.text(4);
  r.not_after = q.int64(5);
  r.issued_at = q.int64(6);
  r.revoked_at = q.optional_int64(7);
  r.revocation_reason = q.text(8);
  return r;
}

}  // namespace

std::vector<AuthorityRecord> authorities(Database& db) {
  auto q = db.prepare(std::string(k_authority_select) + " ORDER BY k.name");
  std::vector<AuthorityRecord> out;
  while (q.step()) out.push_back(read_authority(q));
  return out;
}

std::optional<AuthorityRecord> authority(Database& db, std::int64_t key_id) {
  auto q = db.prepare(std::string(k_authority_select) + " WHERE a.key_id = ?");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  return read_authority(q);
}

void insert_authority(Database& db, std::int64_t key_id, std::optional<std::int64_t> parent_key_id,
                      std::int64_t now) {
  auto q = db.prepare(
      "INSERT INTO authorities (key_id, parent_key_id, crl_number, created_at) VALUES (?, ?, 0, ?)");
  q.bind(1, key_id).bind(2, parent_key_id).bind(3, now);
  q.run();
}

void insert_issued(Database& db, const IssuedRecord& r) {
  auto dup = db.prepare(
      "SELECT 1 FROM issued_certificates WHERE authority_key_id = ? AND serial = ?");
  dup.bind(1, r.authority_key_id).bind(2, r.serial);
  if (dup.step())
    throw Error(Errc::AlreadyExists, "the CA has issued serial " + r.serial + " before",
                "serial numbers must be unique per CA (RFC 5280 §4.1.2.2)",
                "issue again: a new random serial is drawn each time");
  auto q = db.prepare(
      "INSERT INTO issued_certificates (authority_key_id, serial, subject, fingerprint_sha256, "
      "key_name, not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, r.authority_key_id).bind(2, r.serial).bind(3, r.subject).bind(4, r.fingerprint_sha256);
  if (r.key_name)
    q.bind(5, *r.key_name);
  else
    q.bind_null(5);
  q.bind(6, r.not_after).bind(7, r.issued_at);
  q.run();
}

std::vector<IssuedRecord> issued_by(Database& db, std::int64_t authority_key_id) {
  auto q = db.prepare(std::string(k_issued_select) +
                      " WHERE authority_key_id = ? ORDER BY issued_at, serial");
  q.bind(1, authority_key_id);
  std::vector<IssuedRecord> out;
  while (q.step()) out.push_back(read_issued(q));
  return out;
}

std::int64_t issued_count(Database& db, std::int64_t authority_key_id) {
  auto q = db.prepare("SELECT count(*) FROM issued_certificates WHERE authority_key_id = ?");
  q.bind(1, authority_key_id);
  q.step();
  return q.int64(0);
}

std::vector<IssuedRecord> issued_to(Database& db, std::int64_t authority_key_id,
                                    const std::string& key_name) {
  auto q = db.prepare(std::string(k_issued_select) +
                      " WHERE authority_key_id = ? AND key_name = ? ORDER BY issued_at DESC");
  q.bind(1, authority_key_id).bind(2, key_name);
  std::vector<IssuedRecord> out;
  while (q.step()) out.push_back(read_issued(q));
  return out;
}

bool mark_revoked(Database& db, std::int64_t authority_key_id, const std::string& serial,
                  std::int64_t at, const std::string& reason) {
  auto q = db.prepare(
      "UPDATE issued_certificates SET revoked_at = ?, revocation_reason = ? "
      "WHERE authority_key_id = ? AND serial = ? AND revoked_at IS NULL");
  q.bind(1, at).bind(2, reason).bind(3, authority_key_id).bind(4, serial);
  q.run();
  return db.changes() > 0;
}

std::int64_t next_crl_number(Database& db, std::int64_t authority_key_id, std::int64_t now) {
  auto up = db.prepare(
      "UPDATE authorities SET crl_number = CASE WHEN crl_number + 1 > ? THEN crl_number + 1 "
      "ELSE ? END WHERE key_id = ?");  // max(last + 1, now), in SQL both backends accept
  up.bind(1, now).bind(2, now).bind(3, authority_key_id);
  up.run();
  auto q = db.prepare("SELECT crl_number FROM authorities WHERE key_id = ?");
  q.bind(1, authority_key_id);
  if (!q.step()) throw Error(Errc::Internal, "an authority row vanished");
  return q.int64(0);
}

void raise_crl_number(Database& db, std::int64_t authority_key_id, std::int64_t at_least) {
  auto q = db.prepare(
      "UPDATE authorities SET crl_number = ? WHERE key_id = ? AND crl_number < ?");
  q.bind(1, at_least).bind(2, authority_key_id).bind(3, at_least);
  q.run();
}

std::optional<std::int64_t> renews_key_id(Database& db, std::int64_t key_id) {
  auto q = db.prepare("SELECT renews_key_id FROM keys WHERE id = ?");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  return q.optional_int64(0);
}

namespace {
// The newest key made to renew `old_key_id`: one still waiting for its certificate, or one
// that has it installed.
std::optional<std::int64_t> newest_renewal(Database& db, std::int64_t old_key_id, bool installed) {
  auto q = db.prepare(std::string("SELECT id FROM keys WHERE renews_key_id = ? AND "
                                  "current_certificate_id IS ") +
                      (installed ? "NOT NULL" : "NULL") + " ORDER BY id DESC LIMIT 1");
  q.bind(1, old_key_id);
  if (!q.step()) return std::nullopt;
  return q.int64(0);
}
}  // namespace

std::optional<std::int64_t> pending_renewal_of(Database& db, std::int64_t old_key_id) {
  return newest_renewal(db, old_key_id, false);
}

std::optional<std::int64_t> replaced_by(Database& db, std::int64_t old_key_id) {
  return newest_renewal(db, old_key_id, true);
}

std::map<std::int64_t, std::string> superseded_entries(Database& db) {
  // In id order within each replaced entry, so that its newest renewal names it (as replaced_by
  // does). That is the order of the keys_renews index: the few renewals are read from it, not
  // the whole keys table (ORDER BY id alone made SQLite scan keys to skip a sort).
  auto q = db.prepare(
      "SELECT renews_key_id, name FROM keys WHERE renews_key_id IS NOT NULL AND "
      "current_certificate_id IS NOT NULL ORDER BY renews_key_id, id");
  std::map<std::int64_t, std::string> out;
  while (q.step()) out[q.int64(0)] = q.text(1);
  return out;
}

void set_renews_key_id(Database& db, std::int64_t new_key_id,
                       std::optional<std::int64_t> old_key_id) {
  auto q = db.prepare("UPDATE keys SET renews_key_id = ? WHERE id = ?");
  q.bind(1, old_key_id).bind(2, new_key_id);
  q.run();
}

void rename_key(Database& db, std::int64_t key_id, const std::string& name) {
  auto q = db.prepare("UPDATE keys SET name = ? WHERE id = ?");
  q.bind(1, name).bind(2, key_id);
  q.run();
}

bool key_name_taken(Database& db, const std::string& name) {
  auto q = db.prepare("SELECT 1 FROM keys WHERE name = ?");
  q.bind(1, name);
  return q.step();
}

std::optional<std::string> key_name_of(Database& db, std::int64_t key_id) {
  auto q = db.prepare("SELECT name FROM keys WHERE id = ?");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

void add_request(Database& db, std::int64_t key_id, const Bytes& der, std::int64_t now) {
  auto q = db.prepare("INSERT INTO requests (key_id, der, created_at) VALUES (?, ?, ?)");
  q.bind(1, key_id).bind(2, der).bind(3, now);
  q.run();
}

}  // namespace keysafe::store
