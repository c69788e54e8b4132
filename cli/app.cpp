// Parsing global options and the command, running it, rendering errors in one place.
#include "app.hpp"

#include <map>
#include <ostream>

#include "commands.hpp"
#include "keysafe/ossl/errors.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

constexpr const char* k_footer = R"(Store passphrase: asked on the terminal (no echo), or read from
--passphrase-file FILE, --passphrase-fd N, or KEYSAFE_PASSPHRASE (weaker: the
environment of a process can be read by its owner). Never on the command line.
Commands that only read certificates (list, show, request) never ask for it.

Exit codes: 0 ok, 1 failed, 2 usage, 3 wrong passphrase or password, 4 keystore
unusable, 5 no stored key matches / a request given as a certificate, 6 refused
(exists, needs --force/--yes/--allow-weak); check: 7 warnings (--strict), 8 damaged;
list --expiring: 10 expiring, 11 expired; status: 12 stale, 13 unreachable;
renew --all: 14 something failed. See docs/EXIT-CODES.md.

Walk-through:
  keysafe init
  keysafe create www.example.com --dns www.example.com --dns example.com
  (send www.example.com.req to your CA)
  keysafe install certificate-from-ca.pem
  keysafe list --expiring 30
  keysafe backup --all -o keys.kbk        (restore on any machine: keysafe restore keys.kbk))";

}  // namespace

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        Environment env) {
  Context ctx{out, err, std::move(env), {}};
  CLI::App app{"keysafe: server keys, requests and certificates in one encrypted keystore",
               "keysafe"};
  app.footer(k_footer);
  app.require_subcommand(1);
  app.fallthrough();  // global options are accepted after the command name too
  app.set_version_flag("--version", "keysafe 0.1.0");
  app.add_option("--store", ctx.options.store,
                 "keystore file (default: $KEYSAFE_STORE, else "
                 "$XDG_DATA_HOME/keysafe/keystore.db)")
      ->type_name("PATH");
  app.add_flag("--json", ctx.options.json, "machine-readable output (docs/JSON.md)");
  app.add_flag("--yes,-y", ctx.options.yes, "confirm risky actions without asking");
  app.add_flag("--verbose,-v", ctx.options.verbose, "show OpenSSL's error details");
  app.add_option("--passphrase-file", ctx.options.passphrase_file,
                 "read the store passphrase from FILE (one trailing newline ignored)")
      ->type_name("FILE");
  app.add_option("--passphrase-fd", ctx.options.passphrase_fd,
                 "read the store passphrase from file descriptor N (closed once read)")
      ->type_name("N");

  app.add_option("--key-file", ctx.options.key_file,
                 "unlock the store with this key file instead of the passphrase (else "
                 "KEYSAFE_KEY_FILE; see keysafe passwd --add-key-file)")
      ->type_name("FILE");

  std::map<CLI::App*, Action> actions;
  for (const auto& spec : commands()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
    actions[sub] = spec.setup(*sub);
  }

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    out << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    out << e.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11 reports a subcommand's --help as CallForHelp too; anything else is a usage error.
    const Error usage(Errc::Usage, e.what(), "", "see: keysafe --help, or keysafe COMMAND --help");
    render_error(usage, out, err, ctx.options.json, false);
    return exit_code_for(Errc::Usage);
  }

  try {
    for (auto* sub : app.get_subcommands()) return actions.at(sub)(ctx);
    return exit_code_for(Errc::Usage);
  } catch (const Error& e) {
    render_error(ctx.with_fixes(e), out, err, ctx.options.json, ctx.options.verbose);
    return exit_code_for(e.code());
  } catch (const std::exception& e) {
    const Error internal(Errc::Internal, std::string("unexpected failure: ") + e.what(), "",
                         "please report this as a keysafe bug");
    render_error(internal, out, err, ctx.options.json, ctx.options.verbose);
    return exit_code_for(Errc::Internal);
  }
}

}  // namespace keysafe::cli
