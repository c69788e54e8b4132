// keysafe ca: local certificate authorities (init, sign, revoke, crl, list, export).
#include <map>
#include <ostream>

#include "commands.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/inventory.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {

struct CaArgs {
  std::string name;
  std::string key = "ec-p384";
  std::int64_t days = 0;
  std::string subject;
  std::string parent;
  std::string request;
  std::string key_name;
  std::string profile = "server";
  std::string output;
  std::string what;
  std::string reason;
  std::string format = "pem";
  std::string issued;
  bool force = false;
};

void refuse_existing(const std::string& output, bool force) {
  if (output != "-" && !force && std::filesystem::exists(std::filesystem::symlink_status(output)))
    throw Error(Errc::AlreadyExists, "\"" + output + "\" already exists",
                "keysafe does not overwrite files unless told to",
                "choose another file with -o, or add --force");
}

void write_output(Context& ctx, const std::string& output, std::string_view content, bool force) {
  if (output == "-") {
    ctx.out << content;
    return;
  }
  files::write_file_atomically(output, content, 0644,
                             force ? files::Overwrite::Allow : files::Overwrite::Refuse);
}

std::int64_t days_or(std::int64_t days, std::int64_t fallback) { return days > 0 ? days : fallback; }

int run_init(Context& ctx, const CaArgs& a) {
  const auto alg = x509::parse_key_algorithm(a.key);
  if (!alg)
    throw Error(Errc::Usage, "\"" + a.key + "\" is not a key algorithm keysafe creates",
                "choose ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519",
                "for example: --key ec-p384 (the default for CAs)");
  ops::CaInitParams p;
  p.name = a.name;
  p.algorithm = *alg;
  p.days = days_or(a.days, a.parent.empty() ? 3650 : 1825);
  p.subject = a.subject;
  if (!a.parent.empty()) p.parent = a.parent;
  p.now = ctx.env.now();
  auto store = ctx.open_store();
  ops::prepare_ca_init(store, p);
  ctx.unlock(store);
  const auto r = ops::ca_init(store, p);
  std::optional<std::filesystem::path> backup_file;
  if (auto config = ops::auto_backup_config(store))
    backup_file = ops::auto_backup(store, *config, r.name, p.now);
  if (r.capped)
    ctx.warn("the CA certificate's validity was cut to its issuer's, until " +
             ops::format_rfc3339(r.certificate.not_after));
  if (ctx.options.json) {
    ctx.out << nlohmann::json{{"name", r.name},
                              {"kind", r.parent.empty() ? "root" : "intermediate"},
                              {"parent", r.parent.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(r.parent)},
                              {"key_algorithm", r.algorithm},
                              {"certificate", certificate_info_json(r.certificate)},
                              {"backup_file", backup_file ? nlohmann::json(backup_file->string())
                                                          : nlohmann::json(nullptr)}}
                   .dump(2, ' ', false, k_invalid_utf8)
            << '\n';
    return 0;
  }
  ctx.out << "created " << (r.parent.empty() ? "root CA" : "intermediate CA") << " \"" << r.name
          << "\" (" << r.algorithm << ") " << r.certificate.subject;
  if (!r.parent.empty()) ctx.out << ", issued by \"" << r.parent << "\"";
  ctx.out << ", valid until " << ops::format_rfc3339(r.certificate.not_after) << "\n"
          << "trust it where clients check certificates: keysafe ca export " << r.name
          << " -o " << r.name << ".pem\n";
  if (backup_file) ctx.out << "automatic backup written to " << backup_file->string() << '\n';
  return 0;
}

int run_sign(Context& ctx, const CaArgs& a) {
  const auto profile = x509::parse_leaf_profile(a.profile);
  if (!profile)
    throw Error(Errc::Usage, "\"" + a.profile + "\" is not a certificate profile",
                "profiles: server (serverAuth) and client (clientAuth)", "for example: --profile server");
  if (a.request.empty() == a.key_name.empty())
    throw Error(Errc::Usage, "name either a request file or --key NAME",
                a.request.empty() ? "neither was given" : "both were given",
                "keysafe ca sign CA www.req   or   keysafe ca sign CA --key www");
  ops::IssueOptions o;
  o.profile = *profile;
  o.days = days_or(a.days, 90);
  o.now = ctx.env.now();
  // Read and understand the request before touching the store.
  ossl::Req request;
  if (!a.request.empty()) {
    const Bytes data = files::read_input_file(a.request);
    auto input = formats::read_input(data, a.request);
    if (input.requests.empty())
      throw Error(Errc::BadInput, "\"" + a.request + "\" holds no certificate request",
                  "it contains " + input.format + ", not a PKCS#10 request",
                  "give the .req/.csr file made for the key, e.g. by keysafe create");
    request = std::move(input.requests.front());
  }
  std::string output = a.output;
  if (output.empty() && !a.request.empty()) {
    output = std::filesystem::path(a.request).stem().string() + ".crt";
  }
  if (!output.empty()) refuse_existing(output, a.force);
  auto store = ctx.open_store();
  (void)ops::find_authority(store, a.name);
  ctx.unlock(store);
  const ops::Authority ca = ops::Authority::open(store, a.name);
  const auto r = request ? ops::ca_sign_request(store, ca, request.get(), o,
                                                 "the request \"" + a.request + "\"")
                         : ops::ca_sign_key(store, ca, a.key_name, o);
  std::optional<std::filesystem::path> backup_file;
  if (r.installed && !r.installed->already_installed)
    if (auto config = ops::auto_backup_config(store))
      backup_file = ops::auto_backup(store, *config, r.installed->name, o.now);
  // Installed certificates need no file; one is written only when asked for with -o.
  const bool write = !output.empty() && (!r.installed || !a.output.empty());
  if (write) write_output(ctx, output, r.pem, a.force);
  if (r.capped)
    ctx.warn("the validity was cut to the CA's own, until " +
             ops::format_rfc3339(r.certificate.not_after));
  if (r.installed)
    for (const auto& w : r.installed->warnings) ctx.warn(w);
  if (ctx.options.json) {
    nlohmann::json j{{"ca", r.ca},
                     {"profile", x509::leaf_profile_name(*profile)},
                     {"certificate", certificate_info_json(r.certificate)},
                     {"installed", r.installed.has_value()},
                     {"name", r.installed ? nlohmann::json(r.installed->name) : nlohmann::json(nullptr)},
                     {"output", write && output != "-" ? nlohmann::json(output) : nlohmann::json(nullptr)},
                     {"backup_file", backup_file ? nlohmann::json(backup_file->string())
                                                 : nlohmann::json(nullptr)}};
    if (r.installed && r.installed->replaced_entry)
      j["replaced_entry"] = *r.installed->replaced_entry;
    if (output != "-" || !write) ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
    return 0;
  }
  if (write && output == "-") return 0;
  const auto& c = r.certificate;
  ctx.out << "\"" << r.ca << "\" issued serial " << c.serial_hex << " for " << c.subject
          << ", valid until " << ops::format_rfc3339(c.not_after) << '\n';
  if (r.installed) {
    ctx.out << "installed as the current certificate of \"" << r.installed->name << "\"\n";
    if (r.installed->replaced_entry)
      ctx.out << "renewal complete: the replaced entry is now \"" << *r.installed->replaced_entry
              << "\"\n";
  }
  if (write) ctx.out << "certificate and CA chain written to " << output << '\n';
  if (backup_file) ctx.out << "automatic backup written to " << backup_file->string() << '\n';
  return 0;
}

int run_revoke(Context& ctx, const CaArgs& a) {
  auto store = ctx.open_store();
  // What a CA issued carries a MAC keyed from the data key: a revocation needs the passphrase.
  ctx.unlock(store);
  const auto r = ops::ca_revoke(store, a.name, a.what,
                                a.reason.empty() ? std::nullopt : std::optional(a.reason),
                                ctx.env.now());
  if (ctx.options.json) {
    ctx.out << nlohmann::json{{"ca", r.ca},
                              {"serial", r.serial},
                              {"subject", r.subject},
                              {"name", r.key_name ? nlohmann::json(*r.key_name) : nlohmann::json(nullptr)},
                              {"reason", r.reason},
                              {"already_revoked", r.already_revoked}}
                   .dump(2, ' ', false, k_invalid_utf8)
            << '\n';
    return 0;
  }
  if (r.already_revoked) {
    ctx.out << "serial " << r.serial << " (" << r.subject << ") was already revoked ("
            << r.reason << "); nothing changed\n";
    return 0;
  }
  ctx.out << "revoked serial " << r.serial << " (" << r.subject << ") of \"" << r.ca
          << "\", reason " << r.reason << "\npublish a new CRL: keysafe ca crl " << r.ca
          << " -o " << r.ca << ".crl\n";
  return 0;
}

int run_crl(Context& ctx, const CaArgs& a) {
  if (a.format != "pem" && a.format != "der")
    throw Error(Errc::Usage, "\"" + a.format + "\" is not a CRL format", "formats: pem, der",
                "for example: --format der");
  (void)ctx.writes_to_standard_output(a.output, "a DER CRL", false, a.format == "der");
  auto store = ctx.open_store();
  (void)ops::find_authority(store, a.name);
  ctx.unlock(store);
  const auto r = ops::ca_crl(store, a.name, days_or(a.days, 30), ctx.env.now());
  // A CRL is public: 0644, replaced atomically (a web server may be serving the old one).
  write_output(ctx, a.output,
               a.format == "der" ? std::string_view(reinterpret_cast<const char*>(r.der.data()),
                                                    r.der.size())
                                 : std::string_view(r.pem),
               true);
  if (a.output == "-") return 0;
  if (ctx.options.json) {
    ctx.out << nlohmann::json{{"ca", r.ca},
                              {"crl_number", r.crl_number},
                              {"revoked", r.revoked},
                              {"this_update", time_or_null(r.this_update)},
                              {"next_update", time_or_null(r.next_update)},
                              {"output", a.output},
                              {"format", a.format}}
                   .dump(2, ' ', false, k_invalid_utf8)
            << '\n';
    return 0;
  }
  ctx.out << "CRL number " << r.crl_number << " of \"" << r.ca << "\" (" << r.revoked
          << " revoked serial(s)) written to " << a.output << "; next update due "
          << ops::format_rfc3339(r.next_update) << '\n';
  return 0;
}

int run_list(Context& ctx, const CaArgs& a) {
  auto store = ctx.open_store();
  const auto now = ctx.env.now();
  if (!a.issued.empty()) {
    const auto ca = ops::find_authority(store, a.issued);
    const auto issued = store::issued_by(store.database(), ca.key_id);
    if (ctx.options.json) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : issued)
        arr.push_back({{"serial", r.serial},
                       {"subject", r.subject},
                       {"fingerprint_sha256", r.fingerprint_sha256},
                       {"name", r.key_name ? nlohmann::json(*r.key_name) : nlohmann::json(nullptr)},
                       {"not_after", time_or_null(r.not_after)},
                       {"issued_at", time_or_null(r.issued_at)},
                       {"revoked_at", time_or_null(r.revoked_at)},
                       {"revocation_reason", r.revoked_at ? nlohmann::json(r.revocation_reason)
                                                          : nlohmann::json(nullptr)}});
      ctx.out << arr.dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    if (issued.empty()) ctx.out << "\"" << ca.name << "\" has issued no certificate yet\n";
    for (const auto& r : issued)
      ctx.out << r.serial << "  " << ops::format_rfc3339(r.not_after) << "  "
              << (r.revoked_at ? "REVOKED (" + r.revocation_reason + ")"
                               : (r.not_after < now ? std::string("expired") : std::string("valid")))
              << "  " << r.subject << (r.key_name ? "  [" + *r.key_name + "]" : std::string())
              << '\n';
    return 0;
  }
  const auto cas = ops::list_authorities(store);
  if (ctx.options.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : cas) {
      nlohmann::json j{{"name", s.record.name},
                       {"kind", s.record.parent_key_id ? "intermediate" : "root"},
                       {"parent", s.record.parent_key_id ? nlohmann::json(s.record.parent_name)
                                                         : nlohmann::json(nullptr)},
                       {"crl_number", s.record.crl_number},
                       {"created_at", time_or_null(s.record.created_at)},
                       {"issued", s.issued},
                       {"revoked", s.revoked}};
      if (s.certificate) {
        j["subject"] = s.certificate->subject;
        j["fingerprint_sha256"] = s.certificate->fingerprint_sha256;
        j["not_after"] = time_or_null(s.certificate->not_after);
      } else {
        j["subject"] = nullptr;
        j["fingerprint_sha256"] = nullptr;
        j["not_after"] = nullptr;
      }
      arr.push_back(std::move(j));
    }
    ctx.out << arr.dump(2, ' ', false, k_invalid_utf8) << '\n';
    return 0;
  }
  if (cas.empty()) {
    ctx.out << "no local CA in this store: keysafe ca init NAME\n";
    return 0;
  }
  for (const auto& s : cas) {
    ctx.out << s.record.name << "  "
            << (s.record.parent_key_id ? "intermediate of \"" + s.record.parent_name + "\""
                                       : std::string("root"))
            << "  " << (s.certificate ? s.certificate->subject : std::string("?")) << "  until "
            << (s.certificate ? ops::format_rfc3339(s.certificate->not_after) : std::string("?"))
            << "  issued " << s.issued << ", revoked " << s.revoked << '\n';
  }
  return 0;
}

int run_export(Context& ctx, const CaArgs& a) {
  if (a.format != "pem" && a.format != "der")
    throw Error(Errc::Usage, "\"" + a.format + "\" is not a certificate format",
                "formats: pem (the CA and its issuers), der (the CA alone)",
                "for example: --format der");
  refuse_existing(a.output, a.force);
  (void)ctx.writes_to_standard_output(a.output, "a DER certificate", false, a.format == "der");
  auto store = ctx.open_store();
  std::string content;
  if (a.format == "der") {
    const Bytes der = ops::ca_certificate_der(store, a.name);
    content.assign(der.begin(), der.end());
  } else {
    content = ops::ca_certificate_pem(store, a.name);
  }
  write_output(ctx, a.output, content, a.force);
  store.record("ca-exported", a.name, "certificate (" + a.format + ") to " + a.output);
  store.flush_audit();
  if (a.output == "-") return 0;
  if (ctx.options.json) {
    ctx.out << nlohmann::json{{"ca", a.name}, {"output", a.output}, {"format", a.format}}.dump(2, ' ', false, k_invalid_utf8)
            << '\n';
    return 0;
  }
  ctx.out << "certificate of \"" << a.name << "\" written to " << a.output << " (" << a.format
          << "); add it to the trust store of the clients that check your certificates\n";
  return 0;
}

}  // namespace

Action setup_ca(CLI::App& cmd) {
  auto a = std::make_shared<CaArgs>();
  auto actions = std::make_shared<std::map<CLI::App*, int (*)(Context&, const CaArgs&)>>();
  cmd.require_subcommand(1);
  cmd.footer(R"(
A local CA's key is generated and sealed in the store like any other key; its certificate
is the entry's current certificate. Issue internal certificates with `ca sign`: when the
request's key is in the store the certificate is installed at once. docs/CA.md is the
how-to.

EXAMPLES:
  keysafe ca init corp-root --subject "CN=Example Internal Root,O=Example Ltd"
  keysafe ca init corp-issuing --intermediate-of corp-root
  keysafe create intranet --dns intranet.corp && keysafe ca sign corp-issuing --key intranet
  keysafe ca sign corp-root partner.csr -o partner.crt --profile client --days 365
  keysafe ca revoke corp-root intranet --reason keyCompromise
  keysafe ca crl corp-root -o /var/www/crl/corp-root.crl
  keysafe ca export corp-root -o corp-root.pem
  keysafe ca trust corp-root --nss ~/.pki/nssdb     # clients on this machine trust it
  keysafe ca list --json)");

  auto* init = cmd.add_subcommand("init", "create a root CA, or an intermediate of a stored CA");
  init->add_option("NAME", a->name, "name of the CA's entry")->required();
  init->add_option("--key", a->key, "key algorithm: ec-p384 (default), ec-p256, rsa-2048, "
                                    "rsa-3072, rsa-4096, ed25519")
      ->type_name("ALG");
  init->add_option("--days", a->days, "validity in days (default 3650 for a root, 1825 for an "
                                      "intermediate; never beyond the issuer's)")
      ->type_name("N");
  init->add_option("--subject", a->subject, "the CA's name, most specific first (default "
                                            "\"CN=NAME\")")
      ->type_name("DN");
  init->add_option("--intermediate-of", a->parent,
                   "make an intermediate CA (pathLenConstraint 0) signed by this stored CA")
      ->type_name("CA");
  init->footer(R"(
EXAMPLES:
  keysafe ca init corp-root --subject "CN=Example Internal Root,O=Example Ltd" --days 7300
  keysafe ca init corp-issuing --intermediate-of corp-root --key ec-p256)");
  (*actions)[init] = run_init;

  auto* sign = cmd.add_subcommand("sign", "issue a certificate for a request file or a stored key");
  sign->add_option("CA", a->name, "the issuing CA")->required();
  sign->add_option("REQFILE", a->request, "a PKCS#10 request (PEM or DER)");
  sign->add_option("--key", a->key_name, "issue for this stored entry (its newest request)")
      ->type_name("NAME");
  sign->add_option("--days", a->days, "validity in days (default 90; cut to the CA's own)")
      ->type_name("N");
  sign->add_option("--profile", a->profile,
                   "server (extendedKeyUsage serverAuth, default) or client (clientAuth)");
  sign->add_option("-o,--output", a->output,
                   "write the certificate and the CA chain (PEM) here; default for a request "
                   "file whose key is not in the store: REQFILE's name with .crt; - for "
                   "standard output")
      ->type_name("FILE");
  sign->add_flag("--force", a->force, "overwrite an existing output file");
  sign->footer(R"(
The request's signature is verified; its subject is copied, and its subjectAltName is built
again from its DNS names and IP addresses, each checked (docs/CA.md): a name that is not a
valid host name or address, or a name of another kind (e-mail, URI), is refused (exit 1)
and nothing is signed. The certificate gets basicConstraints CA:FALSE, keyUsage, extendedKeyUsage, SKI/AKI and a
random 128-bit serial. When the request's key is in the store the certificate is installed
at once (as `keysafe install` does) and no file is needed.

EXAMPLES:
  keysafe ca sign corp-root --key intranet --days 365
  keysafe ca sign corp-root partner.csr -o partner.crt --profile client)");
  (*actions)[sign] = run_sign;

  auto* revoke = cmd.add_subcommand("revoke", "revoke a certificate the CA issued");
  revoke->add_option("CA", a->name, "the issuing CA")->required();
  revoke->add_option("SERIAL|NAME", a->what,
                     "the serial (hex), or an entry whose current certificate the CA issued")
      ->required();
  revoke->add_option("--reason", a->reason,
                     "RFC 5280 reason: keyCompromise, cACompromise, affiliationChanged, "
                     "superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, "
                     "aACompromise (default: unspecified)")
      ->type_name("R");
  revoke->footer(R"(
Needs the store passphrase: what a CA issued carries a MAC keyed from the data key, so a
revocation cannot be changed or undone by someone who can only write the store file.
Publish the change with `keysafe ca crl`.

EXAMPLES:
  keysafe ca revoke corp-root intranet --reason superseded
  keysafe ca revoke corp-root 4F0C2A9D13E5B7...)");
  (*actions)[revoke] = run_revoke;

  auto* crl = cmd.add_subcommand("crl", "write the CA's certificate revocation list");
  crl->add_option("CA", a->name, "the CA")->required();
  crl->add_option("-o,--output", a->output, "the CRL file (replaced if it exists; - for standard "
                                            "output)")
      ->type_name("FILE")
      ->required();
  crl->add_option("--days", a->days, "days until nextUpdate (default 30)")->type_name("N");
  crl->add_option("--format", a->format, "pem (default) or der");
  crl->footer(R"(
A v2 CRL with CRL number, authorityKeyIdentifier and nextUpdate, listing every serial the
CA revoked. Publish it before nextUpdate passes: clients that check CRLs reject
certificates once it is stale.

EXAMPLES:
  keysafe ca crl corp-root -o corp-root.crl
  keysafe ca crl corp-root -o /var/www/pki/corp-root.crl --format der --days 7)");
  (*actions)[crl] = run_crl;

  auto* list = cmd.add_subcommand("list", "list the local CAs (no passphrase needed)");
  list->add_option("--issued", a->issued, "list what this CA issued instead (serials, "
                                          "revocations)")
      ->type_name("CA");
  list->footer(R"(
EXAMPLES:
  keysafe ca list
  keysafe ca list --issued corp-root --json)");
  (*actions)[list] = run_list;

  auto* exp = cmd.add_subcommand("export", "write the CA certificate for trust stores");
  exp->add_option("CA", a->name, "the CA")->required();
  exp->add_option("-o,--output", a->output, "the file (- for standard output)")
      ->type_name("FILE")
      ->required();
  exp->add_option("--format", a->format,
                  "pem (default: the CA then its issuers up to the root) or der (the CA alone)");
  exp->add_flag("--force", a->force, "overwrite an existing file");
  exp->footer(R"(
Only the certificate: the CA's private key never leaves the store this way.

EXAMPLES:
  keysafe ca export corp-root -o /usr/local/share/ca-certificates/corp-root.crt
  keysafe ca export corp-root -o corp-root.der --format der)");
  (*actions)[exp] = run_export;

  const Action trust = setup_ca_trust(cmd);  // ca trust / ca untrust (cmd_ca_trust.cpp)
  CLI::App* self = &cmd;
  return [a, actions, self, trust](Context& ctx) {
    for (auto* sub : self->get_subcommands())
      return actions->contains(sub) ? (*actions).at(sub)(ctx, *a) : trust(ctx);
    return exit_code_for(Errc::Usage);
  };
}

}  // namespace keysafe::cli
