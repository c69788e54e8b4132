// SQL of the serve_tokens table (schema v14).
#include "keysafe/store/serve_tokens.hpp"

namespace keysafe::store {
namespace {

constexpr const char* k_columns =
    "SELECT name, token_sha256, created_at, expires_at, revoked_at FROM serve_tokens ";

std::optional<std::int64_t> optional_int(const Statement& q, int column) {
  if (q.is_null(column)) return std::nullopt;
  return q.int64(column);
}

ServeTokenRecord read_token(const Statement& q) {
  ServeTokenRecord t;
  t.name = q.text(0);
  t.token_sha256 = q.text(1);
  t.created_at = q.int64(2);
  t.expires_at = optional_int(q, 3);
  t.revoked_at = optional_int(q, 4);
  return t;
}

}  // namespace

std::vector<ServeTokenRecord> serve_tokens(Database& db) {
  std::vector<ServeTokenRecord> out;
  auto q = db.prepare(std::string(k_columns) + "ORDER BY name");
  while (q.step()) out.push_back(read_token(q));
  return out;
}

std::optional<ServeTokenRecord> serve_token_by_name(Database& db, std::string_view name) {
  auto q = db.prepare(std::string(k_columns) + "WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_token(q);
}

std::optional<ServeTokenRecord> serve_token_by_hash(Database& db, std::string_view token_sha256) {
  auto q = db.prepare(std::string(k_columns) + "WHERE token_sha256 = ?");
  q.bind(1, token_sha256);
  if (!q.step()) return std::nullopt;
  return read_token(q);
}

void insert_serve_token(Database& db, const ServeTokenRecord& t) {
  auto q = db.prepare(
      "INSERT INTO serve_tokens (name, token_sha256, created_at, expires_at, revoked_at) "
      "VALUES (?, ?, ?, ?, ?)");
  q.bind(1, std::string_view(t.name)).bind(2, std::string_view(t.token_sha256));
  q.bind(3, t.created_at);
  q.bind(4, t.expires_at).bind(5, t.revoked_at);
  q.run();
}

bool revoke_serve_token(Database& db, std::string_view name, std::int64_t now) {
  const auto t = serve_token_by_name(db, name);
  if (!t || t->revoked_at) return false;
  auto q = db.prepare("UPDATE serve_tokens SET revoked_at = ? WHERE name = ?");
  q.bind(1, now).bind(2, name);
  q.run();
  return true;
}

}  // namespace keysafe::store
