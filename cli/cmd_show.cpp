// keysafe show: one entry in detail.
#include <ostream>
#include <sstream>

#include "commands.hpp"
#include "keysafe/ops/acme.hpp"
#include "keysafe/ops/inventory.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_show(CLI::App& cmd) {
  auto name = std::make_shared<std::string>();
  cmd.add_option("NAME", *name, "entry name")->required();
  cmd.footer(R"(
Needs no passphrase.

EXAMPLES:
  keysafe show www.example.com
  keysafe show www.example.com --json | jq .days_left)");
  return [name](Context& ctx) {
    auto store = ctx.open_store_for_listing();
    const auto view = ops::show_entry(store, *name, ctx.env.now());
    if (ctx.options.json) {
      render_show_json(store, view, ctx.out);
      return 0;
    }
    const auto key = store.key_by_name(view.name);
    const auto acme = key ? ops::acme_entry_view(store, key->id) : std::nullopt;
    render_entry_text(view, ctx.out);
    if (acme)
      ctx.out << "acme:                " << acme->challenge << " (" << acme->challenge_param
              << ") with account \"" << acme->account << "\" at " << acme->directory
              << (acme->preferred_chain ? ", preferred chain \"" + *acme->preferred_chain + "\"" : std::string())
              << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
