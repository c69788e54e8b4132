// SQL of the ACME tables (schema v13).
#include "keysafe/store/acme.hpp"

#include <nlohmann/json.hpp>

#include "row_values.hpp"

namespace keysafe::store {
namespace {

using detail::bind_optional;
using detail::optional_text;

constexpr const char* k_account_columns =
    "SELECT id, name, directory_url, account_url, contact, status, key_algorithm, "
    "jwk_thumbprint, sealed_private_key, directory_ca_pem, created_at FROM acme_accounts ";

AcmeAccountRecord read_account(const Statement& q) {
  AcmeAccountRecord a;
  a.id = q.int64(0);
  a.name = q.text(1);
  a.directory_url = q.text(2);
  a.account_url = q.text(3);
  a.contact = q.text(4);
  a.status = q.text(5);
  a.key_algorithm = q.text(6);
  a.jwk_thumbprint = q.text(7);
  a.sealed_private_key = q.blob(8);
  a.directory_ca_pem = optional_text(q, 9);
  a.created_at = q.int64(10);
  return a;
}

// The challenge_param column: the challenge's parameter, wrapped with the preferred chain
// when there is one. A parameter itself is never such an object (ADDR:PORT, an absolute path,
// or the DNS-01 hook's {"hook", "resolver"}).
std::string encode_challenge_param(const std::string& param, const std::optional<std::string>& chain) {
  if (!chain) return param;
  return nlohmann::json{{"param", param}, {"preferred_chain", *chain}}.dump();
}

void decode_challenge_param(const std::string& stored, AcmeEntryRecord& e) {
  e.challenge_param = stored;
  if (stored.empty() || stored.front() != '{') return;
  const auto j = nlohmann::json::parse(stored, nullptr, false);
  if (!j.is_object() || !j.contains("preferred_chain") || !j.contains("param") ||
      !j["preferred_chain"].is_string() || !j["param"].is_string())
    return;
  e.challenge_param = j["param"].get<std::string>();
  e.preferred_chain = j["preferred_chain"].get<std::string>();
}

}  // namespace

std::string acme_account_purpose(std::string_view account_name) {
  return "acme account key " + std::string(account_name);
}

std::vector<AcmeAccountRecord> acme_accounts(Database& db) {
  std::vector<AcmeAccountRecord> out;
  auto q = db.prepare(std::string(k_account_columns) + "ORDER BY name");
  while (q.step()) out.push_back(read_account(q));
  return out;
}

std::optional<AcmeAccountRecord> acme_account_by_name(Database& db, std::string_view name) {
  auto q = db.prepare(std::string(k_account_columns) + "WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_account(q);
}

std::optional<AcmeAccountRecord> acme_account_by_id(Database& db, std::int64_t id) {
  auto q = db.prepare(std::string(k_account_columns) + "WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_account(q);
}

std::int64_t insert_acme_account(Database& db, const AcmeAccountRecord& a) {
  auto q = db.prepare(
      "INSERT INTO acme_accounts (name, directory_url, account_url, contact, status, "
      "key_algorithm, jwk_thumbprint, sealed_private_key, directory_ca_pem, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
  q.bind(1, std::string_view(a.name)).bind(2, std::string_view(a.directory_url));
  q.bind(3, std::string_view(a.account_url)).bind(4, std::string_view(a.contact));
  q.bind(5, std::string_view(a.status)).bind(6, std::string_view(a.key_algorithm));
  q.bind(7, std::string_view(a.jwk_thumbprint)).bind(8, a.sealed_private_key);
  bind_optional(q, 9, a.directory_ca_pem);
  q.bind(10, a.created_at);
  q.step();
  return q.int64(0);
}

void set_acme_account_status(Database& db, std::int64_t id, std::string_view status) {
  auto q = db.prepare("UPDATE acme_accounts SET status = ? WHERE id = ?");
  q.bind(1, status).bind(2, id);
  q.run();
}

void set_acme_account_key(Database& db, std::int64_t id, std::string_view key_algorithm,
                          std::string_view jwk_thumbprint, std::span<const std::uint8_t> sealed_private_key) {
  auto q = db.prepare(
      "UPDATE acme_accounts SET key_algorithm = ?, jwk_thumbprint = ?, sealed_private_key = ? "
      "WHERE id = ?");
  q.bind(1, key_algorithm).bind(2, jwk_thumbprint).bind(3, sealed_private_key).bind(4, id);
  q.run();
}

std::optional<AcmeEntryRecord> acme_entry(Database& db, std::int64_t key_id) {
  auto q = db.prepare(
      "SELECT e.key_id, e.account_id, a.name, e.directory_url, e.challenge, e.challenge_param, "
      "e.order_url, e.updated_at FROM acme_entries e JOIN acme_accounts a ON a.id = e.account_id "
      "WHERE e.key_id = ?");
  q.bind(1, key_id);
  if (!q.step()) return std::nullopt;
  AcmeEntryRecord e;
  e.key_id = q.int64(0);
  e.account_id = q.int64(1);
  e.account = q.text(2);
  e.directory_url = q.text(3);
  e.challenge = q.text(4);
  decode_challenge_param(q.text(5), e);
  e.order_url = optional_text(q, 6);
  e.updated_at = q.int64(7);
  return e;
}

void remove_acme_entry(Database& db, std::int64_t key_id) {
  auto del = db.prepare("DELETE FROM acme_entries WHERE key_id = ?");
  del.bind(1, key_id);
  del.run();
}

void put_acme_entry(Database& db, const AcmeEntryRecord& e) {
  auto del = db.prepare("DELETE FROM acme_entries WHERE key_id = ?");
  del.bind(1, e.key_id);
  del.run();
  auto q = db.prepare(
      "INSERT INTO acme_entries (key_id, account_id, directory_url, challenge, challenge_param, "
      "order_url, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, e.key_id).bind(2, e.account_id).bind(3, std::string_view(e.directory_url));
  const std::string param = encode_challenge_param(e.challenge_param, e.preferred_chain);
  q.bind(4, std::string_view(e.challenge)).bind(5, std::string_view(param));
  bind_optional(q, 6, e.order_url);
  q.bind(7, e.updated_at);
  q.run();
}

}  // namespace keysafe::store
