// Renaming entries (see keysafe/ops/rename.hpp).
#include "keysafe/ops/rename.hpp"

#include "keysafe/ops/create.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/names.hpp"

namespace keysafe::ops {

void prepare_rename(store::Keystore& store, std::string_view old_name, std::string_view new_name) {
  if (!store.key_by_name(old_name))
    throw Error(Errc::NotFound, "no entry named \"" + std::string(old_name) + "\"",
                "the store has no entry of that name", "see every entry with: keysafe list --all");
  validate_entry_name(new_name);
  if (auto holder = store.key_by_name(new_name))
    throw Error(Errc::AlreadyExists, "the name \"" + std::string(new_name) + "\" is already in use",
                old_name == new_name ? std::string("it is this entry's name already")
                                     : "another entry has it (" + holder->subject + ")",
                "choose another name, or see that entry with: keysafe show " +
                    std::string(new_name));
}

std::size_t rename_entry(store::Keystore& store, std::string_view old_name,
                         std::string_view new_name) {
  prepare_rename(store, old_name, new_name);
  const auto key = store.key_by_name(old_name);
  const std::string from(old_name);
  const std::string to(new_name);
  std::size_t issued = 0;
  store.record("renamed", to, "was \"" + from + "\"");
  store.write([&](store::Database& db) {
    store::rename_key(db, key->id, to);
    // A CA's record of the certificates it issued into the entry names it.
    auto q = db.prepare("UPDATE issued_certificates SET key_name = ? WHERE key_name = ?");
    q.bind(1, std::string_view(to)).bind(2, std::string_view(from));
    q.run();
    issued = static_cast<std::size_t>(db.changes());
  });
  return issued;
}

bool rename_needs_unlock(store::Keystore& store, std::string_view old_name) {
  auto q = store.database().prepare("SELECT 1 FROM issued_certificates WHERE key_name = ?");
  q.bind(1, old_name);
  return q.step();
}

bool is_generated_name(const store::KeyRecord& key) {
  const std::string base = "key-" + key.spki_sha256.substr(0, 12);
  if (key.name == base) return true;
  if (!key.name.starts_with(base + "-")) return false;
  const std::string_view rest = std::string_view(key.name).substr(base.size() + 1);
  return !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<std::string> name_from_certificate(store::Keystore& store,
                                                 const store::KeyRecord& key, X509* cert) {
  if (key.current_certificate_id || !is_generated_name(key)) return std::nullopt;
  std::string base;
  if (auto cn = x509::common_name(X509_get_subject_name(cert))) base = entry_name_from(*cn);
  if (base.empty()) {
    const auto info = x509::inspect_certificate(cert);
    if (!info.dns.empty()) base = entry_name_from(info.dns.front());
  }
  if (base.empty()) return std::nullopt;
  return free_entry_name(store, base);
}

}  // namespace keysafe::ops
