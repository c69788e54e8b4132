// keysafe selfsign: a stored key gets a self-signed certificate (internal sites, tests).
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/clock.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_selfsign(CLI::App& cmd) {
  auto name = std::make_shared<std::string>();
  auto days = std::make_shared<std::int64_t>(365);
  auto profile = std::make_shared<std::string>("server");
  cmd.add_option("NAME", *name, "the stored entry (made by keysafe create)")->required();
  cmd.add_option("--days", *days, "validity in days (default 365)")->type_name("N");
  cmd.add_option("--profile", *profile, "server (default) or client");
  cmd.footer(R"(
The certificate carries the subject and names of the entry's request, basicConstraints
CA:FALSE, keyUsage, extendedKeyUsage and SKI/AKI, and becomes the entry's current
certificate. Clients trust it only if told to: for anything shared, prefer a local CA
(keysafe ca init, keysafe ca sign).

EXAMPLES:
  keysafe create test.internal --dns test.internal && keysafe selfsign test.internal
  keysafe selfsign test.internal --days 30 --json)");
  return [name, days, profile](Context& ctx) {
    const auto p = x509::parse_leaf_profile(*profile);
    if (!p)
      throw Error(Errc::Usage, "\"" + *profile + "\" is not a certificate profile",
                  "profiles: server (serverAuth) and client (clientAuth)", "--profile server");
    ops::IssueOptions o;
    o.profile = *p;
    o.days = *days;
    o.now = ctx.env.now();
    auto store = ctx.open_store();
    if (!store.key_by_name(*name))
      throw Error(Errc::NotFound, "no entry named \"" + *name + "\"",
                  "the store has no entry of that name",
                  "make one with: keysafe create " + *name + " --dns " + *name);
    ctx.unlock(store);
    const auto r = ops::selfsign(store, *name, o);
    std::optional<std::filesystem::path> backup_file;
    if (r.installed && !r.installed->already_installed)
      if (auto config = ops::auto_backup_config(store))
        backup_file = ops::auto_backup(store, *config, r.installed->name, o.now);
    const std::string entry = r.installed ? r.installed->name : *name;
    const auto& c = r.certificate;
    if (ctx.options.json) {
      nlohmann::json j{{"name", entry},
                       {"fingerprint_sha256", c.fingerprint_sha256},
                       {"subject", c.subject},
                       {"serial", c.serial_hex},
                       {"not_before", time_or_null(c.not_before)},
                       {"not_after", time_or_null(c.not_after)},
                       {"dns", c.dns},
                       {"ip", c.ip},
                       {"backup_file", backup_file ? nlohmann::json(backup_file->string())
                                                   : nlohmann::json(nullptr)}};
      if (r.installed && r.installed->replaced_entry)
        j["replaced_entry"] = *r.installed->replaced_entry;
      ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    ctx.out << "installed a self-signed certificate for \"" << entry << "\" (" << c.subject
            << ", serial " << c.serial_hex << "), valid until " << ops::format_rfc3339(c.not_after)
            << '\n';
    if (r.installed && r.installed->replaced_entry)
      ctx.out << "renewal complete: the replaced entry is now \"" << *r.installed->replaced_entry
              << "\"\n";
    if (backup_file) ctx.out << "automatic backup written to " << backup_file->string() << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
