// keysafe delete: remove an entry, refusing to lose a key that exists nowhere else.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/delete.hpp"
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
    const auto deleted = ops::delete_entry(store, *name, *force);
    if (ctx.options.json)
      ctx.out << nlohmann::json{{"name", *name}, {"deleted", true}}.dump(2, ' ', false, k_invalid_utf8) << '\n';
    else
      ctx.out << "deleted \"" << *name << "\" (" << (deleted.had_private_key ? "key, " : "")
              << "certificates and requests)\n";
    return 0;
  };
}

}  // namespace keysafe::cli
