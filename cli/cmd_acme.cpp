// keysafe acme account create|list|show|rollover|deactivate, acme issue, acme revoke: certificates from ACME CAs (docs/ACME.md).
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/acme.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/clock.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

constexpr const char* k_env_acme_ca_file = "KEYSAFE_ACME_CA_FILE";

struct AcmeArgs {
  std::string account_name;
  std::string directory;
  std::vector<std::string> emails;
  bool agree_tos = false;
  std::string key = "ec-p256";
  std::string directory_ca_file;
  std::string eab_kid;
  std::string eab_hmac_key_file;
  std::string reason = "unspecified";
  // issue
  std::string name;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::string account;
  std::string http_listen;
  std::string webroot;
  std::string dns_hook;
  std::string dns_resolver;
  std::int64_t dns_wait = 120;
  std::string preferred_chain;
};

nlohmann::json account_json(const ops::AcmeAccountView& v) {
  return {{"name", v.name},
          {"directory", v.directory_url},
          {"account_url", v.account_url},
          {"contact", v.contact},
          {"status", v.status},
          {"key_algorithm", v.key_algorithm},
          {"jwk_thumbprint", v.jwk_thumbprint},
          {"directory_ca", v.has_directory_ca},
          {"created_at", time_or_null(v.created_at)}};
}

x509::KeyAlgorithm parse_algorithm(const std::string& name, const char* allowed) {
  const auto alg = x509::parse_key_algorithm(name);
  if (!alg)
    throw Error(Errc::Usage, "\"" + name + "\" is not a key algorithm keysafe creates",
                std::string("choose ") + allowed, "for example: --key ec-p256 (the default)");
  return *alg;
}

}  // namespace

Action setup_acme(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto a = std::make_shared<AcmeArgs>();
  auto* account = cmd.add_subcommand("account", "ACME accounts: create, list, show, rollover, deactivate");
  account->require_subcommand(1);
  auto* create = account->add_subcommand(
      "create", "register an account at an ACME CA; its key is generated and sealed in the store");
  create->add_option("NAME", a->account_name, "the account's name in this store (default: default)");
  create->add_option("--directory", a->directory,
                     "the CA's ACME directory: letsencrypt, letsencrypt-staging, or an https URL")
      ->required()
      ->type_name("URL");
  create->add_option("--email", a->emails, "contact address for the CA's notices (repeat for more)")
      ->type_name("ADDR");
  create->add_flag("--agree-tos", a->agree_tos, "agree to the CA's terms of service (required)");
  create->add_option("--key", a->key, "account key: ec-p256 (default), ec-p384, rsa-2048")
      ->type_name("ALG");
  create->add_option("--directory-ca-file", a->directory_ca_file,
                     "PEM certificate(s) to trust for the directory's HTTPS instead of the system "
                     "store (also KEYSAFE_ACME_CA_FILE); stored with the account")
      ->type_name("FILE");
  auto* eab_kid = create->add_option("--eab-kid", a->eab_kid,
                                     "external account binding: the key id the CA gave")
                      ->type_name("ID");
  auto* eab_key = create->add_option("--eab-hmac-key-file", a->eab_hmac_key_file,
                                     "external account binding: a file holding the CA's HMAC key "
                                     "(base64url, as the CA gives it)")
                      ->type_name("FILE");
  eab_kid->needs(eab_key);
  eab_key->needs(eab_kid);
  create->footer(R"(
A CA that requires external account binding (its directory says externalAccountRequired)
refuses an account without --eab-kid and --eab-hmac-key-file (exit 15); the binding is an HS256
JWS over the new account's key (RFC 8555 §7.3.4), and the HMAC key is not stored.

The account key is generated in the store and sealed under the data key like any private key;
it never leaves the store. Nothing is stored when the CA cannot be reached or refuses.
Needs the store passphrase.

EXAMPLES:
  keysafe acme account create --directory letsencrypt --email hostmaster@example.com --agree-tos
  keysafe acme account create staging --directory letsencrypt-staging --email a@example.com --agree-tos
  keysafe acme account create pebble --directory https://127.0.0.1:14000/dir \
      --directory-ca-file pebble.minica.pem --email a@example.test --agree-tos
  keysafe acme account create zerossl --directory https://acme.zerossl.com/v2/DV90 \
      --eab-kid KID --eab-hmac-key-file /root/zerossl.hmac --email a@example.com --agree-tos)");
  auto* list = account->add_subcommand("list", "list the ACME accounts (no passphrase needed)");
  list->footer(R"(
EXAMPLES:
  keysafe acme account list
  keysafe acme account list --json | jq -r '.[].name')");
  auto* show = account->add_subcommand("show", "show one ACME account (no passphrase needed)");
  show->add_option("NAME", a->account_name, "the account")->required();

  auto* deactivate = account->add_subcommand(
      "deactivate", "deactivate an account at its CA (cannot be undone; asks unless --yes)");
  deactivate->add_option("NAME", a->account_name, "the account")->required();
  deactivate->footer(R"(
The CA stops accepting requests signed by the account's key (RFC 8555 §7.3.6); certificates it
issued stay valid. keysafe records the CA's status, and refuses later orders with the account.
Needs the store passphrase, and --yes without a terminal.

EXAMPLES:
  keysafe acme account deactivate staging --yes)");

  auto* rollover = account->add_subcommand(
      "rollover", "replace the account's key at its CA (RFC 8555 key rollover)");
  rollover->add_option("NAME", a->account_name, "the account")->required();
  rollover->add_option("--key", a->key, "the new key: ec-p256 (default), ec-p384, rsa-2048")
      ->type_name("ALG");
  rollover->footer(R"(
A new key is generated and sealed in the store like the account key; the CA's keyChange is
signed by the new key (inner JWS) and the current one (outer JWS). Only once the CA accepts is
the stored key replaced, and the change audited (acme-account-key-rolled-over); a refusal
(exit 15, with the CA's detail) leaves the store as it was. From then on the CA refuses requests
signed by the old key, e.g. from a copy of the store made before. Needs the store passphrase.

EXAMPLES:
  keysafe acme account rollover default
  keysafe acme account rollover letsencrypt --key ec-p384 --json)");

  auto* revoke = cmd.add_subcommand(
      "revoke", "revoke an entry's current certificate at the CA that issued it (ACME)");
  revoke->add_option("NAME", a->name, "the entry")->required();
  revoke->add_option("--reason", a->reason,
                     "keyCompromise, superseded, cessationOfOperation, affiliationChanged or "
                     "unspecified (default)")
      ->type_name("REASON");
  revoke->add_option("--account", a->account,
                     "the ACME account to sign with (default: the one that ordered the entry)")
      ->type_name("NAME");
  revoke->footer(R"(
The request is signed by the account key (RFC 8555 §7.6) and audited (acme-revoked). The entry
keeps its certificate; renew it or order a new one. Needs the store passphrase.

EXAMPLES:
  keysafe acme revoke www.example.com --reason superseded
  keysafe acme revoke mail.example.com --reason keyCompromise --json)");

  auto* issue = cmd.add_subcommand(
      "issue", "get a certificate by ACME: key and request made in the store, order, HTTP-01 or DNS-01, install");
  issue->add_option("NAME", a->name, "the entry: a new name, or a pending entry made by create")
      ->required();
  issue->add_option("--dns", a->dns, "DNS name for the certificate (repeat for more)")
      ->type_name("DNS");
  issue->add_option("--ip", a->ip,
                    "IP address for the certificate (repeat for more; validated by HTTP-01 on "
                    "the address itself, RFC 8738)")
      ->type_name("A");
  issue->add_option("--account", a->account, "the ACME account (default: the store's only one)")
      ->type_name("NAME");
  issue->add_option("--key", a->key, "key algorithm of a new entry: ec-p256 (default), ec-p384, "
                                     "rsa-2048, rsa-3072, rsa-4096")
      ->type_name("ALG");
  auto* listen = issue->add_option("--http-listen", a->http_listen,
                                   "answer HTTP-01 with keysafe itself on ADDR:PORT while the "
                                   "order runs (port 80 must reach it)")
                     ->type_name("ADDR:PORT");
  auto* webroot = issue->add_option("--webroot", a->webroot,
                                    "answer HTTP-01 with token files under "
                                    "DIR/.well-known/acme-challenge/ (removed afterwards)")
                      ->type_name("DIR");
  auto* dns_hook = issue->add_option("--dns-hook", a->dns_hook,
                                     "answer DNS-01 with CMD, run by /bin/sh to add and remove "
                                     "the TXT record (KEYSAFE_ACME_ACTION=add|remove, "
                                     "KEYSAFE_ACME_DOMAIN, KEYSAFE_ACME_TXT_NAME, "
                                     "KEYSAFE_ACME_TXT_VALUE)")
                       ->type_name("CMD");
  auto* resolver = issue->add_option("--dns-resolver", a->dns_resolver,
                                     "with --dns-hook: wait until this DNS server (IPv4) serves "
                                     "the TXT record before the CA is asked to look")
                       ->type_name("ADDR:PORT");
  auto* dns_wait = issue->add_option("--dns-wait", a->dns_wait,
                    "with --dns-resolver: wait at most this long for the record (default 120)")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 3600));
  issue->add_option("--preferred-chain", a->preferred_chain,
                    "install the CA's alternate chain (Link rel=alternate) with a certificate "
                    "issued by this CN, e.g. \"ISRG Root X1\"; else the default chain")
      ->type_name("ISSUER-CN");
  resolver->needs(dns_hook);
  dns_wait->needs(resolver);
  listen->excludes(webroot);
  listen->excludes(dns_hook);
  webroot->excludes(dns_hook);
  issue->footer(R"(
The key is generated and sealed in the store, as `keysafe create` does; the order is finalized
with the entry's own request; the chain is installed as `keysafe install` installs it (with an
automatic backup when configured). The account and challenge are stored with the entry for its
renewals. A CA refusal exits 15 and keeps the pending entry: running the command again reuses
its key and request. Needs the store passphrase.

DNS-01 (--dns-hook; the only way for a wildcard *.NAME): for each name keysafe runs CMD with
/bin/sh, KEYSAFE_ACME_ACTION=add, KEYSAFE_ACME_DOMAIN (the name), KEYSAFE_ACME_TXT_NAME
(_acme-challenge.NAME, no trailing dot) and KEYSAFE_ACME_TXT_VALUE, and no secret in its
environment; with --dns-resolver it waits until that DNS server serves every record; then the
CA looks. Afterwards, whatever the outcome, CMD runs again with KEYSAFE_ACME_ACTION=remove.
A hook that exits non-zero stops the order (exit 1, deploy-failed) and keeps the pending entry.

EXAMPLES:
  keysafe acme issue www.example.com --dns www.example.com --dns example.com --webroot /var/www/html
  keysafe acme issue mail.example.com --dns mail.example.com --http-listen 0.0.0.0:80
  keysafe create intranet --dns intranet.example.com && \
    keysafe acme issue intranet --account staging --webroot /srv/www
  keysafe acme issue wild --dns '*.example.com' --dns example.com \
    --dns-hook /etc/keysafe/dns-hook.sh --dns-resolver 192.0.2.53:53)");

  return [a, create, list, show, deactivate, rollover, revoke](Context& ctx) {
    const std::int64_t now = ctx.env.now();
    if (create->parsed()) {
      ops::AcmeAccountParams params;
      if (!a->account_name.empty()) params.name = a->account_name;
      params.directory = a->directory;
      params.emails = a->emails;
      params.agree_tos = a->agree_tos;
      params.algorithm = parse_algorithm(a->key, "ec-p256, ec-p384 or rsa-2048");
      if (!a->directory_ca_file.empty())
        params.directory_ca_file = a->directory_ca_file;
      else if (auto env = ctx.env.getenv(k_env_acme_ca_file); env && !env->empty())
        params.directory_ca_file = *env;
      params.eab_kid = a->eab_kid;
      if (!a->eab_hmac_key_file.empty()) params.eab_hmac_key_file = a->eab_hmac_key_file;
      params.now = now;
      auto store = ctx.open_store();
      ops::prepare_acme_account(store, params);
      ctx.unlock(store);
      const auto v = ops::create_acme_account(store, params);
      if (ctx.options.json) {
        ctx.out << account_json(v).dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      ctx.out << "created the ACME account \"" << v.name << "\" at " << v.directory_url << " ("
              << v.key_algorithm << ", status " << v.status << ")\n  account URL " << v.account_url
              << '\n'
              << ctx.fixes("  next: keysafe acme issue NAME --dns NAME --webroot DIR\n");
      return 0;
    }
    if (list->parsed()) {
      auto store = ctx.open_store_for_listing();
      const auto accounts = ops::list_acme_accounts(store);
      if (ctx.options.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& v : accounts) arr.push_back(account_json(v));
        ctx.out << arr.dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      if (accounts.empty())
        ctx.out << ctx.fixes(
            "no ACME accounts: keysafe acme account create --directory letsencrypt --email ADDR "
            "--agree-tos\n");
      for (const auto& v : accounts)
        ctx.out << v.name << "  " << v.directory_url << "  " << v.status << "  " << v.key_algorithm
                << '\n';
      return 0;
    }
    if (show->parsed()) {
      auto store = ctx.open_store_for_listing();
      const auto v = ops::show_acme_account(store, a->account_name);
      if (ctx.options.json) {
        ctx.out << account_json(v).dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      std::string contact;
      for (const auto& c : v.contact) contact += (contact.empty() ? "" : ", ") + c;
      ctx.out << "account      " << v.name << "\ndirectory    " << v.directory_url
              << (v.has_directory_ca ? " (its own CA file)" : " (system trust store)")
              << "\naccount URL  " << v.account_url << "\nstatus       " << v.status
              << "\ncontact      " << (contact.empty() ? "-" : contact) << "\nkey          "
              << v.key_algorithm << ", JWK thumbprint " << v.jwk_thumbprint << "\ncreated      "
              << ops::format_rfc3339(v.created_at) << '\n';
      return 0;
    }
    if (deactivate->parsed()) {
      auto store = ctx.open_store();
      ops::show_acme_account(store, a->account_name);  // an unknown name fails before asking
      if (!ctx.options.yes) {
        const auto answer = ctx.env.confirm("Deactivate the ACME account \"" + a->account_name +
                                            "\" at its CA? This cannot be undone. [y/N] ");
        if (!answer)
          throw Error(Errc::Refused, "refusing to deactivate without confirmation",
                      "there is no terminal to confirm on", "add --yes");
        if (!*answer)
          throw Error(Errc::Refused, "nothing deactivated", "the confirmation was declined",
                      "run the command again and answer y");
      }
      ctx.unlock(store);
      const auto v = ops::deactivate_acme_account(store, a->account_name);
      if (ctx.options.json) {
        ctx.out << account_json(v).dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      ctx.out << "deactivated the ACME account \"" << v.name << "\" at " << v.directory_url
              << " (status " << v.status << ")\n";
      return 0;
    }
    if (rollover->parsed()) {
      const auto algorithm = parse_algorithm(a->key, "ec-p256, ec-p384 or rsa-2048");
      auto store = ctx.open_store();
      ops::prepare_acme_rollover(store, a->account_name, algorithm);
      ctx.unlock(store);
      const auto r = ops::rollover_acme_account(store, a->account_name, algorithm);
      if (ctx.options.json) {
        auto json = account_json(r.account);
        json["old_key_algorithm"] = r.old_key_algorithm;
        json["old_jwk_thumbprint"] = r.old_jwk_thumbprint;
        ctx.out << json.dump(2, ' ', false, k_invalid_utf8) << '\n';
        return 0;
      }
      ctx.out << "rolled over the key of the ACME account \"" << r.account.name << "\" at "
              << r.account.directory_url << ": " << r.account.key_algorithm << ", JWK thumbprint "
              << r.account.jwk_thumbprint << " (was " << r.old_key_algorithm << " "
              << r.old_jwk_thumbprint << ")\n";
      return 0;
    }
    if (revoke->parsed()) {
      ops::AcmeRevokeParams params;
      params.name = a->name;
      params.reason = a->reason;
      if (!a->account.empty()) params.account = a->account;
      auto store = ctx.open_store();
      ops::prepare_acme_revoke(store, params);
      ctx.unlock(store);
      const auto r = ops::acme_revoke(store, params);
      if (ctx.options.json) {
        ctx.out << nlohmann::json{{"name", r.name},
                                  {"serial", r.serial},
                                  {"fingerprint_sha256", r.fingerprint_sha256},
                                  {"reason", r.reason},
                                  {"account", r.account},
                                  {"directory", r.directory_url},
                                  {"revoked", true}}
                       .dump(2, ' ', false, k_invalid_utf8)
                << '\n';
        return 0;
      }
      ctx.out << "revoked the certificate of \"" << r.name << "\" (serial " << r.serial
              << ", reason " << r.reason << ") at " << r.directory_url << '\n';
      return 0;
    }
    // issue
    ops::AcmeIssueParams params;
    params.name = a->name;
    params.dns = a->dns;
    params.ip = a->ip;
    if (!a->account.empty()) params.account = a->account;
    if (!a->http_listen.empty()) {
      params.challenge = ops::AcmeChallenge::HttpListen;
      params.challenge_param = a->http_listen;
    } else if (!a->webroot.empty()) {
      params.challenge = ops::AcmeChallenge::HttpWebroot;
      params.challenge_param = std::filesystem::absolute(a->webroot).lexically_normal().string();
    } else if (!a->dns_hook.empty()) {
      params.challenge = ops::AcmeChallenge::DnsHook;
      params.challenge_param = ops::dns_hook_param(
          a->dns_hook, a->dns_resolver.empty() ? std::nullopt : std::optional(a->dns_resolver));
    }
    params.dns_wait_timeout = a->dns_wait;
    if (!a->preferred_chain.empty()) params.preferred_chain = a->preferred_chain;
    params.algorithm = parse_algorithm(a->key, "ec-p256, ec-p384, rsa-2048, rsa-3072 or rsa-4096");
    params.now = now;
    if (!ctx.options.json)
      params.progress = [&ctx](const std::string& line) { ctx.err << "keysafe: " << line << '\n'; };
    auto store = ctx.open_store();
    ops::prepare_acme_issue(store, params);
    ctx.unlock(store);
    const auto r = ops::acme_issue(store, params);
    std::optional<std::filesystem::path> backup_file;
    if (auto config = ops::auto_backup_config(store); config && !r.install.already_installed)
      backup_file = ops::auto_backup(store, *config, r.install.name, now);
    auto warnings = r.install.warnings;
    warnings.insert(warnings.end(), r.warnings.begin(), r.warnings.end());
    for (const auto& w : warnings) ctx.warn(w);
    const auto& c = r.install.certificate;
    if (ctx.options.json) {
      auto json = installed_certificate_json(r.install);
      json.update(nlohmann::json{
          {"name", r.install.name},
          {"entry_created", r.entry_created},
          {"account", r.account},
          {"directory", r.directory_url},
          {"challenge", r.challenge},
          {"challenge_param", r.challenge_param},
          {"preferred_chain", a->preferred_chain.empty() ? nlohmann::json(nullptr)
                                                         : nlohmann::json(a->preferred_chain)},
          {"order_url", r.order_url},
          {"chains_offered", r.chains_offered},
          {"chain_top_issuer", r.chain_top_issuer},
          {"warnings", warnings},  // the install's and the order's own
          {"backup_file",
           backup_file ? nlohmann::json(backup_file->string()) : nlohmann::json(nullptr)}});
      ctx.out << json.dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    ctx.out << "issued and installed the certificate of \"" << r.install.name << "\" (serial "
            << c.serial_hex << ") from " << r.directory_url << ", valid until "
            << ops::format_rfc3339(c.not_after) << "; " << r.install.chain_length
            << " issuer certificate(s) stored\n";
    if (backup_file) ctx.out << "automatic backup written to " << backup_file->string() << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
