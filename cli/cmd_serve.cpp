// keysafe serve: the store over HTTPS, as a JSON API and a web page (server/, docs/API.md).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

#include "commands.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/inventory.hpp"
#include "keysafe/ops/serve_tokens.hpp"
#include "render.hpp"
#include "serve_command.hpp"

namespace keysafe::cli {
namespace {

ServeRunner g_runner = nullptr;

// keysafe-serve beside this executable (a build tree, or both in bin/), else where
// `cmake --install` puts it.
std::filesystem::path serve_helper() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw Error(Errc::Internal, "cannot tell where keysafe is installed", ec.message());
  for (const auto& candidate : {self.parent_path() / "keysafe-serve",
                                self.parent_path() / ".." / "libexec" / "keysafe" / "keysafe-serve"})
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  throw Error(Errc::Internal, "keysafe-serve is not installed",
              "keysafe serve runs the program keysafe-serve, looked for beside " +
                  self.string() + " and in ../libexec/keysafe/",
              "install keysafe again (cmake --install), which installs keysafe-serve");
}

// The same arguments, as the kernel has them (nothing was read from --passphrase-fd yet).
[[noreturn]] void exec_serve_helper() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t at = 0; at < raw.size();) {
    const auto end = raw.find('\0', at);
    args.push_back(raw.substr(at, end - at));
    if (end == std::string::npos) break;
    at = end + 1;
  }
  const auto helper = serve_helper();
  if (args.empty()) args.emplace_back();
  args[0] = helper.string();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execv(helper.c_str(), argv.data());
  throw Error(Errc::Io, "cannot start " + helper.string(), std::strerror(errno),
              "install keysafe again (cmake --install)");
}

struct TokenArgs {
  std::string name;
  std::string expires;
  std::string file;
};

nlohmann::json token_json(const store::ServeTokenRecord& t, std::int64_t now) {
  return {{"name", t.name},
          {"state", ops::serve_token_state(t, now)},
          {"created_at", time_or_null(t.created_at)},
          {"expires_at", time_or_null(t.expires_at)},
          {"revoked_at", time_or_null(t.revoked_at)}};
}

// keysafe serve token create|list|revoke: run by keysafe itself (no exec of keysafe-serve).
struct TokenCommands {
  CLI::App* token = nullptr;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* revoke = nullptr;
  std::shared_ptr<TokenArgs> args = std::make_shared<TokenArgs>();
};

TokenCommands setup_token(CLI::App& cmd) {
  TokenCommands t;
  t.token = cmd.add_subcommand("token", "read-only bearer tokens for scripts: create, list, revoke");
  t.token->require_subcommand(1);
  auto& a = *t.args;
  t.create = t.token->add_subcommand(
      "create", "make a read-only bearer token; the bare token goes to a new file (0600)");
  t.create->add_option("NAME", a.name, "the token's name (letters, digits, '.', '-', '_')")
      ->required();
  t.create->add_option("--expires", a.expires, "days until it expires (default: until revoked)")
      ->type_name("DAYS");
  t.create->add_option("-o,--output", a.file,
                       "where to write the token (0600, never over an existing file or symlink)")
      ->required()
      ->type_name("FILE");
  t.create->footer(R"FOOTER(
The store keeps only the token's SHA-256. A request with "Authorization: Bearer TOKEN" may use
every GET route of the API (list, show, check, audit, deployments, status) without a session;
any write with a token is refused (403). A revoked or expired token gets 401. Needs the store
passphrase; audited.

EXAMPLES:
  keysafe serve token create monitoring --expires 90 -o /etc/keysafe/monitoring.token
  curl --cacert STORE.serve-127.0.0.1.crt -H "Authorization: Bearer $(cat /etc/keysafe/monitoring.token)" \
    https://127.0.0.1:8443/api/v1/entries?expiring=30)FOOTER");
  t.list = t.token->add_subcommand("list", "list the tokens and their state (no passphrase needed)");
  t.revoke = t.token->add_subcommand("revoke", "revoke a token at once (it stays listed)");
  t.revoke->add_option("NAME", a.name, "the token")->required();
  return t;
}

int run_token(Context& ctx, const TokenCommands& t) {
  const auto& a = *t.args;
  const std::int64_t now = ctx.env.now();
  if (t.create->parsed()) {
    std::optional<std::int64_t> days;
    if (!a.expires.empty()) days = ops::parse_days(a.expires);
    auto store = ctx.open_store();
    ctx.unlock(store);
    const auto made = ops::create_serve_token(store, a.name, days, a.file, now);
    if (ctx.options.json) {
      auto j = token_json(made.record, now);
      j["file"] = made.file.string();
      ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    ctx.out << "created the serve token \"" << made.record.name << "\" ("
            << (made.record.expires_at ? "expires " + ops::format_rfc3339(*made.record.expires_at)
                                       : std::string("until revoked"))
            << "); the token is in " << made.file.string() << " (0600)\n";
    return 0;
  }
  if (t.list->parsed()) {
    auto store = ctx.open_store_for_listing();
    const auto tokens = ops::list_serve_tokens(store);
    if (ctx.options.json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& x : tokens) arr.push_back(token_json(x, now));
      ctx.out << arr.dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    if (tokens.empty())
      ctx.out << ctx.fixes("no serve tokens: keysafe serve token create NAME -o FILE\n");
    for (const auto& x : tokens)
      ctx.out << x.name << "  " << ops::serve_token_state(x, now) << "  created "
              << ops::format_rfc3339(x.created_at) << "  expires "
              << (x.expires_at ? ops::format_rfc3339(*x.expires_at) : std::string("never"))
              << '\n';
    return 0;
  }
  auto store = ctx.open_store();
  ctx.unlock(store);
  const auto r = ops::revoke_serve_token(store, a.name, now);
  if (ctx.options.json) {
    ctx.out << token_json(r, now).dump(2, ' ', false, k_invalid_utf8) << '\n';
    return 0;
  }
  ctx.out << "revoked the serve token \"" << r.name << "\" (" << ops::format_rfc3339(*r.revoked_at)
          << ")\n";
  return 0;
}

}  // namespace

void set_serve_runner(ServeRunner runner) { g_runner = runner; }

Action setup_serve(CLI::App& cmd) {
  auto request = std::make_shared<ServeRequest>();
  const TokenCommands tokens = setup_token(cmd);
  cmd.add_option("--listen", request->listen, "address and port (default 127.0.0.1:8443)")
      ->type_name("ADDR:PORT");
  cmd.add_option("--tls-entry", request->tls_entry,
                 "present this entry's certificate (its key needs the store passphrase or a "
                 "key file at start); required for a non-loopback address")
      ->type_name("NAME");
  cmd.add_option("--idle-timeout", request->idle_timeout,
                 "lock a session idle this many minutes (default 15; \"30s\": seconds)")
      ->type_name("MIN");
  cmd.add_option("--max-body", request->max_body,
                 "largest request body in bytes (default 1048576)")
      ->type_name("BYTES");
  cmd.footer(R"(
HTTPS only. Without --tls-entry, the first start makes a self-signed key and certificate for
the listen name, kept beside the store (STORE.serve-HOST.key and .crt, 0600) and reused on
later starts; its SHA-256 fingerprint is printed so that clients can pin it. The store stays
locked until a user unlocks a session (POST /api/v1/session, or the page at /). Runs in the
foreground, one log line per request (method, path, status, time; never bodies), until
SIGTERM or SIGINT (exit 0). The API is described in docs/API.md and served at
/api/v1/openapi.json. Scripts read it with a bearer token (keysafe serve token create).

EXAMPLES:
  keysafe serve
  keysafe serve --listen 127.0.0.1:9443 --idle-timeout 5
  keysafe serve --listen 192.0.2.10:443 --tls-entry keys.example.com --key-file /etc/keysafe/serve.key
  keysafe serve token create monitoring --expires 90 -o monitoring.token)");
  return [request, tokens](Context& ctx) {
    if (tokens.token->parsed()) return run_token(ctx, tokens);
    if (g_runner != nullptr) return g_runner(ctx, *request);
    exec_serve_helper();
  };
}

}  // namespace keysafe::cli
