// keysafe find-key: which backup holds the private key of this certificate, request or public
// key? Answered from clear headers and indexes alone: no passphrase, no store, no decryption.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ops {

// The public key a file carries: a certificate (the end-entity one of a bundle), a request,
// a PKCS#12 file (its key, else its end-entity certificate) or a public key (PEM or DER).
struct KeyToFind {
  std::string spki_sha256;
  std::string described;  // e.g. "the certificate CN=www.example.com"
};
// Errc::BadInput for a file holding none of these; FilePassword for a PKCS#12 file that
// needs `password`.
KeyToFind key_to_find(std::span<const std::uint8_t> data, std::string_view source,
                      const std::optional<SecureBytes>& password);

enum class BackupKind { Passphrase, Recipient };

// One entry of one backup that holds the private key.
struct BackupHolding {
  std::filesystem::path file;
  std::string entry;
  std::int64_t created = 0;
  BackupKind kind = BackupKind::Passphrase;
  std::filesystem::path index;  // recipient backups: the index that named the entry
};

// A file met on the way that could not be trusted or read: an index that does not match its
// backup, a damaged header, a recipient backup without an index.
struct BackupProblem {
  std::filesystem::path file;
  std::string problem;
};

struct FindKeyResult {
  std::vector<BackupHolding> found;
  std::vector<BackupProblem> problems;
  std::size_t files_seen = 0;
  std::size_t backups_read = 0;  // headers and indexes read
};

// Searches every directory recursively (files/walk.hpp: never through a link, regular files
// only, headers read with a bound). A passphrase backup is matched by its clear header; a
// recipient backup by its index (backup/index.hpp), trusted only when the SHA-256 it records
// is that of the backup file beside it, else reported as a problem. Entries recorded without
// their private key (certificate-only) do not count. Errc::Io when a directory cannot be read.
FindKeyResult find_key_in_backups(const std::vector<std::filesystem::path>& dirs,
                                  const std::string& spki_sha256);

// The command that restores just that entry, quoted for a POSIX shell: `keysafe [--store
// STORE] restore FILE --only NAME`, with `--recovery-key RECOVERY-KEY` (a placeholder for the
// recovery certificate's private key) for a recipient backup.
std::string restore_command(const BackupHolding& holding,
                            const std::optional<std::filesystem::path>& store);

}  // namespace keysafe::ops
