// keysafe install: the CA's answer, matched to its stored key by public key.
#include <algorithm>
#include <ostream>

#include "commands.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/find_key.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/install.hpp"
#include "keysafe/shell_word.hpp"
#include "render.hpp"
#include "render_reports.hpp"

namespace keysafe::cli {

namespace {
// The lost-key error, with the backup in the configured backup-dir that holds the key and the
// exact commands that restore it and install again (issue 13); unchanged when none does.
Error with_backup_suggestion(const Context& ctx, store::Keystore& store, const Error& lost,
                             std::span<const std::uint8_t> data, const std::string& file,
                             const std::string& ca_file) {
  const auto dir = store.setting(ops::k_setting_backup_dir);
  if (!dir) return lost;
  ops::FindKeyResult found;
  try {
    const auto key = ops::key_to_find(data, file, std::nullopt);
    found = ops::find_key_in_backups({std::string(dir->begin(), dir->end())}, key.spki_sha256);
  } catch (const Error&) {
    return lost;  // the backup directory cannot be searched: the error as it was
  }
  if (found.found.empty()) return lost;
  // The newest backup that holds the key.
  const auto& h = *std::max_element(found.found.begin(), found.found.end(),
                                    [](const auto& a, const auto& b) { return a.created < b.created; });
  const auto named = ctx.named_store();
  std::string install = "keysafe install " + shell_quote(file);
  if (!ca_file.empty()) install += " --ca-file " + shell_quote(ca_file);
  if (named) install += " --store " + shell_quote(named->string());
  return Error(lost.code(), lost.summary(),
               lost.cause() + ";\nthe backup " + h.file.string() + " (entry \"" + h.entry +
                   "\", made " + ops::format_rfc3339(h.created) + ") in the backup directory holds it",
               "restore that entry from the backup, then install again:\n  " +
                   ops::restore_command(h, named) + "\n  " + install +
                   (h.kind == ops::BackupKind::Recipient
                        ? "\n(RECOVERY-KEY: the private key of the recovery certificate)"
                        : ""));
}
}  // namespace

Action setup_install(CLI::App& cmd) {
  auto file = std::make_shared<std::string>();
  auto ca_file = std::make_shared<std::string>();
  cmd.add_option("FILE", *file,
                 "what the CA returned: PEM or DER certificate, PEM bundle (leaf and "
                 "intermediates in any order), or PKCS#7 (.p7b/.p7c)")
      ->required();
  cmd.add_option("--ca-file", *ca_file,
                 "PEM file of trust anchors to check the chain against (default: the system "
                 "trust store)")
      ->type_name("FILE");
  cmd.footer(R"(
The certificate is matched to its key by the SHA-256 of its public key, whatever the
file is called. No passphrase is needed, except with automatic backups on, and for the
certificate that completes a renewal with a new key: the old entry's deployments move to
the new one, and deployment rows carry a MAC keyed from the data key. A chain that does not
reach a trusted root is installed with a warning that says what is missing. Installing an
installed certificate again with its chain or --ca-file checks the chain again and keeps the
new verdict (what check's fix for an untrusted chain does).
When no stored key matches (exit 5, nothing changed), the backups in the configured
backup-dir are searched (headers and indexes only, as keysafe find-key does); the one that
holds the key is named with the commands that restore it and install again.

EXAMPLES:
  keysafe install www.example.com.cer
  keysafe install fullchain.pem --ca-file corporate-root.pem
  keysafe install certnew.p7b)");
  return [file, ca_file](Context& ctx) {
    // Read and understand the file before touching the store.
    const SecureBytes data = files::read_secret_file(*file);  // a bundle may hold a key too
    const auto input = formats::read_input(data, *file);
    auto store = ctx.open_store();
    ops::InstallOptions options;
    if (!ca_file->empty()) options.ca_file = *ca_file;
    options.now = ctx.env.now();
    // With automatic backups on, the key is read for its backup: unlock first, so a wrong
    // passphrase changes nothing.
    const auto backup_config = ops::auto_backup_config(store);
    // Completing a renewal moves deployments, whose rows carry a MAC keyed from the data key.
    if (backup_config || ops::install_needs_unlock(store, input)) ctx.unlock(store);
    const auto r = [&] {
      try {
        return ops::install_certificate(store, input, *file, options);
      } catch (const Error& e) {
        if (e.code() != Errc::KeyNotFound) throw;
        throw with_backup_suggestion(ctx, store, e, data, *file, *ca_file);
      }
    }();
    std::optional<std::filesystem::path> backup_file;
    if (backup_config && !r.already_installed)
      backup_file = ops::auto_backup(store, *backup_config, r.name, options.now);
    for (const auto& w : r.warnings) ctx.warn(w);
    const auto& c = r.certificate;
    if (ctx.options.json) {
      ctx.out << install_json(r, backup_file).dump(2, ' ', false, k_invalid_utf8) << '\n';
      return 0;
    }
    const auto verdict = [](bool trusted, const std::string& problem) {
      return trusted ? std::string("verified to a trusted root")
                     : "NOT verified to a trusted root (" + problem + ")";
    };
    if (r.already_installed && r.chain_rechecked) {
      ctx.out << "already installed: this certificate of \"" << r.name
              << "\" is in the store; its chain was checked again: now "
              << verdict(r.chain_trusted, r.chain_problem) << ", " << r.chain_length
              << " issuer certificate(s) stored; before: "
              << verdict(r.previous_chain_trusted, r.previous_chain_problem) << '\n';
      return 0;
    }
    if (r.already_installed) {
      ctx.out << "already installed: this certificate of \"" << r.name
              << "\" is in the store; nothing changed (chain "
              << verdict(r.chain_trusted, r.chain_problem) << ")\n";
      return 0;
    }
    ctx.out << "installed the certificate of \"" << r.name << "\" (serial " << c.serial_hex
            << "), valid until " << ops::format_rfc3339(c.not_after) << "; "
            << (r.chain_trusted ? "chain verified to a trusted root"
                                : "chain NOT verified to a trusted root")
            << " (" << r.chain_length << " issuer certificate(s) stored)\n";
    if (r.renamed_from)
      ctx.out << "the entry \"" << *r.renamed_from << "\" (a name made up at import) took the "
              << "certificate's name \"" << r.name << "\"\n";
    if (r.replaced_fingerprint)
      ctx.out << "the previous certificate (" << r.replaced_fingerprint->substr(0, 16)
              << "...) is kept in the history\n";
    if (r.replaced_entry)
      ctx.out << "renewal complete: \"" << r.name << "\" now holds the new key and certificate; "
              << "the previous entry is kept as \"" << *r.replaced_entry << "\"\n";
    for (const auto& n : r.renewal_hook.notes) ctx.out << n << '\n';
    for (const auto& f : r.renewal_hook.failures) ctx.warn(f);
    if (backup_file) ctx.out << "automatic backup written to " << backup_file->string() << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
