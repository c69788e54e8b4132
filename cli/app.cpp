// Parsing global options and the command, running it, rendering errors in one place.
#include "app.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <ostream>

#include "commands.hpp"
#include "keysafe/ossl/errors.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

constexpr const char* k_footer = R"(keysafe help COMMAND (or keysafe COMMAND --help): its options and examples.

Store passphrase: asked on the terminal (no echo), or read from
--passphrase-file FILE, --passphrase-fd N, or KEYSAFE_PASSPHRASE (weaker: the
environment of a process can be read by its owner). Never on the command line.
Commands that only read certificates (list, show, request) never ask for it.

Exit codes: 0 ok, 1 failed, 2 usage, 3 wrong passphrase or password, 4 keystore
unusable, 5 no stored key matches / a request given as a certificate, 6 refused
(exists, needs --force/--yes/--allow-weak/--weak-passphrase); check: 7 warnings (--strict), 8 damaged;
list --expiring: 10 expiring, 11 expired; status: 12 stale, 13 unreachable;
renew --all: 14 something failed. See docs/EXIT-CODES.md.

Walk-through:
  keysafe init
  keysafe create www.example.com --dns www.example.com --dns example.com
  (send www.example.com.req to your CA)
  keysafe install certificate-from-ca.pem
  keysafe list --expiring 30
  keysafe backup --all -o keys.kbk        (restore on any machine: keysafe restore keys.kbk))";

// Adds every command under its --help heading: the headings in help_groups() order, then the
// commands of no group. Hidden commands (help-man, completion) clear their group in setup.
std::map<CLI::App*, Action> add_commands(CLI::App& app) {
  std::vector<const CommandSpec*> specs;
  for (const auto& spec : commands()) specs.push_back(&spec);
  std::map<CLI::App*, Action> actions;
  const auto add = [&](const CommandSpec& spec, const char* heading) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
    sub->group(heading);
    actions[sub] = spec.setup(*sub);
  };
  for (const auto& group : help_groups()) {
    for (const char* name : group.commands) {
      const auto it = std::find_if(specs.begin(), specs.end(), [&](const CommandSpec* s) {
        return std::string_view(s->name) == name;
      });
      if (it == specs.end()) continue;
      add(**it, group.heading);
      specs.erase(it);
    }
  }
  for (const auto* spec : specs) add(*spec, k_other_commands);
  return actions;
}

// Edits needed to turn one word into the other, a swap of two neighbours counting as one
// ("lsit" is one from "list"): the optimal string alignment distance.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The command the user most likely meant: the only one the word begins, else the nearest
// within two edits (one for words of three letters or less), else none.
std::optional<std::string> nearest_command(const std::string& word,
                                           const std::vector<std::string>& names) {
  std::vector<std::string> prefixed;
  for (const auto& n : names)
    if (n.size() > word.size() && n.compare(0, word.size(), word) == 0) prefixed.push_back(n);
  if (prefixed.size() == 1 && word.size() >= 2) return prefixed.front();
  const std::size_t limit = word.size() <= 3 ? 1 : 2;
  std::optional<std::string> best;
  std::size_t best_distance = limit + 1;
  for (const auto& n : names) {
    const auto distance = edit_distance(word, n);
    if (distance < best_distance) {
      best = n;
      best_distance = distance;
    }
  }
  return best;
}

// Where the words name commands: the command path the words select, and the first word that
// names no command where one is needed (the root, or a command such as `ca` that requires one).
struct CommandWords {
  std::vector<std::size_t> path;  // indices of the command words, outermost first
  CLI::App* selected = nullptr;   // the innermost command named (the root when none)
  std::optional<std::size_t> unknown;
};

CommandWords find_command_words(CLI::App& root, const std::vector<std::string>& args) {
  CommandWords found;
  found.selected = &root;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() > 1 && arg[0] == '-') {
      // An option: skip its value when it takes one and it is not attached (--store=X, -oX).
      if (arg.find('=') != std::string::npos || (arg[1] != '-' && arg.size() > 2)) continue;
      for (CLI::App* app = found.selected; app != nullptr; app = app->get_parent()) {
        const CLI::Option* o = app->get_option_no_throw(arg);
        if (o == nullptr) continue;
        if (o->get_items_expected_max() > 0) ++i;
        break;
      }
      continue;
    }
    const auto named = found.selected->get_subcommands([&](CLI::App* a) { return a->check_name(arg); });
    if (!named.empty()) {
      found.selected = named.front();
      found.path.push_back(i);
      continue;
    }
    const bool needs_command =
        found.selected == &root || found.selected->get_require_subcommand_min() > 0;
    if (needs_command && !found.selected->get_subcommands([](CLI::App*) { return true; }).empty())
      found.unknown = i;
    break;
  }
  return found;
}

Error unknown_command(const CLI::App& parent, const std::string& word, const std::string& prefix) {
  std::vector<std::string> names;
  for (const CLI::App* sub : parent.get_subcommands([](const CLI::App* a) {
         return !a->get_group().empty();
       }))
    names.push_back(sub->get_name());
  if (parent.get_parent() == nullptr) names.push_back("help");
  const auto guess = nearest_command(word, names);
  const std::string list = prefix.empty() ? "keysafe help" : "keysafe " + prefix + " --help";
  return Error(Errc::Usage,
               "unknown command \"" + (prefix.empty() ? "" : prefix + " ") + word + "\"", "",
               guess ? "did you mean \"" + (prefix.empty() ? "" : prefix + " ") + *guess +
                           "\"? (" + list + " lists the commands)"
                     : list + " lists the commands");
}

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

  std::map<CLI::App*, Action> actions = add_commands(app);

  // `keysafe help [COMMAND...]` is `keysafe [COMMAND...] --help`; bare `keysafe` (or a command
  // such as `ca` without its subcommand) prints the help of what was named, exit 0; a word that
  // names no command gets a suggestion, exit 2.
  std::vector<std::string> words = args;
  auto where = find_command_words(app, words);
  if (where.unknown && words[*where.unknown] == "help" && where.path.empty()) {
    words.erase(words.begin() + static_cast<std::ptrdiff_t>(*where.unknown));
    words.push_back("--help");
    where = find_command_words(app, words);
  }
  if (where.unknown) {
    std::string prefix;
    for (const auto i : where.path) prefix += (prefix.empty() ? "" : " ") + words[i];
    const bool json = std::find(words.begin(), words.end(), "--json") != words.end();
    render_error(unknown_command(*where.selected, words[*where.unknown], prefix), out, err, json,
                 false);
    return exit_code_for(Errc::Usage);
  }
  if (where.selected->get_require_subcommand_min() > 0 &&
      std::find(words.begin(), words.end(), "--version") == words.end())
    words.push_back("--help");

  std::vector<std::string> reversed(words.rbegin(), words.rend());
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
