// keysafe show: one entry in detail.
#include <ostream>

#include "commands.hpp"
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
    if (ctx.options.json) render_entry_json(view, ctx.out);
    else render_entry_text(view, ctx.out);
    return 0;
  };
}

}  // namespace keysafe::cli
