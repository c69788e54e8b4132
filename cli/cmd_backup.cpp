// keysafe backup: keys, certificates, chains, requests and metadata in one verified file.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct BackupArgs {
  std::vector<std::string> names;
  bool all = false;
  std::string output;
  bool force = false;
  std::string recipient;
  std::string out_passphrase_file;
  unsigned kdf_cost = crypto::k_default_log2_n;
};

ossl::Cert load_recipient(const std::string& path) {
  const Bytes data = files::read_input_file(path);
  auto input = formats::read_input(data, path);
  if (input.certificates.size() != 1)
    throw Error(Errc::BadInput, "\"" + path + "\" must hold exactly one recovery certificate",
                "it holds " + std::to_string(input.certificates.size()) + " certificates",
                "give the recovery certificate alone (PEM or DER)");
  return std::move(input.certificates.front());
}
}  // namespace

Action setup_backup(CLI::App& cmd) {
  auto a = std::make_shared<BackupArgs>();
  cmd.add_option("NAME", a->names, "entries to back up");
  cmd.add_flag("--all", a->all, "back up every entry of the store");
  cmd.add_option("-o,--output", a->output,
                 "backup file to write (mode 0600); - writes it to standard output (never to a "
                 "terminal; needs --yes)")
      ->required()
      ->type_name("FILE");
  cmd.add_flag("--force", a->force, "replace an existing file");
  cmd.add_option("--recipient", a->recipient,
                 "encrypt to this offline recovery certificate (RSA or EC) instead of a "
                 "passphrase: CMS EnvelopedData, opened by the recovery key")
      ->type_name("CERT");
  cmd.add_option("--out-passphrase-file", a->out_passphrase_file,
                 "read the backup passphrase from FILE (else KEYSAFE_OUT_PASSPHRASE, else the "
                 "terminal, asked twice)")
      ->type_name("FILE");
  cmd.add_option("--kdf-cost", a->kdf_cost, "scrypt cost of the backup passphrase as log2(N) "
                                            "(default 17; below 15 for tests only)")
      ->check(CLI::Range(crypto::k_min_log2_n, crypto::k_max_log2_n))
      ->type_name("LOG2N");
  cmd.footer(R"(
One file holds, for each entry: the private key, its certificates (current and history)
with chains, its requests and its metadata; for a local CA, its CA role (parent, CRL
number, every certificate it issued with revocations); and the entry's deployments (target,
layout, files, test/reload commands, probe); for an ACME entry its ACME settings (account,
challenge and its parameter) and the ACME account it uses, the account key re-encrypted with
the backup like the entries' keys. --all also holds every ACME account, the store's settings and
its fleet (hosts, assignments, the agents' last reports and the fleet signing key, so the
hosts' key files keep working), so that restore (or recover) into an empty store gives back
the whole store. It is encrypted and authenticated with the
backup passphrase (scrypt + AES-256-GCM; docs/FORMAT.md), written 0600 through a temp file,
then read back and verified before the store records the backup. Without a terminal,
--yes is required: whoever holds the file and its passphrase can impersonate the sites.

EXAMPLES:
  keysafe backup www.example.com -o www.example.com.kbk
  keysafe backup --all -o /media/offline/keysafe-2026-11-25.kbk --yes \
      --out-passphrase-file /root/backup.pass
  keysafe backup --all --recipient recovery-cert.pem -o all.p7m --yes
  keysafe backup --all -o - --yes --out-passphrase-file /root/backup.pass | ssh vault 'cat > all.kbk'

With -o -, the backup goes to standard output once it verified in memory, and the summary
goes to standard error (--json is refused: standard output carries the backup). A recipient
backup written there has no index beside it for keysafe find-key.)");
  return [a](Context& ctx) {
    if (!a->all && a->names.empty())
      throw Error(Errc::Usage, "name the entries to back up, or use --all", "",
                  "keysafe backup www.example.com -o www.kbk");
    // The backup holds private keys: never to a terminal, and --yes whatever stdin is.
    const bool to_stdout = ctx.writes_to_standard_output(a->output, "a backup", true, true);
    if (to_stdout && ctx.options.json)
      throw Error(Errc::Usage, "--json and -o - both want standard output",
                  "with -o - standard output carries the backup itself",
                  "write the backup to a file with -o FILE to get the JSON summary");
    if (to_stdout && !ctx.options.yes)
      throw Error(Errc::Refused, "refusing to write a backup to standard output without --yes",
                  "it holds private keys: whoever reads that output can impersonate the sites",
                  "add --yes once you know where the output goes");
    if (!to_stdout && !a->force &&
        std::filesystem::exists(std::filesystem::symlink_status(a->output)))
      throw Error(Errc::AlreadyExists, "\"" + a->output + "\" already exists",
                  "keysafe never overwrites a file unless told to",
                  "choose another file with -o, or add --force");
    ossl::Cert recipient;
    if (!a->recipient.empty()) recipient = load_recipient(a->recipient);
    auto store = ctx.open_store();
    const auto keys = ops::select_entries(store, a->names, a->all);
    std::vector<std::string> names;
    for (const auto& k : keys) names.push_back(k.name);
    ctx.confirm_key_export(to_stdout ? "standard output" : "\"" + a->output + "\"", names);

    ctx.unlock(store);
    ops::BackupTarget target;
    if (to_stdout) target.stream = &ctx.out;
    target.kdf = crypto::KdfParams{a->kdf_cost, 8, 1};
    if (recipient) {
      target.recipient = recipient.get();
    } else {
      if (a->kdf_cost < 15)
        ctx.warn("--kdf-cost " + std::to_string(a->kdf_cost) +
                 " makes the backup passphrase cheap to guess: use it for tests only");
      target.passphrase = acquire_secret(
          ctx, {a->out_passphrase_file, "--out-passphrase-file", k_env_out_passphrase,
                "Backup passphrase: "},
          true);
    }
    const auto r = ops::write_backup(store, keys, target, a->output, a->force, ctx.env.now(), a->all);
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"file", r.file.string()},
                                {"entries", names},
                                {"private_keys", r.private_keys},
                                {"certificates", r.certificates},
                                {"authorities", r.authorities},
                                {"issued", r.issued},
                                {"deployments", r.deployments},
                                {"settings", r.settings},
                                {"hosts", r.hosts},
                                {"assignments", r.assignments},
                                {"acme_accounts", r.acme_accounts},
                                {"acme_entries", r.acme_entries},
                                {"encryption", recipient ? "cms-enveloped-data" : "passphrase"},
                                {"verified", true},
                                {"verification", r.verification},
                                {"index_file", r.index_file.empty()
                                                   ? nlohmann::json(nullptr)
                                                   : nlohmann::json(r.index_file.string())}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    } else {
      // With -o - the summary goes to standard error: standard output is the backup.
      std::ostream& say = to_stdout ? ctx.err : ctx.out;
      say << "backed up " << r.entries << " entr" << (r.entries == 1 ? "y" : "ies") << " ("
              << r.private_keys << " private key(s), " << r.certificates
              << " certificate(s)) to " << r.file.string()
          << (to_stdout ? "\n" : " (mode 0600)\n");
      if (r.authorities + r.deployments + r.settings > 0)
        say << "with " << r.authorities << " local CA(s) (" << r.issued
                << " issued certificate record(s)), " << r.deployments << " deployment(s), "
                << r.settings << " setting(s)\n";
      if (r.hosts + r.assignments > 0)
        say << "with the fleet: " << r.hosts << " host(s), " << r.assignments
            << " assignment(s) and the fleet signing key, so restored host key files still work\n";
      if (r.acme_accounts + r.acme_entries > 0)
        say << "with ACME: " << r.acme_accounts << " account(s) (their keys) and "
            << r.acme_entries << " entr" << (r.acme_entries == 1 ? "y's" : "ies'")
            << " ACME settings, so restored ACME entries renew\n";
      say << "verified: " << r.verification << "\n";
      if (!r.index_file.empty())
        say << "index (names and public-key hashes, for keysafe find-key): "
                << r.index_file.string() << '\n';
      say << "restore on any machine with: keysafe restore "
          << (to_stdout ? std::string("FILE (where the output was saved)") : r.file.string())
          << '\n';
    }
    return 0;
  };
}

}  // namespace keysafe::cli
