// keysafe ca trust / ca untrust: the local CA's certificate into (and out of) the system trust
// store and NSS databases, like mkcert -install.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/ca_trust.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

struct TrustArgs {
  std::string name;
  std::string nss;
  bool no_system = false;
  CLI::App* trust = nullptr;
  CLI::App* untrust = nullptr;
};

void add_target_options(CLI::App* sub, TrustArgs& a) {
  sub->add_option("CA", a.name, "the local CA (its entry name)")->required();
  sub->add_option("--nss", a.nss,
                  "also this NSS database directory (Firefox/Chromium profiles, ~/.pki/nssdb; "
                  "certutil from libnss3-tools)")
      ->type_name("DIR");
  sub->add_flag("--no-system", a.no_system,
                "leave the system trust store alone (with --nss: no root needed)");
}

int report(Context& ctx, const std::string& action, const std::string& name,
           const ops::TrustChanges& changes) {
  if (ctx.options.json) {
    ctx.out << nlohmann::json{{"ca", name}, {"action", action}, {"changes", changes}}.dump(
                   2, ' ', false, k_invalid_utf8)
            << '\n';
    return 0;
  }
  for (const auto& c : changes) ctx.out << name << ": " << c << '\n';
  return 0;
}

}  // namespace

Action setup_ca_trust(CLI::App& ca) {
  auto a = std::make_shared<TrustArgs>();
  a->trust = ca.add_subcommand(
      "trust", "install the CA certificate where clients look (system store, NSS)");
  add_target_options(a->trust, *a);
  a->trust->footer(R"(
Writes the CA's certificate to /usr/local/share/ca-certificates/keysafe-CA.crt and runs
update-ca-certificates (root only), so curl, wget, OpenSSL and GnuTLS clients on this machine
trust what the CA issues; with --nss DIR also adds it to that NSS database (certutil -A,
trust C,,) for Firefox and Chromium. Needs no passphrase. Undo with keysafe ca untrust.

EXAMPLES:
  sudo keysafe ca trust corp-root
  keysafe ca trust corp-root --nss ~/.pki/nssdb --no-system)");
  a->untrust = ca.add_subcommand("untrust", "remove what ca trust installed");
  add_target_options(a->untrust, *a);
  a->untrust->footer(R"(
Removes /usr/local/share/ca-certificates/keysafe-CA.crt and runs update-ca-certificates
(root only); with --nss DIR also deletes the certificate from that NSS database. Works when
the CA is no longer in the store.

EXAMPLES:
  sudo keysafe ca untrust corp-root --nss ~/.pki/nssdb)");
  return [a](Context& ctx) {
    ops::TrustTargets targets;
    targets.system = !a->no_system;
    if (!a->nss.empty()) targets.nss_db = a->nss;
    if (!targets.system && !targets.nss_db)
      throw Error(Errc::Usage, "--no-system leaves nothing to do", "no --nss DIR was given",
                  "name an NSS database with --nss DIR, or leave out --no-system");
    if (a->trust->parsed()) {
      auto store = ctx.open_store_for_listing();
      return report(ctx, "trust", a->name, ops::trust_ca(store, a->name, targets));
    }
    return report(ctx, "untrust", a->name, ops::untrust_ca(a->name, targets));
  };
}

}  // namespace keysafe::cli
