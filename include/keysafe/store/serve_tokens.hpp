// The serve_tokens table (schema v14): read-only bearer tokens of keysafe serve, kept as the
// SHA-256 of the token only (docs/API.md, docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/store/database.hpp"

namespace keysafe::store {

struct ServeTokenRecord {
  std::string name;
  std::string token_sha256;               // hex SHA-256 of the bare token
  std::int64_t created_at = 0;            // Unix seconds
  std::optional<std::int64_t> expires_at; // none = until revoked
  std::optional<std::int64_t> revoked_at; // none = live
};

std::vector<ServeTokenRecord> serve_tokens(Database& db);
std::optional<ServeTokenRecord> serve_token_by_name(Database& db, std::string_view name);
std::optional<ServeTokenRecord> serve_token_by_hash(Database& db, std::string_view token_sha256);
void insert_serve_token(Database& db, const ServeTokenRecord& t);
// Sets revoked_at; false when no live token has that name.
bool revoke_serve_token(Database& db, std::string_view name, std::int64_t now);

}  // namespace keysafe::store
