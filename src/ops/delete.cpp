// Deleting an entry: refusing to lose a key that exists nowhere else (DESIGN.md "Security rules").
#include "keysafe/ops/delete.hpp"

#include <algorithm>

#include "keysafe/error.hpp"
#include "keysafe/ops/clock.hpp"

namespace keysafe::ops {
namespace {

// Throws when deleting `key` could lose its private key for good; `name` as the user gave it.
void refuse_losing_key(store::Keystore& store, const store::KeyRecord& key,
                       const std::string& name) {
  if (!key.has_private_key) return;
  if (!key.current_certificate_id)
    throw Error(Errc::Refused, "refusing to delete \"" + name + "\": its request is pending",
                "the certificate the CA sends for this request can only be used with this key",
                "install the certificate first, or delete anyway with --force");
  // A backup counts only when it is newer than the newest certificate: an older one would
  // restore the key without the certificate now in use.
  std::int64_t newest = 0;
  for (const auto& c : store.certificates_of(key.id)) newest = std::max(newest, c.installed_at);
  if (!key.last_backup_at || *key.last_backup_at < newest)
    throw Error(Errc::Refused, "refusing to delete \"" + name + "\": its key has no verified backup",
                key.last_backup_at
                    ? "the last backup (" + format_rfc3339(*key.last_backup_at) +
                          ") is older than its newest certificate"
                    : std::string("it was never backed up: this store holds the only copy"),
                "back it up first: keysafe backup " + name + " -o " + name +
                    ".kbk, or delete anyway with --force");
}

}  // namespace

DeleteResult delete_entry(store::Keystore& store, std::string_view name, bool force) {
  const auto key = store.key_by_name(name);
  if (!key)
    throw Error(Errc::NotFound, "no entry named \"" + std::string(name) + "\"",
                "the store has no entry of that name", "see every entry with: keysafe list");
  if (!force) refuse_losing_key(store, *key, std::string(name));
  store.record("deleted", std::string(name), force ? "with --force" : "after a verified backup");
  store.delete_entry(key->id);
  return DeleteResult{std::string(name), key->has_private_key};
}

}  // namespace keysafe::ops
