// keysafe import: keys and certificates from other systems, paired by public key.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/import.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "progress.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct ImportArgs {
  std::string file;
  std::string name;
  bool allow_weak = false;
  bool dry_run = false;
  std::string in_passphrase_file;
};
}  // namespace

Action setup_import(CLI::App& cmd) {
  auto a = std::make_shared<ImportArgs>();
  cmd.add_option("FILE", a->file,
                 "PKCS#12 (.pfx/.p12 from Windows, Java, NSS, GnuTLS, OpenSSL), PEM or DER "
                 "private keys (PKCS#8, PKCS#1, SEC1, encrypted), certificates, PEM bundles, "
                 "PKCS#7")
      ->required();
  cmd.add_option("--name", a->name,
                 "entry name (default: the PKCS#12 friendlyName or the certificate's CN, made "
                 "unique)");
  cmd.add_flag("--allow-weak", a->allow_weak,
               "import keys below policy (RSA under 2048 bits, DSA), flagged in a warning");
  cmd.add_flag("--dry-run", a->dry_run, "report what would be imported; change nothing");
  cmd.add_option("--in-passphrase-file", a->in_passphrase_file,
                 "read the file's password from FILE (else KEYSAFE_IN_PASSPHRASE, else the "
                 "terminal when one is needed)")
      ->type_name("FILE");
  cmd.footer(R"(
The kind of file is detected from its content. A certificate pairs with a stored key that
has its public key (a pending request's key, say), and a key with stored certificates.
Certificates whose key is nowhere are kept as certificate-only entries (state no-key) and
pair automatically when the key arrives. Certificates alone need no store passphrase.
Entries are named by --name, the file's friendlyName or the certificate's CN; a key that
comes alone, without any of these, is named key-HASH, and takes its certificate's name (CN,
else first DNS name, made unique) when the certificate arrives (import or install).
keysafe rename OLD NEW renames any entry.

EXAMPLES:
  keysafe import www.pfx
  keysafe import server.key --name www        # then: keysafe import server.crt
  keysafe import inventory-bundle.pem         # many certificates, no keys)");
  return [a](Context& ctx) {
    const SecureBytes data = files::read_secret_file(a->file);  // may hold private keys
    auto store = ctx.open_store();
    const SecretSource password_source{a->in_passphrase_file, "--in-passphrase-file",
                                       k_env_in_passphrase, "Password for the file: ", true};
    std::optional<SecureBytes> password;
    if (!a->in_passphrase_file.empty() || ctx.env.getenv_secret(k_env_in_passphrase))
      password = acquire_secret(ctx, password_source, false);
    ops::ImportContents contents;
    try {
      contents = ops::read_import_file(data, a->file, password);
    } catch (const Error& e) {
      // No password was given and the file needs one: ask on the terminal, if there is one.
      if (e.code() != Errc::FilePassword || password) throw;
      password = acquire_secret(ctx, password_source, false, true);
      if (!password) throw;
      contents = ops::read_import_file(data, a->file, password);
    }
    ops::ImportOptions options;
    if (!a->name.empty()) options.name = a->name;
    options.allow_weak = a->allow_weak;
    options.now = ctx.env.now();
    // A large bundle takes seconds: show how far it got (terminal only).
    Progress reading(ctx, "reading certificates");
    if (contents.certs.size() >= 1000) options.progress = reading.callback();
    auto plan = ops::plan_import(store, contents, a->file, options);
    reading.finish();
    for (const auto& w : plan.warnings) ctx.warn(w);

    std::vector<std::string> backups;
    if (!a->dry_run) {
      if (plan.needs_unlock) ctx.unlock(store);
      for (const auto& item : plan.items)
        if (item.action != "unchanged")
          store.record("imported", item.name, item.action + " from " + a->file + ": " + item.detail);
      Progress storing(ctx, "storing entries");
      store.merge_entries(plan.entries, plan.entries.size() >= 1000
                                            ? storing.callback()
                                            : std::function<void(std::size_t, std::size_t)>{});
      ops::rename_paired_keys(store, plan);
      storing.finish();
      if (plan.needs_unlock)
        if (auto config = ops::auto_backup_config(store))
          for (const auto& item : plan.items)
            if (item.private_key && item.action != "unchanged")
              backups.push_back(ops::auto_backup(store, *config, item.name, options.now).string());
    }
    if (ctx.options.json) {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& i : plan.items)
        items.push_back({{"name", i.name}, {"action", i.action}, {"private_key", i.private_key},
                         {"certificates", i.certificates}, {"detail", i.detail}});
      ctx.out << nlohmann::json{{"file", a->file},       {"format", contents.format},
                                {"dry_run", a->dry_run}, {"entries", items},
                                {"warnings", plan.warnings}, {"backup_files", backups}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << (a->dry_run ? "would import from " : "imported from ") << a->file << " ("
            << contents.format << "):\n";
    for (const auto& i : plan.items)
      ctx.out << "  " << i.action << "  " << i.name << ": " << i.detail << '\n';
    for (const auto& b : backups) ctx.out << "automatic backup written to " << b << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
