// keysafe export: an entry as PKCS#12, PEM or DER for the system that will use it.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "keysafe/formats/pkcs12.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

enum class ExportFormat { Pfx, Pem, Der };

struct ExportRequest {
  std::string name;
  ExportFormat format = ExportFormat::Pfx;
  formats::Pkcs12Profile profile = formats::Pkcs12Profile::Modern;
  bool chain = false;
  bool cert_only = false;
  std::filesystem::path output;
  // Instead of `output`: the export is verified in memory, then written here (`-o -`).
  std::ostream* stream = nullptr;
  bool force = false;
  std::optional<SecureBytes> password;  // for private-key exports
};

struct ExportResult {
  std::filesystem::path file;  // "standard output" for a stream
  bool private_key = false;
  std::size_t certificates = 0;
  std::string description;   // "PKCS#12 (modern: AES-256-CBC, PBKDF2-SHA256, SHA-256 MAC)"
  std::string verification;  // what the read-back proved
};

// Throws NotFound, Usage (impossible combinations), Refused/AlreadyExists (files).
// Private-key exports need the store unlocked and `password`.
ExportResult export_entry(store::Keystore& store, const ExportRequest& request);

// Whether the request writes a private key (and so needs the warning, confirmation, password).
bool exports_private_key(const ExportRequest& request);

}  // namespace keysafe::ops
