// keysafe host add|list|show|remove: the hosts of a fleet and their keys.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/fleet.hpp"
#include "keysafe/shell_word.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

nlohmann::json optional_json(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
}

nlohmann::json assignment_json(const store::AssignmentRecord& a) {
  return {{"entry", a.entry},         {"host", a.host},
          {"target_dir", a.target_dir}, {"layout", a.layout},
          {"test_cmd", optional_json(a.test_cmd)},
          {"reload_cmd", optional_json(a.reload_cmd)},
          {"probe", optional_json(a.probe)},
          {"sni", optional_json(a.sni)},
          {"assigned_at", time_or_null(a.assigned_at)}};
}

nlohmann::json host_json(const ops::HostView& v, bool detail) {
  nlohmann::json j = {{"name", v.host.name},
                      {"algorithm", v.host.algorithm},
                      {"public_key_sha256", v.host.public_key_sha256},
                      {"role", optional_json(v.host.role)},
                      {"created_at", time_or_null(v.host.created_at)},
                      {"assignments", v.assignments.size()}};
  if (!detail) return j;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : v.assignments) list.push_back(assignment_json(a));
  j["assignments"] = list;
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : v.events)
    events.push_back({{"at", time_or_null(e.at)},
                      {"action", e.action},
                      {"entry", e.entry},
                      {"detail", e.detail}});
  j["events"] = events;
  return j;
}

struct HostArgs {
  std::string name;
  std::string key_out;
  std::optional<std::string> role;
  bool keep_role = false;
};

}  // namespace

Action setup_host(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto a = std::make_shared<HostArgs>();
  auto* add = cmd.add_subcommand("add", "add a host: a new X25519 key pair, its private half to a file");
  add->add_option("NAME", a->name, "the host's name (letters, digits, '.', '-', '_')")->required();
  add->add_option("--key-out", a->key_out,
                  "where to write the host's private key (0600, never over an existing file); "
                  "place it on the host, e.g. /etc/keysafe/host.key")
      ->required()
      ->type_name("FILE");
  add->add_option("--role", a->role,
                  "PostgreSQL: the login role the host's agent uses (default keysafe_host_NAME, "
                  "created with its grants when this connection may create roles; an existing "
                  "role only when named)")
      ->type_name("ROLE");
  add->footer(R"(
The public half stays in the store; entries assigned to the host are sealed to it, so the
host's key opens that host's keys and nothing else. FILE also holds the store's fleet signing
public key, with which the agent checks that its assignments come from the store's admins.
The first host added creates that signing key. Needs the store passphrase. See docs/FLEET.md.

EXAMPLES:
  keysafe host add web1 --key-out web1.key
  scp web1.key root@web1:/etc/keysafe/host.key && shred -u web1.key)");
  auto* rotate = cmd.add_subcommand(
      "rotate", "give a host a new key pair; its assignments are sealed to the new key");
  rotate->add_option("NAME", a->name, "the host")->required();
  rotate->add_option("--key-out", a->key_out,
                     "where to write the host's new private key (0600, never over a file)")
      ->required()
      ->type_name("FILE");
  rotate->footer(R"(
Replaces the host's key pair: every entry assigned to it is sealed again to the new public key
and its assignment signed again, in one transaction, and the host's reports stay (its files
remain its own). From then on the old host key opens nothing in the store; replace the file on
the host. If the old key leaked, the keys it could open did too: renew them (keysafe renew
NAME) and the host's agent deploys the new ones. Needs the store passphrase.

EXAMPLES:
  keysafe host rotate web1 --key-out web1.key
  scp web1.key root@web1:/etc/keysafe/host.key && shred -u web1.key
  keysafe renew www.example.com)");
  auto* list = cmd.add_subcommand("list", "list the hosts (no passphrase needed)");
  list->footer(R"(
EXAMPLES:
  keysafe host list
  keysafe host list --json | jq -r '.[].name')");
  auto* show = cmd.add_subcommand("show", "show a host, its assignments and recent agent events");
  show->add_option("NAME", a->name, "the host")->required();
  auto* remove = cmd.add_subcommand(
      "remove", "remove a host with its assignments (the keys it held may still be on it)");
  remove->add_option("NAME", a->name, "the host")->required();
  remove->add_flag("--keep-role", a->keep_role,
                   "PostgreSQL: take the host role's grants back but keep the role");
  remove->footer(R"(
Removes the host, its assignments and the sealed copies of their keys from the store. The
host keeps whatever it deployed: renew the entries it held (keysafe renew NAME) if the host
was lost or compromised. Needs the store passphrase.

On PostgreSQL the host's login role loses its grants and is dropped in the same transaction
(--keep-role keeps the role itself); a connection that may not manage roles prints the SQL
for a database administrator instead.)");

  return [a, add, rotate, list, show](Context& ctx) {
    const std::int64_t now = ctx.env.now();
    if (rotate->parsed()) {
      auto store = ctx.open_store();
      ctx.unlock(store);
      const auto r = ops::rotate_host(store, a->name, a->key_out, now);
      const auto held = ops::show_host(store, a->name).assignments;
      if (ctx.options.json) {
        ctx.out << nlohmann::json{{"name", r.host.name},
                                  {"public_key_sha256", r.host.public_key_sha256},
                                  {"key_file", r.key_file.string()},
                                  {"assignments", held.size()}}
                       .dump(2, ' ', false, k_invalid_utf8)
                << '\n';
        return 0;
      }
      ctx.out << "host \"" << r.host.name << "\" has a new key (x25519, public key sha-256 "
              << r.host.public_key_sha256 << "); " << held.size()
              << " assignment(s) sealed to it\n"
              << "  its private key is in " << r.key_file.string()
              << " (mode 0600): replace the host's key file with it; the old one opens nothing now\n";
      if (!held.empty()) {
        ctx.out << "  if the old key leaked, so did the keys it could open; renew them:\n";
        for (const auto& as : held)
          ctx.out << ctx.fixes("    keysafe renew " + shell_quote(as.entry) + "\n");
      }
      return 0;
    }
    if (add->parsed()) {
      auto store = ctx.open_store();
      ctx.unlock(store);
      const auto r = ops::add_host(store, a->name, a->key_out, now, a->role);
      if (ctx.options.json) {
        ctx.out << nlohmann::json{{"name", r.host.name},
                                  {"algorithm", r.host.algorithm},
                                  {"public_key_sha256", r.host.public_key_sha256},
                                  {"key_file", r.key_file.string()},
                                  {"signing_key_created", r.signing_key_created},
                                  {"role", r.host.role ? nlohmann::json(*r.host.role)
                                                       : nlohmann::json(nullptr)},
                                  {"role_created", r.role_created},
                                  {"role_sql", r.role_created ? std::vector<std::string>{}
                                                              : r.role_sql}}
                       .dump(2, ' ', false, k_invalid_utf8)
                << '\n';
        return 0;
      }
      ctx.out << "added host \"" << r.host.name << "\" (x25519, public key sha-256 "
              << r.host.public_key_sha256 << ")\n"
              << "  its private key is in " << r.key_file.string()
              << " (mode 0600): copy it to the host (/etc/keysafe/host.key), then delete it here\n"
              << "  whoever holds that file can open every key assigned to this host\n";
      if (r.signing_key_created)
        ctx.out << "  created the store's fleet signing key (the agent checks assignments with it)\n";
      if (r.host.role && r.role_created)
        ctx.out << "  its agent logs in as the database role " << *r.host.role
                << " (created; row-level security shows it only this host's rows)\n";
      if (r.host.role && !r.role_created) {
        ctx.out << "  this connection may not create roles: have a database administrator run\n";
        for (const auto& sql : r.role_sql) ctx.out << "    " << sql << ";\n";
      }
      ctx.out << ctx.fixes("  next: keysafe assign ENTRY --host " + r.host.name +
                           " --to DIR --layout nginx\n");
      return 0;
    }
    if (list->parsed()) {
      auto store = ctx.open_store_for_listing();
      const auto hosts = ops::list_hosts(store);
      if (ctx.options.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& h : hosts) arr.push_back(host_json(h, false));
        ctx.out << arr.dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      if (hosts.empty()) ctx.out << ctx.fixes("no hosts: keysafe host add NAME --key-out FILE\n");
      for (const auto& h : hosts)
        ctx.out << h.host.name << "  x25519 " << h.host.public_key_sha256.substr(0, 16) << "...  "
                << h.assignments.size() << " assignment(s)\n";
      return 0;
    }
    if (show->parsed()) {
      auto store = ctx.open_store_for_listing();
      const auto v = ops::show_host(store, a->name);
      if (ctx.options.json) {
        ctx.out << host_json(v, true).dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      ctx.out << "host " << v.host.name << "\n  public key  x25519, sha-256 "
              << v.host.public_key_sha256 << "\n  added       "
              << ops::format_rfc3339(v.host.created_at) << "\n";
      if (v.assignments.empty()) ctx.out << "  no assignments\n";
      for (const auto& as : v.assignments)
        ctx.out << "  serves      " << as.entry << " from " << as.target_dir << " (" << as.layout
                << (as.probe ? ", probe " + *as.probe : std::string()) << ")\n";
      for (const auto& e : v.events)
        ctx.out << "  " << ops::format_rfc3339(e.at) << "  " << e.action
                << (e.entry.empty() ? "" : " " + e.entry) << ": " << e.detail << '\n';
      return 0;
    }
    auto store = ctx.open_store();
    ctx.unlock(store);
    const auto r = ops::remove_host(store, a->name, now, a->keep_role);
    const auto& v = r.removed;
    std::vector<std::string> held;
    for (const auto& as : v.assignments) held.push_back(as.entry);
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"removed", v.host.name},
                                {"entries", held},
                                {"role", v.host.role ? nlohmann::json(*v.host.role)
                                                     : nlohmann::json(nullptr)},
                                {"role_removed", r.role_removed},
                                {"role_dropped", r.role_removed && !a->keep_role &&
                                                     r.role_kept_because.empty()},
                                {"role_kept_because", r.role_kept_because.empty()
                                                          ? nlohmann::json(nullptr)
                                                          : nlohmann::json(r.role_kept_because)},
                                {"role_sql", r.role_removed ? std::vector<std::string>{}
                                                            : r.role_sql}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << "removed host \"" << v.host.name << "\" and its " << held.size()
            << " assignment(s)\n";
    if (v.host.role && r.role_removed && !r.role_kept_because.empty())
      ctx.out << "  its database role " << *v.host.role
              << " lost its grants here but was kept: " << r.role_kept_because
              << "\n  revoke them there, then: DROP ROLE " << store::quote_identifier(*v.host.role)
              << ";\n";
    else if (v.host.role && r.role_removed)
      ctx.out << "  its database role " << *v.host.role
              << (a->keep_role ? " lost its grants (kept)\n" : " was dropped\n");
    if (v.host.role && !r.role_removed && !r.role_sql.empty()) {
      ctx.out << "  this connection may not manage roles: have a database administrator run\n";
      for (const auto& sql : r.role_sql) ctx.out << "    " << sql << ";\n";
    }
    if (!held.empty()) {
      ctx.out << "  the keys it held may still be on it; if the host was lost or compromised, "
                 "renew them:\n";
      for (const auto& e : held) ctx.out << ctx.fixes("    keysafe renew " + shell_quote(e) + "\n");
    }
    return 0;
  };
}

}  // namespace keysafe::cli
