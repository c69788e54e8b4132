// keysafe create: a key pair sealed in the store, and its certificate request.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/files/io.hpp"
#include "render.hpp"
#include "render_reports.hpp"

namespace keysafe::cli {

namespace {
struct CreateArgs {
  std::string name;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::string subject;
  std::string key = "ec-p256";
  std::string output;
  bool force = false;
};
}  // namespace

Action setup_create(CLI::App& cmd) {
  auto a = std::make_shared<CreateArgs>();
  cmd.add_option("NAME", a->name, "name of the new entry (e.g. www.example.com)")->required();
  cmd.add_option("--dns", a->dns, "DNS name for the certificate (repeat for more)")
      ->type_name("DNS");
  cmd.add_option("--ip", a->ip, "IP address for the certificate (repeat for more)")
      ->type_name("IP");
  cmd.add_option("--subject", a->subject,
                 "subject components, most specific first, e.g. \"O=Example Ltd,C=GB\" "
                 "(CN defaults to the first DNS name)")
      ->type_name("DN");
  cmd.add_option("--key", a->key, "key algorithm: ec-p256 (default), ec-p384, rsa-2048, "
                                  "rsa-3072, rsa-4096, ed25519")
      ->type_name("ALG");
  cmd.add_option("-o,--output", a->output, "where to write the request (default NAME.req; - for "
                                           "standard output)")
      ->type_name("FILE");
  cmd.add_flag("--force", a->force, "overwrite an existing request file");
  cmd.footer(R"(
The private key is generated inside the store and sealed there; it is never written
out. The request (.req) holds only the public key: send it to your CA, then install
the certificate it returns with `keysafe install`.

EXAMPLES:
  keysafe create www.example.com --dns www.example.com --dns example.com
  keysafe create intranet --dns intranet.corp --ip 10.0.0.5 --key rsa-3072 \
      --subject "O=Example Ltd,C=GB" -o intranet.csr)");
  return [a](Context& ctx) {
    const auto alg = x509::parse_key_algorithm(a->key);
    if (!alg)
      throw Error(Errc::Usage, "\"" + a->key + "\" is not a key algorithm keysafe creates",
                  "choose ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519",
                  "for example: --key ec-p256 (the default)");
    ops::CreateParams params{a->name, a->dns, a->ip, a->subject, *alg, ctx.env.now()};
    const std::string output = a->output.empty() ? a->name + ".req" : a->output;
    auto store = ctx.open_store();
    ops::prepare_create(store, params);
    if (output != "-" && !a->force && std::filesystem::exists(std::filesystem::symlink_status(output)))
      throw Error(Errc::AlreadyExists, "\"" + output + "\" already exists",
                  "keysafe does not overwrite files unless told to",
                  "choose another file with -o, or add --force");
    ctx.unlock(store);
    const auto result = ops::create_key(store, params);
    std::optional<std::filesystem::path> backup_file;
    if (auto config = ops::auto_backup_config(store))
      backup_file = ops::auto_backup(store, *config, result.name, params.now);
    if (output == "-") {
      ctx.out << result.request_pem;
      return 0;
    }
    // The key is stored: a failure to write the request is recoverable with `keysafe request`.
    try {
      files::write_file_atomically(output, result.request_pem, 0644,
                                 a->force ? files::Overwrite::Allow : files::Overwrite::Refuse);
    } catch (const Error& e) {
      throw Error(e.code(), "the key \"" + result.name + "\" was created, but " + e.summary(),
                  e.cause(), "write the request again with: keysafe request " + result.name +
                                 " -o FILE");
    }
    if (ctx.options.json) {
      ctx.out << create_json(result, std::filesystem::path(output), backup_file)
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    } else {
      ctx.out << "created key \"" << result.name << "\" (" << result.algorithm << ") for "
              << result.subject << "\n"
              << "request written to " << output
              << ": send it to your CA, then run: keysafe install CERTIFICATE-FILE\n";
      if (backup_file) ctx.out << "automatic backup written to " << backup_file->string() << '\n';
    }
    return 0;
  };
}

}  // namespace keysafe::cli
