// keysafe import: keys and certificates from PKCS#12, PEM, DER and PKCS#7 files, paired by
// public key with each other and with what the store already holds.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct NamedKey {
  ossl::PKey key;
  std::string friendly_name;
  Bytes local_key_id;
};
struct NamedCert {
  ossl::Cert cert;
  std::string friendly_name;
  Bytes local_key_id;
};

struct ImportContents {
  std::string format;  // "PKCS#12", "PEM", "DER private key", ...
  std::vector<NamedKey> keys;
  std::vector<NamedCert> certs;
  std::vector<std::string> warnings;
};

// Detects the kind from content. Throws FilePassword when a password is needed and none (or a
// wrong one) was given, so the caller can ask and retry.
ImportContents read_import_file(std::span<const std::uint8_t> data, std::string_view source,
                                const std::optional<SecureBytes>& password);

struct ImportItem {
  std::string name;
  std::string action;  // "create", "add-key", "add-certificates", "unchanged"
  bool private_key = false;
  std::size_t certificates = 0;
  std::string detail;
};

struct ImportPlan {
  std::vector<store::IncomingEntry> entries;
  std::vector<ImportItem> items;
  std::vector<std::string> warnings;
  bool needs_unlock = false;
  // Stored key-only entries with a generated name ("key-..."), paired with a certificate by
  // this import: they take the certificate's name (old name, new name).
  std::vector<std::pair<std::string, std::string>> renames;
};

struct ImportOptions {
  std::optional<std::string> name;  // for a file with one key (or one certificate)
  bool allow_weak = false;
  std::int64_t now = 0;
  // Told (certificates inspected, total) while a large file is planned.
  std::function<void(std::size_t, std::size_t)> progress;
};

// Pairs keys with certificates, refuses weak keys (unless allow_weak) and mismatched pairs,
// names entries (--name, friendlyName, CN; made unique). Changes nothing.
ImportPlan plan_import(store::Keystore& store, ImportContents& contents, std::string_view source,
                       const ImportOptions& options);

// After the plan's entries are merged: the renames it planned (one transaction, audited).
void rename_paired_keys(store::Keystore& store, const ImportPlan& plan);

}  // namespace keysafe::ops
