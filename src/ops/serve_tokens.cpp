// Bearer tokens of keysafe serve: made here, written once to a file, kept only as a hash.
#include "keysafe/ops/serve_tokens.hpp"

#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ops {
namespace {

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string token_hash(std::string_view token) { return to_hex(sha256(as_span(token))); }

Error token_refused(std::string summary, std::string cause) {
  return Error(Errc::WrongPassphrase, std::move(summary), std::move(cause),
               "ask an administrator for a new token: keysafe serve token create NAME -o FILE");
}

}  // namespace

ServeTokenCreated create_serve_token(store::Keystore& store, const std::string& name,
                                     std::optional<std::int64_t> expires_days,
                                     const std::filesystem::path& file, std::int64_t now) {
  // Token names follow entry names: they appear in audit lines and URLs of nothing else.
  try {
    validate_entry_name(name);
  } catch (const Error& e) {
    throw Error(Errc::Usage, "invalid token name " + in_quotes(name), e.cause(),
                "use 1-64 letters, digits, '.', '_' or '-', e.g. monitoring");
  }
  if (expires_days && (*expires_days < 1 || *expires_days > 3650))
    throw Error(Errc::Usage, "--expires is a number of days from 1 to 3650",
                "it was " + std::to_string(*expires_days),
                "for example: keysafe serve token create " + name + " --expires 90 -o FILE");
  if (std::filesystem::exists(std::filesystem::symlink_status(file)))
    throw Error(Errc::AlreadyExists, in_quotes(file.string()) + " already exists",
                "a token file is never written over an existing file or symlink",
                "choose a path for a new file");
  if (store::serve_token_by_name(store.database(), name))
    throw Error(Errc::AlreadyExists, "there is already a serve token named " + in_quotes(name),
                "token names are never reused, a revoked one's included",
                "choose another name; keysafe serve token list shows them");
  const std::string token = std::string(k_serve_token_prefix) + to_hex(random_bytes(32));
  ServeTokenCreated out;
  out.file = file;
  out.record.name = name;
  out.record.token_sha256 = token_hash(token);
  out.record.created_at = now;
  if (expires_days) out.record.expires_at = now + *expires_days * 86400;
  store.record("serve-token-created", "",
               "token " + in_quotes(name) + (out.record.expires_at
                                              ? ", expires " + format_rfc3339(*out.record.expires_at)
                                              : ", no expiry") +
                   "; written to " + file.string());
  bool written = false;
  try {
    store.write([&](store::Database& db) {
      store::insert_serve_token(db, out.record);
      if (!written) {
        files::write_file_atomically(file, token + "\n", 0600, files::Overwrite::Refuse);
        written = true;
      }
    });
  } catch (...) {
    if (written) std::filesystem::remove(file);
    throw;
  }
  return out;
}

std::vector<store::ServeTokenRecord> list_serve_tokens(store::Keystore& store) {
  return store::serve_tokens(store.database());
}

store::ServeTokenRecord revoke_serve_token(store::Keystore& store, const std::string& name,
                                           std::int64_t now) {
  auto t = store::serve_token_by_name(store.database(), name);
  if (!t)
    throw Error(Errc::NotFound, "there is no serve token named " + in_quotes(name), "",
                "keysafe serve token list shows the tokens");
  if (t->revoked_at) return *t;
  store.record("serve-token-revoked", "", "token " + in_quotes(name));
  store.write([&](store::Database& db) { store::revoke_serve_token(db, name, now); });
  t->revoked_at = now;
  return *t;
}

std::string serve_token_state(const store::ServeTokenRecord& t, std::int64_t now) {
  if (t.revoked_at) return "revoked";
  if (t.expires_at && *t.expires_at <= now) return "expired";
  return "live";
}

store::ServeTokenRecord check_serve_token(store::Keystore& store, std::string_view token,
                                          std::int64_t now) {
  const auto t = store::serve_token_by_hash(store.database(), token_hash(token));
  if (!t) throw token_refused("unknown bearer token", "no serve token of this store has this value");
  const auto state = serve_token_state(*t, now);
  if (state == "revoked")
    throw token_refused("the bearer token " + in_quotes(t->name) + " was revoked",
                        "revoked " + format_rfc3339(*t->revoked_at));
  if (state == "expired")
    throw token_refused("the bearer token " + in_quotes(t->name) + " has expired",
                        "it expired " + format_rfc3339(*t->expires_at));
  return *t;
}

}  // namespace keysafe::ops
