// keysafe find-key: which backup holds the private key of this certificate? (No secret needed.)
#include <ostream>

#include "commands.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/find_key.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct FindKeyArgs {
  std::string file;
  std::vector<std::string> dirs;
  std::string in_passphrase_file;
};

std::string kind_name(ops::BackupKind k) {
  return k == ops::BackupKind::Passphrase ? "passphrase" : "recipient";
}

// The public key of the file; a PKCS#12 file may need its password for its certificates.
ops::KeyToFind read_key_to_find(const Context& ctx, const FindKeyArgs& a) {
  const SecureBytes data = files::read_secret_file(a.file);  // a PKCS#12 file holds a key
  const SecretSource source{a.in_passphrase_file, "--in-passphrase-file", k_env_in_passphrase,
                            "Password for the file: ", true};
  std::optional<SecureBytes> password;
  if (!a.in_passphrase_file.empty() || ctx.env.getenv_secret(k_env_in_passphrase))
    password = acquire_secret(ctx, source, false);
  try {
    return ops::key_to_find(data, a.file, password);
  } catch (const Error& e) {
    if (e.code() != Errc::FilePassword || password) throw;
    password = acquire_secret(ctx, source, false, true);
    if (!password) throw;
    return ops::key_to_find(data, a.file, password);
  }
}
}  // namespace

Action setup_find_key(CLI::App& cmd) {
  auto a = std::make_shared<FindKeyArgs>();
  cmd.add_option("FILE", a->file,
                 "certificate, certificate request, PKCS#12 file or public key (PEM or DER)")
      ->required();
  cmd.add_option("--in", a->dirs, "directory of backups, searched recursively (repeatable)")
      ->type_name("DIR")
      ->required();
  cmd.add_option("--in-passphrase-file", a->in_passphrase_file,
                 "password of a PKCS#12 FILE (else KEYSAFE_IN_PASSPHRASE, else the terminal)")
      ->type_name("FILE");
  cmd.footer(R"(
Reads only what every backup keysafe writes shows in clear: the header of a passphrase
backup and the index beside a recipient backup (FILE.index.json). Nothing is decrypted; no
store and no passphrase are needed. Symbolic links and special files are skipped. An index
that does not match its backup (SHA-256) is reported, not trusted. Exit 0 when a backup holds
the key, 1 when none does.

EXAMPLES:
  keysafe find-key www.example.com.cer --in /var/backups/keysafe
  keysafe find-key www.req --in /mnt/old-host --in /srv/backups --json)");
  return [a](Context& ctx) {
    const auto key = read_key_to_find(ctx, *a);
    std::vector<std::filesystem::path> dirs(a->dirs.begin(), a->dirs.end());
    const auto r = ops::find_key_in_backups(dirs, key.spki_sha256);
    const auto store = ctx.named_store();
    if (ctx.options.json) {
      nlohmann::json found = nlohmann::json::array();
      for (const auto& h : r.found)
        found.push_back({{"file", h.file.string()},
                         {"entry", h.entry},
                         {"created", time_or_null(h.created)},
                         {"kind", kind_name(h.kind)},
                         {"index", h.index.empty() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(h.index.string())},
                         {"restore_command", ops::restore_command(h, store)}});
      nlohmann::json problems = nlohmann::json::array();
      for (const auto& p : r.problems)
        problems.push_back({{"file", p.file.string()}, {"problem", p.problem}});
      ctx.out << nlohmann::json{{"file", a->file},
                                {"spki_sha256", key.spki_sha256},
                                {"found", found},
                                {"problems", problems},
                                {"files_seen", r.files_seen},
                                {"backups_read", r.backups_read}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return r.found.empty() ? 1 : 0;
    }
    for (const auto& p : r.problems)
      ctx.warn((p.file.empty() ? "" : p.file.string() + ": ") + p.problem);
    if (r.found.empty()) {
      ctx.out << "no backup holds the private key of " << key.described << " (public key SHA-256 "
              << key.spki_sha256 << "): " << r.backups_read << " backup header(s) and index(es) read in "
              << r.files_seen << " file(s)\n";
      return 1;
    }
    ctx.out << r.found.size() << " backup(s) hold the private key of " << key.described
            << " (public key SHA-256 " << key.spki_sha256 << "):\n";
    for (const auto& h : r.found) {
      ctx.out << "  " << h.file.string() << "\n    entry \"" << h.entry << "\", backup of "
              << ops::format_rfc3339(h.created) << " (" << kind_name(h.kind) << " backup"
              << (h.kind == ops::BackupKind::Recipient ? ", index checked against the file" : "")
              << ")\n    restore it: " << ops::restore_command(h, store) << '\n';
    }
    return 0;
  };
}

}  // namespace keysafe::cli
