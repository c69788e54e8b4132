// keysafe delete: remove an entry, refusing to lose a key that exists nowhere else.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/clock.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_delete(CLI::App& cmd) {
  auto name = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd.add_option("NAME", *name, "entry to delete")->required();
  cmd.add_flag("--force", *force,
               "delete even a key with no verified backup, or a pending key whose certificate "
               "has not arrived");
  cmd.footer(R"(
A key that has never been backed up, or whose backup is older than its newest certificate,
exists only in this store: deleting it loses it for good, so keysafe refuses without
--force. A pending key is refused too: the certificate the CA is about to send would be
useless without it. Deleted rows are overwritten in the file (secure_delete), not just
unlinked. No passphrase is needed.

EXAMPLES:
  keysafe backup old-site -o old-site.kbk && keysafe delete old-site
  keysafe delete test-key --force)");
  return [name, force](Context& ctx) {
    auto store = ctx.open_store();
    const auto key = store.key_by_name(*name);
    if (!key)
      throw Error(Errc::NotFound, "no entry named \"" + *name + "\"",
                  "the store has no entry of that name", "see every entry with: keysafe list");
    if (key->has_private_key && !*force) {
      std::int64_t newest = 0;
      for (const auto& c : store.certificates_of(key->id)) newest = std::max(newest, c.installed_at);
      if (!key->current_certificate_id)
        throw Error(Errc::Refused, "refusing to delete \"" + *name + "\": its request is pending",
                    "the certificate the CA sends for this request can only be used with this key",
                    "install the certificate first, or delete anyway with --force");
      if (!key->last_backup_at || *key->last_backup_at < newest)
        throw Error(Errc::Refused,
                    "refusing to delete \"" + *name + "\": its key has no verified backup",
                    key->last_backup_at
                        ? "the last backup (" + ops::format_rfc3339(*key->last_backup_at) +
                              ") is older than its newest certificate"
                        : std::string("it was never backed up: this store holds the only copy"),
                    "back it up first: keysafe backup " + *name + " -o " + *name +
                        ".kbk, or delete anyway with --force");
    }
    store.record("deleted", *name, *force ? "with --force" : "after a verified backup");
    store.delete_entry(key->id);
    if (ctx.options.json)
      ctx.out << nlohmann::json{{"name", *name}, {"deleted", true}}.dump(2, ' ', false, k_invalid_utf8) << '\n';
    else
      ctx.out << "deleted \"" << *name << "\" (" << (key->has_private_key ? "key, " : "")
              << "certificates and requests)\n";
    return 0;
  };
}

}  // namespace keysafe::cli
