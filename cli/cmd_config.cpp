// keysafe config: store-wide settings (automatic backups to a recovery certificate).
#include <ostream>

#include "commands.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/ops/auto_backup.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "render.hpp"

namespace keysafe::cli {

namespace {
struct ConfigArgs {
  std::string action;
  std::string key;
  std::string value;
};

std::string setting_name(const std::string& key) {
  if (key == "recovery-certificate") return std::string(ops::k_setting_recovery_certificate);
  if (key == "backup-dir") return std::string(ops::k_setting_backup_dir);
  throw Error(Errc::Usage, "\"" + key + "\" is not a setting",
              "settings: recovery-certificate, backup-dir",
              "keysafe config set recovery-certificate recovery.pem");
}
}  // namespace

Action setup_config(CLI::App& cmd) {
  auto a = std::make_shared<ConfigArgs>();
  cmd.add_option("ACTION", a->action, "show, set or unset")->required();
  cmd.add_option("KEY", a->key, "recovery-certificate or backup-dir");
  cmd.add_option("VALUE", a->value, "a certificate file, or a directory");
  cmd.footer(R"(
With both a recovery certificate and a backup directory set, create and install write a
fresh backup of the key to the directory, encrypted to the recovery certificate (CMS; only
the recovery private key, kept offline, opens it), so no key ever exists only in the
store. install then needs the store passphrase, to read the key for its backup.

set and unset need the store passphrase: every setting carries a MAC keyed from the data
key, so a recovery certificate planted by someone who can only write the store file is
refused ("tampered") instead of receiving the next backup. show needs no passphrase and
does not verify the MACs (keysafe check does, with the passphrase).

EXAMPLES:
  keysafe config set recovery-certificate /etc/keysafe/recovery.pem
  keysafe config set backup-dir /var/backups/keysafe
  keysafe config show --json)");
  return [a](Context& ctx) {
    auto store = ctx.open_store();
    if (a->action == "show") {
      const auto cert = store.setting(ops::k_setting_recovery_certificate);
      const auto dir = store.setting(ops::k_setting_backup_dir);
      nlohmann::json j = {{"recovery_certificate", nullptr}, {"backup_dir", nullptr},
                          {"automatic_backups", cert && dir}};
      if (cert) {
        const auto c = x509::certificate_from_der(*cert);
        const auto info = x509::inspect_certificate(c.get());
        j["recovery_certificate"] = {{"subject", info.subject},
                                     {"fingerprint_sha256", info.fingerprint_sha256},
                                     {"not_after", time_or_null(info.not_after)}};
      }
      if (dir) j["backup_dir"] = std::string(dir->begin(), dir->end());
      if (ctx.options.json) {
        ctx.out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
      } else {
        ctx.out << "recovery-certificate: "
                << (cert ? j["recovery_certificate"]["subject"].get<std::string>() : "(not set)")
                << "\nbackup-dir:           "
                << (dir ? j["backup_dir"].get<std::string>() : "(not set)")
                << "\nautomatic backups:    " << (cert && dir ? "on" : "off") << '\n';
      }
      return 0;
    }
    const std::string key = setting_name(a->key);
    if (a->action != "set" && a->action != "unset")
      throw Error(Errc::Usage, "usage: keysafe config show | set KEY VALUE | unset KEY", "",
                  "keysafe config --help");
    // A setting's MAC is keyed from the data key.
    ctx.unlock(store);
    if (a->action == "unset") {
      store.unset_setting(key);
      ctx.out << "unset " << a->key << '\n';
      return 0;
    }
    if (a->action != "set" || a->value.empty())
      throw Error(Errc::Usage, "usage: keysafe config show | set KEY VALUE | unset KEY", "",
                  "keysafe config --help");
    if (key == ops::k_setting_recovery_certificate) {
      const Bytes data = files::read_input_file(a->value);
      const auto input = formats::read_input(data, a->value);
      if (input.certificates.size() != 1)
        throw Error(Errc::BadInput, "\"" + a->value + "\" must hold exactly one certificate",
                    "it holds " + std::to_string(input.certificates.size()),
                    "give the recovery certificate alone");
      store.set_setting(key, x509::certificate_der(input.certificates.front().get()));
    } else {
      const std::filesystem::path dir = std::filesystem::absolute(a->value);
      if (!std::filesystem::is_directory(dir))
        throw Error(Errc::BadInput, "\"" + a->value + "\" is not a directory",
                    "the backup directory must exist", "create it: mkdir -m 700 " + a->value);
      store.set_setting(key, as_span(dir.string()));
    }
    ctx.out << "set " << a->key << " = " << a->value << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
