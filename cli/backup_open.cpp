// Decrypting a backup with the secret its container asks for.
#include "backup_open.hpp"

#include "keysafe/backup/container.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"

namespace keysafe::cli {
namespace {

ossl::PKey load_recovery_key(const Context& ctx, const BackupSecrets& s) {
  const SecureBytes data = files::read_secret_file(s.recovery_key);
  std::vector<formats::DecodedKey> keys;
  try {
    keys = formats::read_private_keys(data, s.recovery_key, std::nullopt);
  } catch (const Error& e) {
    if (e.code() != Errc::FilePassword) throw;
    // An encrypted key: its password comes from the in-passphrase sources.
    const auto pass = acquire_secret(ctx, {s.in_passphrase_file, "--in-passphrase-file",
                                           k_env_in_passphrase, "Recovery key password: "},
                                     false);
    keys = formats::read_private_keys(data, s.recovery_key, pass);
  }
  if (keys.size() != 1)
    throw Error(Errc::BadInput, "\"" + s.recovery_key + "\" must hold exactly one private key",
                "it holds " + std::to_string(keys.size()),
                "give the recovery certificate's private key alone");
  return std::move(keys.front().key);
}

}  // namespace

backup::BackupPayload open_backup_file(const Context& ctx, const std::string& path,
                                       const Bytes& file, const BackupSecrets& secrets) {
  const auto kind = backup::detect_container(file, path);
  SecureBytes plain;
  if (kind == backup::ContainerKind::Passphrase) {
    (void)backup::read_header(file, path);  // a newer or damaged file, before prompting
    const auto pass = acquire_secret(ctx, {secrets.in_passphrase_file, "--in-passphrase-file",
                                           k_env_in_passphrase, "Backup passphrase: "},
                                     false);
    plain = backup::open_with_passphrase(file, *pass, path);
  } else {
    if (secrets.recovery_key.empty())
      throw Error(Errc::Usage, "\"" + path + "\" is encrypted to a recovery certificate",
                  "opening it needs that certificate's private key",
                  "add --recovery-key RECOVERY-KEY.pem");
    const auto key = load_recovery_key(ctx, secrets);
    plain = backup::open_with_recipient_key(file, key.get(), nullptr, path);
  }
  return backup::decode_payload(plain, path);
}

}  // namespace keysafe::cli
