// keysafe inspect: what a file is (certificate, bundle, PKCS#7, request, key, PKCS#12, keysafe
// backup), what it says, and which stored entry holds its key. Reads the file with the same
// readers as import and install; needs no store passphrase.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/certificate_info.hpp"

namespace keysafe::ops {

struct InspectedCertificate {
  x509::CertificateInfo info;
  std::optional<std::string> entry;  // the entry holding this certificate's private key
};

struct InspectedRequest {
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::string key_algorithm;
  std::string spki_sha256;
  std::optional<std::string> entry;
};

struct InspectedKey {
  std::string format;  // "PKCS#8", "encrypted PKCS#8", "PKCS#12", ...
  std::string key_algorithm;
  std::string spki_sha256;
  std::optional<std::string> entry;
};

struct InspectedBackupEntry {
  std::string name;
  std::string spki_sha256;
  std::optional<std::string> entry;  // the store's entry with this key, if any
};

// What a backup shows without its passphrase (a recipient backup: nothing but its kind).
struct InspectedBackup {
  std::string protection;  // "passphrase" or "recipient"
  std::optional<std::int64_t> created;
  std::vector<InspectedBackupEntry> entries;
};

struct FileInspection {
  // certificate, bundle, pkcs7, request, private-key, pkcs12, keysafe-backup
  std::string kind;
  std::string format;  // "PEM", "DER certificate", "PKCS#12", ...
  // Encrypted and not opened (no password given): what protects it, from the file itself.
  bool encrypted = false;
  std::string encryption;
  std::vector<InspectedCertificate> certificates;
  std::vector<InspectedRequest> requests;
  std::vector<InspectedKey> keys;
  std::optional<InspectedBackup> backup;
  std::vector<std::string> warnings;
  // Whether a store was consulted (false: none at the path, or it could not be read).
  bool store_checked = false;

  // The public key the file is about: its key's, else its leaf certificate's (the first that
  // is not a CA, else the first), else its request's; nullopt for a backup or a locked file.
  std::optional<std::string> spki_sha256() const;
  // The stored entry holding that key's private key.
  std::optional<std::string> entry() const;
  // The certificate that `spki_sha256` comes from, if any (subject, SANs, validity, issuer).
  const InspectedCertificate* leaf() const;
};

// Reads `data` (never prompts): an encrypted key or PKCS#12 file without `password` is reported
// as encrypted, with what protects it. Throws BadInput for a file that is none of the kinds,
// Damaged for a damaged one, FilePassword for a wrong password.
FileInspection inspect_file(std::span<const std::uint8_t> data, std::string_view source,
                            const std::optional<SecureBytes>& password);

// Fills in the `entry` fields from the store's public columns (no unlock).
void match_stored_keys(store::Keystore& store, FileInspection& inspection);

}  // namespace keysafe::ops
