// keysafe rename: give an entry another name; everything that belongs to it follows.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/rename.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_rename(CLI::App& cmd) {
  auto from = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  cmd.add_option("OLD", *from, "the entry's name now")->required();
  cmd.add_option("NEW", *to, "its new name (1-64 letters, digits, '.', '_' or '-')")->required();
  cmd.footer(R"(
The key, its certificates and requests, deployments, its CA role and renewal links belong to
the entry, not to its name: they follow. A local CA's records of the certificates it issued
into the entry are updated too (those rows carry a MAC: then the passphrase is needed). A
name already in use is refused (exit 6). The rename is recorded in the audit log.

EXAMPLES:
  keysafe rename key-f304314c61ad www.example.com
  keysafe rename www.example.com.replaced-20261206 www-2026)");
  return [from, to](Context& ctx) {
    auto store = ctx.open_store();
    ops::prepare_rename(store, *from, *to);
    if (ops::rename_needs_unlock(store, *from)) ctx.unlock(store);
    const auto issued = ops::rename_entry(store, *from, *to);
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"name", *to}, {"previous_name", *from}, {"issued_records", issued}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << "renamed \"" << *from << "\" to \"" << *to << "\"";
    if (issued > 0) ctx.out << " (" << issued << " record(s) of issued certificates updated)";
    ctx.out << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
