// keysafe request: the stored certificate request, written again.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/files/io.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_request(CLI::App& cmd) {
  auto name = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  cmd.add_option("NAME", *name, "entry name")->required();
  cmd.add_option("-o,--output", *output, "file to write (default NAME.req; - for standard output)")
      ->type_name("FILE");
  cmd.add_flag("--force", *force, "overwrite an existing file");
  cmd.footer(R"(
EXAMPLES:
  keysafe request www.example.com
  keysafe request www.example.com -o - | openssl req -noout -text)");
  return [name, output, force](Context& ctx) {
    auto store = ctx.open_store();
    const std::string pem = ops::stored_request_pem(store, *name);
    const std::string file = output->empty() ? *name + ".req" : *output;
    if (file == "-") {
      ctx.out << pem;
      return 0;
    }
    files::write_file_atomically(file, pem, 0644,
                               *force ? files::Overwrite::Allow : files::Overwrite::Refuse);
    if (ctx.options.json)
      ctx.out << nlohmann::json{{"name", *name}, {"request_file", file}}.dump(2, ' ', false, k_invalid_utf8) << '\n';
    else
      ctx.out << "request of \"" << *name << "\" written to " << file << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
