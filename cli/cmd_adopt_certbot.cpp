// keysafe adopt certbot: certbot's lineages taken over (entries, ACME accounts and settings,
// deployments of the live files), and --release NAME to give one back.
#include <ctime>
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/adopt_certbot.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

constexpr const char* k_env_acme_ca_file = "KEYSAFE_ACME_CA_FILE";

struct CertbotArgs {
  std::string config_dir;
  std::string release;
  std::string directory_ca_file;
  bool dry_run = false;
};

std::string day_of(std::int64_t t) {
  char buf[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

nlohmann::json null_if_empty(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

nlohmann::json plan_json(const ops::CertbotPlan& plan, bool dry_run) {
  nlohmann::json lineages = nlohmann::json::array();
  for (const auto& l : plan.lineages) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : l.files)
      files.push_back({{"path", f.path}, {"role", f.role}, {"holds", f.holds}, {"sha256", f.sha256}});
    lineages.push_back({{"name", l.name},
                        {"renewal_conf", null_if_empty(l.renewal_conf)},
                        {"entry", null_if_empty(l.entry)},
                        {"action", null_if_empty(l.action)},
                        {"subject", l.subject},
                        {"dns", l.dns},
                        {"not_after", l.not_after},
                        {"fingerprint_sha256", l.fingerprint_sha256},
                        {"authenticator", null_if_empty(l.authenticator)},
                        {"server", null_if_empty(l.server)},
                        {"key_type", null_if_empty(l.key_type)},
                        {"challenge", null_if_empty(l.challenge)},
                        {"challenge_param", null_if_empty(l.challenge_param)},
                        {"takes_over_renewal", l.takes_over_renewal && l.problem.empty()},
                        {"account", null_if_empty(l.account)},
                        {"account_url", null_if_empty(l.account_url)},
                        {"account_dir", null_if_empty(l.account_dir)},
                        {"account_action", null_if_empty(l.account_action)},
                        {"target", null_if_empty(l.target)},
                        {"files", files},
                        {"notes", l.notes},
                        {"adopted", l.problem.empty() && !dry_run},
                        {"problem", null_if_empty(l.problem)}});
  }
  return {{"server", "certbot"},
          {"config_dir", plan.config_dir},
          {"dry_run", dry_run},
          {"directory_ca_file", null_if_empty(plan.directory_ca_file)},
          {"lineages", lineages},
          {"adoptable", plan.adoptable()},
          {"not_adoptable", plan.lineages.size() - plan.adoptable()}};
}

void print_plan(std::ostream& out, const ops::CertbotPlan& plan, bool dry_run) {
  out << (dry_run ? "would adopt from " : "adopted from ") << "certbot configuration " << plan.config_dir << ":\n";
  for (const auto& l : plan.lineages) {
    out << "\n  lineage " << l.name << "\n";
    if (!l.problem.empty()) {
      out << "    NOT ADOPTED: " << l.problem << "\n";
      continue;
    }
    out << "    entry " << l.entry << ": "
        << (l.action == "create" ? "new entry"
            : l.action == "link" ? "already in the store (linked, not duplicated)"
                                 : "the same key as an earlier lineage")
        << "\n    certificate " << l.subject << ", expires " << day_of(l.not_after) << ", key matches\n";
    for (const auto& f : l.files) out << "    " << f.path << " (" << f.role << "): " << f.holds << "\n";
    if (l.takes_over_renewal)
      out << "    renewal: keysafe renew, ACME account " << l.account << " ("
          << (l.account_action == "import" ? "certbot's, " + std::string(dry_run ? "to be confirmed" : "confirmed") +
                                                 " by the CA"
                                           : std::string("in the store already"))
          << ") at " << l.server << ", " << l.challenge << " " << l.challenge_param << "\n"
          << "    " << l.renewal_conf << (dry_run ? " would be renamed to " : " renamed to ") << l.name
          << ".conf" << ops::k_certbot_adopted_suffix << "\n";
    else
      out << "    renewal: stays with certbot\n";
    for (const auto& n : l.notes) out << "    note: " << n << "\n";
  }
  out << "\n" << plan.adoptable() << " of " << plan.lineages.size() << " lineages "
      << (dry_run ? "can be adopted" : "adopted") << "\n";
}

}  // namespace

CLI::App* add_adopt_certbot(CLI::App& adopt, Action& action) {
  auto a = std::make_shared<CertbotArgs>();
  auto* certbot = adopt.add_subcommand(
      "certbot", "take over certbot's lineages: keys, certificates, ACME accounts, renewal");
  certbot->add_option("--config-dir", a->config_dir, "certbot's configuration directory (default /etc/letsencrypt)")
      ->type_name("DIR");
  certbot->add_flag("--dry-run", a->dry_run, "show the plan; change nothing");
  certbot->add_option("--release", a->release,
                      "give the lineage's renewal back to certbot (renames its renewal file back)")
      ->type_name("NAME");
  certbot->add_option("--directory-ca-file", a->directory_ca_file,
                      "PEM trust anchors for the ACME server's HTTPS, stored with the imported accounts "
                      "(also KEYSAFE_ACME_CA_FILE; default: the system's)")
      ->type_name("FILE");
  certbot->footer(R"(
Every lineage under DIR/live becomes an entry named after it: its key, certificate and chain
imported (live/NAME/*.pem, following only certbot's own links into DIR/archive/NAME; nothing
outside DIR is read), and a deployment of its live files (layout "files": cert, chain,
fullchain, privkey; renew and deploy write regular files where certbot's links were, renamed
over them; files another deployment records already, e.g. by keysafe adopt nginx, are left to
it). From renewal/NAME.conf: the ACME server, the account and the authenticator. webroot
becomes --webroot DIR, standalone becomes --http-listen ADDR:PORT (certbot's http01_port,
default 80, on every address); other authenticators are adopted without renewal settings and
certbot keeps renewing them. The account (accounts/.../private_key.json, a JWK, and its URL in
regr.json) is checked at the CA (newAccount with onlyReturnExisting: no new registration) and
stored as certbot-ID, its key sealed. Then renewal/NAME.conf is renamed to
NAME.conf.adopted-by-keysafe, so certbot no longer renews it; keysafe renew NAME does.
--release NAME renames it back and removes the entry's ACME settings (the entry, account and
deployments stay). Off a terminal, --yes is required. Exit 0 when every lineage was adopted,
1 when some were not (each listed with its reason).

EXAMPLES:
  keysafe adopt certbot --dry-run
  keysafe adopt certbot --yes
  keysafe renew www.example.com
  keysafe adopt certbot --release www.example.com)");
  action = [a](Context& ctx) {
      const std::string config_dir = a->config_dir.empty() ? "/etc/letsencrypt" : a->config_dir;
      const std::int64_t now = ctx.env.now();
      auto store = ctx.open_store();
      if (!a->release.empty()) {
        const auto r = ops::release_certbot_lineage(store, config_dir, a->release, now);
        if (ctx.options.json) {
          ctx.out << nlohmann::json{{"name", r.name}, {"restored", r.restored}, {"entry", null_if_empty(r.entry)},
                                    {"kept", r.kept}}
                         .dump(2, ' ', false, k_invalid_utf8)
                  << '\n';
        } else {
          ctx.out << "released the lineage " << r.name << ": " << r.restored << " is back, certbot renews it\n";
          for (const auto& k : r.kept) ctx.out << "  kept: " << k << "\n";
        }
        return 0;
      }
      ops::CertbotOptions options;
      options.now = now;
      if (!a->directory_ca_file.empty())
        options.directory_ca_file = a->directory_ca_file;
      else if (auto env = ctx.env.getenv(k_env_acme_ca_file); env && !env->empty())
        options.directory_ca_file = *env;
      auto plan = ops::plan_adopt_certbot(store, config_dir, options);
      if (!a->dry_run && plan.adoptable() > 0 && !ctx.options.yes) {
        print_plan(ctx.err, plan, true);
        const auto answer = ctx.env.confirm("adopt " + std::to_string(plan.adoptable()) + " lineages?");
        if (!answer)
          throw Error(Errc::Refused, "refusing to adopt without --yes", "there is no terminal to confirm the plan on",
                      "check the plan with --dry-run, then add --yes");
        if (!*answer) throw Error(Errc::Refused, "nothing was adopted", "the plan was not confirmed", "");
      }
      std::vector<std::string> backups;
      if (!a->dry_run && plan.adoptable() > 0) {
        ctx.unlock(store);  // the keys and the accounts' keys are sealed
        ops::apply_adopt_certbot(store, plan, now);
        if (auto backup_config = ops::auto_backup_config(store))
          for (const auto& l : plan.lineages)
            if (l.problem.empty() && l.action == "create")
              backups.push_back(ops::auto_backup(store, *backup_config, l.entry, now).string());
      }
      if (ctx.options.json) {
        auto j = plan_json(plan, a->dry_run);
        j["backup_files"] = backups;
        ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
      } else {
        print_plan(ctx.out, plan, a->dry_run);
        for (const auto& b : backups) ctx.out << "automatic backup written to " << b << '\n';
      }
      return plan.adoptable() == plan.lineages.size() ? 0 : 1;
  };
  return certbot;
}

}  // namespace keysafe::cli
