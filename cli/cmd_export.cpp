// keysafe export: PKCS#12 (named profiles), PEM or DER, verified after writing.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/export.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct ExportArgs {
  std::string name;
  std::string format = "pfx";
  std::string profile = "modern";
  bool chain = false;
  bool cert_only = false;
  std::string output;
  bool force = false;
  std::string out_passphrase_file;
};
}  // namespace

Action setup_export(CLI::App& cmd) {
  auto a = std::make_shared<ExportArgs>();
  cmd.add_option("NAME", a->name, "entry to export")->required();
  cmd.add_option("--format", a->format,
                 "pfx (PKCS#12: key + certificate), pem (encrypted PKCS#8 key + certificate), "
                 "der (one certificate, with --cert-only)")
      ->check(CLI::IsMember({"pfx", "pem", "der"}))
      ->type_name("FORMAT");
  cmd.add_option("--profile", a->profile,
                 "PKCS#12 profile: modern (AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC: "
                 "OpenSSL 3, Java 17, NSS, GnuTLS, Windows Server 2019+) or compat (3DES, SHA-1 "
                 "MAC: also Windows Server 2016, macOS Keychain, old Java)")
      ->check(CLI::IsMember({"modern", "compat"}))
      ->type_name("PROFILE");
  cmd.add_flag("--chain", a->chain, "include the stored chain (issuer certificates)");
  cmd.add_flag("--cert-only", a->cert_only,
               "the certificate (and --chain) only: no private key, no passphrase, no warning");
  cmd.add_option("-o,--output", a->output,
                 "file to write; - for standard output (never a terminal for a private key, "
                 "PKCS#12 or DER; a private key still needs --yes)")
      ->required()
      ->type_name("FILE");
  cmd.add_flag("--force", a->force, "replace an existing file");
  cmd.add_option("--out-passphrase-file", a->out_passphrase_file,
                 "read the export password from FILE (else KEYSAFE_OUT_PASSPHRASE, else the "
                 "terminal, asked twice)")
      ->type_name("FILE");
  cmd.footer(R"(
Private-key exports show the impersonation warning and need confirmation (--yes without a
terminal); they are written 0600 through a temp file and read back with the password before
success is reported. Iteration counts are set explicitly and stay within what Windows reads.

EXAMPLES:
  keysafe export www --format pfx --chain -o www.pfx                 # IIS, Java 17, OpenSSL 3
  keysafe export www --format pfx --profile compat --chain -o www.pfx # Server 2016, macOS
  keysafe export www --format pem --chain -o www.pem
  keysafe export www --cert-only --format pem --chain -o www-chain.pem
  keysafe export www --cert-only --format pem -o - | openssl x509 -noout -dates)");
  return [a](Context& ctx) {
    ops::ExportRequest r;
    r.name = a->name;
    r.format = a->format == "pfx"   ? ops::ExportFormat::Pfx
               : a->format == "pem" ? ops::ExportFormat::Pem
                                    : ops::ExportFormat::Der;
    r.profile = a->profile == "compat" ? formats::Pkcs12Profile::Compat
                                       : formats::Pkcs12Profile::Modern;
    r.chain = a->chain;
    r.cert_only = a->cert_only;
    r.output = a->output;
    r.force = a->force;
    const bool to_stdout = ctx.writes_to_standard_output(
        a->output, ops::exports_private_key(r) ? "a private key" : "a " + a->format + " file",
        ops::exports_private_key(r), r.format != ops::ExportFormat::Pem);
    if (to_stdout) r.stream = &ctx.out;
    if (!to_stdout && !a->force && std::filesystem::exists(std::filesystem::symlink_status(a->output)))
      throw Error(Errc::AlreadyExists, "\"" + a->output + "\" already exists",
                  "keysafe never overwrites a file unless told to",
                  "choose another file with -o, or add --force");
    auto store = ctx.open_store();
    if (ops::exports_private_key(r)) {
      if (!store.key_by_name(r.name))
        throw Error(Errc::NotFound, "no entry named \"" + r.name + "\"",
                    "the store has no entry of that name", "see every entry with: keysafe list");
      if (r.format == ops::ExportFormat::Der)
        throw Error(Errc::Usage, "a private key is exported as PEM or PKCS#12",
                    "--format der writes one certificate", "add --cert-only, or use --format pem");
      if (to_stdout && !ctx.options.yes)
        throw Error(Errc::Refused, "refusing to write the private key of \"" + r.name +
                                       "\" to standard output without --yes",
                    "whoever reads that output can impersonate the sites of this key",
                    "add --yes once you know where the output goes");
      ctx.confirm_key_export(to_stdout ? "standard output" : "\"" + a->output + "\"", {r.name});
      ctx.unlock(store);
      r.password = acquire_secret(ctx, {a->out_passphrase_file, "--out-passphrase-file",
                                        k_env_out_passphrase, "Export password: "},
                                  true);
    }
    const auto res = ops::export_entry(store, r);
    // --chain adds the issuer certificates the store holds; with none, the file has the leaf
    // alone, and a server given it sends no chain.
    if (a->chain && res.certificates <= 1)
      ctx.warn("--chain: \"" + r.name + "\" has no chain to write, so " + res.file.string() +
               " holds its certificate without issuers (the certificate is self-signed, or was "
               "installed without its intermediates); to add them, install the CA's full chain "
               "file for this entry");
    if (to_stdout) {
      // Standard output carries the export; what was written goes to standard error.
      ctx.err << "keysafe: exported \"" << r.name << "\" to standard output: " << res.description
              << "; verified: " << res.verification << '\n';
    } else if (ctx.options.json) {
      ctx.out << nlohmann::json{{"name", r.name},
                                {"file", res.file.string()},
                                {"format", a->format},
                                {"description", res.description},
                                {"private_key", res.private_key},
                                {"certificates", res.certificates},
                                {"verified", true},
                                {"verification", res.verification}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    } else {
      ctx.out << "exported \"" << r.name << "\" to " << res.file.string() << ": "
              << res.description << (res.private_key ? " (mode 0600)" : "") << "\nverified: "
              << res.verification << '\n';
    }
    return 0;
  };
}

}  // namespace keysafe::cli
