// The TLS key and certificate `keysafe serve` presents: a self-signed pair kept beside the
// store (made on first start, reused after), or a stored entry's key and certificate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct ServerIdentity {
  ossl::PKey key;
  ossl::Cert certificate;
  std::vector<ossl::Cert> chain;  // intermediates sent after the certificate
  std::string fingerprint_sha256;  // of the DER certificate, lowercase hex
  std::int64_t not_after = 0;
  // For the self-signed pair: whether this start made it, and where its files are.
  bool created = false;
  std::filesystem::path certificate_file;
  std::filesystem::path key_file;
};

// The self-signed pair for `host` (a DNS name or an IP address) in `dir`: files
// "<stem>.serve-<host>.key" and ".crt", both 0600, written once (never over anything, a
// dangling symlink included) and read without following a symlink. A key file that group or
// others can read, a key without its certificate, a pair that does not match, or an expired
// certificate is refused (Errc::Refused) with the files to remove. Made: P-256 key,
// serverAuth, subjectAltName `host`, valid 825 days from `now`.
ServerIdentity self_signed_server_identity(const std::filesystem::path& dir,
                                           const std::string& stem, const std::string& host,
                                           std::int64_t now);

// The entry `name`'s private key, current certificate and its intermediates. Needs an unlocked
// store. NotFound, or Usage for an entry without a key or a certificate.
ServerIdentity entry_server_identity(store::Keystore& store, const std::string& name);

}  // namespace keysafe::ops
