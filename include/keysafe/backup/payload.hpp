// The backup payload: every entry's private key, requests, certificates, chains and metadata,
// as one JSON document (docs/FORMAT.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::backup {

inline constexpr int k_payload_version = 1;

struct BackupCertificate {
  Bytes der;
  std::vector<Bytes> chain;  // the leaf's issuer first
  bool current = false;
  bool chain_trusted = false;
  std::string chain_problem;
  std::int64_t installed_at = 0;
};

struct BackupEntry {
  std::string name;
  std::string algorithm;
  std::string spki_sha256;
  Bytes spki_der;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::int64_t created_at = 0;
  std::optional<SecureBytes> private_key_pkcs8;  // none for a certificate-only entry
  std::vector<std::pair<Bytes, std::int64_t>> requests;
  std::vector<BackupCertificate> certificates;
};

struct BackupPayload {
  std::int64_t created = 0;
  std::string written_by;  // "keysafe 0.1.0"
  std::vector<BackupEntry> entries;
};

SecureBytes encode_payload(const BackupPayload& payload);
// Throws Damaged for a payload that does not decode, Unsupported for a newer version.
BackupPayload decode_payload(std::span<const std::uint8_t> data, std::string_view source);

}  // namespace keysafe::backup
