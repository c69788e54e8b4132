// SQL of the fleet tables (schema v11), and the bytes that host seals and assignment
// signatures cover.
#include "keysafe/store/fleet.hpp"

#include "keysafe/store/header.hpp"
#include "row_values.hpp"

namespace keysafe::store {
namespace {

using detail::bind_optional;
using detail::optional_text;

void put_optional(Bytes& out, const std::optional<std::string>& v) {
  out.push_back(v ? 1 : 0);
  put_field(out, as_span(v.value_or("")));
}

constexpr const char* k_host_columns =
    "SELECT id, name, algorithm, public_key, public_key_sha256, role, created_at FROM hosts ";

HostRecord read_host(const Statement& q) {
  HostRecord h;
  h.id = q.int64(0);
  h.name = q.text(1);
  h.algorithm = q.text(2);
  h.public_key = q.blob(3);
  h.public_key_sha256 = q.text(4);
  h.role = optional_text(q, 5);
  h.created_at = q.int64(6);
  return h;
}

constexpr const char* k_assignment_columns =
    "SELECT a.id, a.host_id, a.key_id, h.name, k.name, a.target_dir, a.layout, a.test_cmd, "
    "a.reload_cmd, a.probe, a.sni, a.sealed_private_key, a.signature, a.assigned_at "
    "FROM assignments a JOIN hosts h ON h.id = a.host_id JOIN keys k ON k.id = a.key_id ";

AssignmentRecord read_assignment(const Statement& q) {
  AssignmentRecord a;
  a.id = q.int64(0);
  a.host_id = q.int64(1);
  a.key_id = q.int64(2);
  a.host = q.text(3);
  a.entry = q.text(4);
  a.target_dir = q.text(5);
  a.layout = q.text(6);
  a.test_cmd = optional_text(q, 7);
  a.reload_cmd = optional_text(q, 8);
  a.probe = optional_text(q, 9);
  a.sni = optional_text(q, 10);
  a.sealed_private_key = q.blob(11);
  a.signature = q.blob(12);
  a.assigned_at = q.int64(13);
  return a;
}

}  // namespace

std::optional<FleetSigningKey> fleet_signing_key(Database& db) {
  auto q = db.prepare(
      "SELECT public_key, sealed_private_key, created_at FROM fleet_signing_key WHERE id = 1");
  if (!q.step()) return std::nullopt;
  return FleetSigningKey{q.blob(0), q.blob(1), q.int64(2)};
}

std::optional<Bytes> fleet_signing_public_key(Database& db) {
  auto q = db.prepare("SELECT public_key FROM fleet_signing_key WHERE id = 1");
  if (!q.step()) return std::nullopt;
  return q.blob(0);
}

void insert_fleet_signing_key(Database& db, const FleetSigningKey& key) {
  auto q = db.prepare(
      "INSERT INTO fleet_signing_key (id, public_key, sealed_private_key, created_at) "
      "VALUES (1, ?, ?, ?)");
  q.bind(1, key.public_key).bind(2, key.sealed_private_key).bind(3, key.created_at);
  q.run();
}

std::vector<HostRecord> hosts(Database& db) {
  std::vector<HostRecord> out;
  auto q = db.prepare(std::string(k_host_columns) + "ORDER BY name");
  while (q.step()) out.push_back(read_host(q));
  return out;
}

std::optional<HostRecord> host_by_name(Database& db, std::string_view name) {
  auto q = db.prepare(std::string(k_host_columns) + "WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_host(q);
}

std::int64_t insert_host(Database& db, const HostRecord& h) {
  auto q = db.prepare(
      "INSERT INTO hosts (name, algorithm, public_key, public_key_sha256, role, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
  q.bind(1, std::string_view(h.name)).bind(2, std::string_view(h.algorithm)).bind(3, h.public_key);
  q.bind(4, std::string_view(h.public_key_sha256));
  bind_optional(q, 5, h.role);
  q.bind(6, h.created_at);
  q.step();
  return q.int64(0);
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

bool may_create_roles(Database& db) {
  if (db.backend() != Backend::Postgresql) return false;
  auto q = db.prepare(
      "SELECT (rolcreaterole OR rolsuper)::int FROM pg_roles WHERE rolname = current_user");
  return q.step() && q.int64(0) != 0;
}

std::vector<std::string> host_role_sql(Database& db, const std::string& role) {
  if (db.backend() != Backend::Postgresql) return {};
  auto names = db.prepare(
      "SELECT current_schema(), pg_get_serial_sequence(quote_ident(current_schema()) || "
      "'.host_events', 'id')");
  names.step();
  const std::string schema = quote_identifier(names.text(0));
  const std::string sequence = names.text(1);  // already qualified and quoted
  const std::string r = quote_identifier(role);
  // Every other table (store_header with the wrapped data key, settings, audit, key slots, CA
  // state, deployments) and keys.sealed_private_key stay out of reach.
  return {
      "CREATE ROLE " + r + " LOGIN",
      "GRANT USAGE ON SCHEMA " + schema + " TO " + r,
      "GRANT SELECT ON " + schema + ".keysafe_schema TO " + r,
      "GRANT SELECT ON " + schema + ".hosts, " + schema + ".assignments, " + schema +
          ".certificates, " + schema + ".chain_certificates TO " + r,
      "GRANT SELECT (id, name, algorithm, spki_der, spki_sha256, subject, dns, ip, "
      "current_certificate_id, created_at) ON " + schema + ".keys TO " + r,
      "GRANT SELECT (id, public_key, created_at) ON " + schema + ".fleet_signing_key TO " + r,
      "GRANT SELECT, INSERT, UPDATE ON " + schema + ".host_reports TO " + r,
      "GRANT SELECT, INSERT ON " + schema + ".host_events TO " + r,
      "GRANT USAGE ON SEQUENCE " + sequence + " TO " + r,
      "GRANT EXECUTE ON FUNCTION " + schema + ".keysafe_host_refused(TEXT, TEXT) TO " + r,
  };
}

std::vector<std::string> host_role_removal_sql(Database& db, const std::string& role,
                                               bool keep_role) {
  if (db.backend() != Backend::Postgresql) return {};
  auto names = db.prepare("SELECT current_schema()");
  names.step();
  const std::string schema = quote_identifier(names.text(0));
  const std::string r = quote_identifier(role);
  std::vector<std::string> sql = {
      "REVOKE ALL ON ALL TABLES IN SCHEMA " + schema + " FROM " + r,
      "REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + schema + " FROM " + r,
      "REVOKE ALL ON FUNCTION " + schema + ".keysafe_host_refused(TEXT, TEXT) FROM " + r,
      "REVOKE ALL ON SCHEMA " + schema + " FROM " + r,
  };
  if (!keep_role) sql.push_back("DROP ROLE " + r);
  return sql;
}

void update_host_key(Database& db, const HostRecord& h) {
  auto q = db.prepare("UPDATE hosts SET public_key = ?, public_key_sha256 = ? WHERE id = ?");
  q.bind(1, h.public_key).bind(2, std::string_view(h.public_key_sha256)).bind(3, h.id);
  q.run();
}

void delete_host(Database& db, std::int64_t host_id) {
  auto q = db.prepare("DELETE FROM hosts WHERE id = ?");
  q.bind(1, host_id);
  q.run();
}

std::vector<AssignmentRecord> assignments(Database& db, std::optional<std::int64_t> host_id,
                                          std::optional<std::int64_t> key_id) {
  std::string sql = k_assignment_columns;
  if (host_id) sql += "WHERE a.host_id = ? ";
  if (key_id) sql += host_id ? "AND a.key_id = ? " : "WHERE a.key_id = ? ";
  sql += "ORDER BY h.name, k.name";
  auto q = db.prepare(sql);
  int i = 1;
  if (host_id) q.bind(i++, *host_id);
  if (key_id) q.bind(i++, *key_id);
  std::vector<AssignmentRecord> out;
  while (q.step()) out.push_back(read_assignment(q));
  return out;
}

std::optional<AssignmentRecord> assignment(Database& db, std::int64_t host_id, std::int64_t key_id) {
  auto found = assignments(db, host_id, key_id);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::int64_t save_assignment(Database& db, const AssignmentRecord& a) {
  auto q = db.prepare(
      "INSERT INTO assignments (host_id, key_id, target_dir, layout, test_cmd, reload_cmd, probe, "
      "sni, sealed_private_key, signature, assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (host_id, key_id) DO UPDATE SET target_dir = excluded.target_dir, "
      "layout = excluded.layout, test_cmd = excluded.test_cmd, reload_cmd = excluded.reload_cmd, "
      "probe = excluded.probe, sni = excluded.sni, "
      "sealed_private_key = excluded.sealed_private_key, signature = excluded.signature, "
      "assigned_at = excluded.assigned_at RETURNING id");
  q.bind(1, a.host_id).bind(2, a.key_id).bind(3, std::string_view(a.target_dir));
  q.bind(4, std::string_view(a.layout));
  bind_optional(q, 5, a.test_cmd);
  bind_optional(q, 6, a.reload_cmd);
  bind_optional(q, 7, a.probe);
  bind_optional(q, 8, a.sni);
  q.bind(9, a.sealed_private_key).bind(10, a.signature).bind(11, a.assigned_at);
  q.step();
  return q.int64(0);
}

void delete_assignment(Database& db, std::int64_t id) {
  auto q = db.prepare("DELETE FROM assignments WHERE id = ?");
  q.bind(1, id);
  q.run();
}

void move_assignment_key(Database& db, const AssignmentRecord& a) {
  auto q = db.prepare(
      "UPDATE assignments SET key_id = ?, sealed_private_key = ?, signature = ?, assigned_at = ? "
      "WHERE id = ?");
  q.bind(1, a.key_id).bind(2, a.sealed_private_key).bind(3, a.signature).bind(4, a.assigned_at);
  q.bind(5, a.id);
  q.run();
}

std::optional<HostReport> host_report(Database& db, std::int64_t assignment_id) {
  auto q = db.prepare(
      "SELECT assignment_id, state, deployed_fingerprint, served_fingerprint, files, error, "
      "reported_at FROM host_reports WHERE assignment_id = ?");
  q.bind(1, assignment_id);
  if (!q.step()) return std::nullopt;
  HostReport r;
  r.assignment_id = q.int64(0);
  r.state = q.text(1);
  r.deployed_fingerprint = optional_text(q, 2);
  r.served_fingerprint = optional_text(q, 3);
  // Written by a host, so read as untrusted: a list that does not parse is no list.
  if (!q.is_null(4)) r.files = detail::parse_files_json(q.text(4)).value_or(std::vector<DeployedFile>{});
  r.error = optional_text(q, 5);
  r.reported_at = q.int64(6);
  return r;
}

void save_host_report(Database& db, const HostReport& r) {
  auto q = db.prepare(
      "INSERT INTO host_reports (assignment_id, state, deployed_fingerprint, served_fingerprint, "
      "files, error, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (assignment_id) DO "
      "UPDATE SET state = excluded.state, deployed_fingerprint = excluded.deployed_fingerprint, "
      "served_fingerprint = excluded.served_fingerprint, files = excluded.files, "
      "error = excluded.error, reported_at = excluded.reported_at");
  q.bind(1, r.assignment_id).bind(2, std::string_view(r.state));
  bind_optional(q, 3, r.deployed_fingerprint);
  bind_optional(q, 4, r.served_fingerprint);
  const std::string files = detail::files_json(r.files);
  q.bind(5, std::string_view(files));
  bind_optional(q, 6, r.error);
  q.bind(7, r.reported_at);
  q.run();
}

void add_released_files(Database& db, const HostEvent& event,
                        const std::vector<DeployedFile>& files) {
  HostEvent e = event;
  e.action = "released";
  e.detail = detail::files_json(files);
  add_host_event(db, e);
}

std::vector<DeployedFile> released_files(Database& db, const std::string& host) {
  auto q = db.prepare("SELECT detail FROM host_events WHERE host = ? AND action = 'released'");
  q.bind(1, std::string_view(host));
  std::vector<DeployedFile> out;
  while (q.step())
    for (auto& f : detail::parse_files_json(q.text(0)).value_or(std::vector<DeployedFile>{}))
      out.push_back(std::move(f));
  return out;
}

void add_host_event(Database& db, const HostEvent& e) {
  auto q = db.prepare(
      "INSERT INTO host_events (at, host, action, entry, detail) VALUES (?, ?, ?, ?, ?)");
  q.bind(1, e.at).bind(2, std::string_view(e.host)).bind(3, std::string_view(e.action));
  q.bind(4, std::string_view(e.entry)).bind(5, std::string_view(e.detail));
  q.run();
}

std::vector<HostEvent> host_events(Database& db, std::optional<std::string> host,
                                   std::size_t limit) {
  auto q = db.prepare(std::string("SELECT id, at, host, action, entry, detail FROM host_events ") +
                      (host ? "WHERE host = ? " : "") + "ORDER BY id DESC LIMIT ?");
  int i = 1;
  if (host) q.bind(i++, std::string_view(*host));
  q.bind(i, static_cast<std::int64_t>(limit));
  std::vector<HostEvent> out;
  while (q.step())
    out.push_back({q.int64(0), q.int64(1), q.text(2), q.text(3), q.text(4), q.text(5)});
  return out;
}

std::optional<AssignedEntry> assigned_entry(Database& db, std::int64_t key_id) {
  auto q = db.prepare(
      "SELECT k.id, k.name, k.spki_sha256, c.id, c.fingerprint_sha256, c.spki_sha256 "
      "FROM keys k LEFT JOIN certificates c ON c.id = k.current_certificate_id WHERE k.id = ?");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  AssignedEntry e;
  e.key_id = q.int64(0);
  e.name = q.text(1);
  e.spki_sha256 = q.text(2);
  if (!q.is_null(3)) {
    e.certificate_id = q.int64(3);
    e.fingerprint_sha256 = q.text(4);
    e.certificate_spki_sha256 = q.text(5);
  }
  return e;
}

bool connected_as_host(Database& db) {
  if (db.backend() != Backend::Postgresql) return false;
  auto q = db.prepare("SELECT keysafe_is_host(current_user)::int");
  return q.step() && q.int64(0) != 0;
}

void record_refusal_as_host(Database& db, const std::string& entry, const std::string& detail) {
  auto q = db.prepare("SELECT keysafe_host_refused(?, ?)");
  q.bind(1, std::string_view(entry)).bind(2, std::string_view(detail));
  q.step();
}

Bytes host_seal_aad(const HostRecord& host, std::int64_t key_id, std::string_view spki_sha256) {
  Bytes aad;
  put_field(aad, as_span("keysafe-host-copy-v1"));
  put_field(aad, as_span(host.name));
  put_field(aad, as_span(host.public_key_sha256));
  put_u64(aad, static_cast<std::uint64_t>(key_id));
  put_field(aad, as_span(spki_sha256));
  return aad;
}

Bytes assignment_message(const AssignmentRecord& a, const HostRecord& host,
                         std::string_view spki_sha256) {
  Bytes m;
  put_field(m, as_span("keysafe-assignment-v1"));
  put_field(m, as_span(host.name));
  put_field(m, as_span(host.public_key_sha256));
  put_u64(m, static_cast<std::uint64_t>(a.key_id));
  put_field(m, as_span(spki_sha256));
  put_field(m, as_span(a.target_dir));
  put_field(m, as_span(a.layout));
  put_optional(m, a.test_cmd);
  put_optional(m, a.reload_cmd);
  put_optional(m, a.probe);
  put_optional(m, a.sni);
  put_field(m, sha256(a.sealed_private_key));
  put_u64(m, static_cast<std::uint64_t>(a.assigned_at));
  return m;
}

}  // namespace keysafe::store
