// keysafe serve token create|list|revoke, and checking a bearer token a request presents.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"
#include "keysafe/store/serve_tokens.hpp"

namespace keysafe::ops {

// "ksst_" and 64 hex digits (256 random bits).
inline constexpr std::string_view k_serve_token_prefix = "ksst_";

struct ServeTokenCreated {
  store::ServeTokenRecord record;
  std::filesystem::path file;
};

// A new token: its hash stored (audited "serve-token-created"), the bare token written to
// `file` (0600, never over an existing file or through a symlink). `expires_days` from 1 to
// 3650; none = until revoked. The store must be unlocked (the audit row).
ServeTokenCreated create_serve_token(store::Keystore& store, const std::string& name,
                                     std::optional<std::int64_t> expires_days,
                                     const std::filesystem::path& file, std::int64_t now);

std::vector<store::ServeTokenRecord> list_serve_tokens(store::Keystore& store);

// Audited "serve-token-revoked". NotFound for an unknown name; a revoked token stays listed.
store::ServeTokenRecord revoke_serve_token(store::Keystore& store, const std::string& name,
                                           std::int64_t now);

// "live", "expired" or "revoked".
std::string serve_token_state(const store::ServeTokenRecord& t, std::int64_t now);

// The token named by the bearer value `token` when it is live. Errc::WrongPassphrase (401)
// saying whether it is unknown, revoked or expired. Works with the store locked.
store::ServeTokenRecord check_serve_token(store::Keystore& store, std::string_view token,
                                          std::int64_t now);

}  // namespace keysafe::ops
