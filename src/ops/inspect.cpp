// keysafe inspect: every reader keysafe has, tried in the order that cannot mistake one kind
// for another, and the store's public columns for the entry that holds the key.
#include "keysafe/ops/inspect.hpp"

#include <openssl/x509.h>

#include "keysafe/backup/container.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/formats/pkcs12.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {
namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

InspectedKey inspected_key(const EVP_PKEY* key, std::string format) {
  return {std::move(format), x509::describe_key(key), x509::spki_sha256_hex(x509::spki_der(key)),
          std::nullopt};
}

InspectedRequest inspected_request(X509_REQ* req) {
  const x509::RequestInfo info = x509::inspect_request(req);
  InspectedRequest out{info.subject, info.dns, info.ip, {}, info.spki_sha256, std::nullopt};
  if (const EVP_PKEY* key = X509_REQ_get0_pubkey(req)) out.key_algorithm = x509::describe_key(key);
  ossl::clear_errors();
  return out;
}

void inspect_backup(std::span<const std::uint8_t> data, std::string_view source,
                    backup::ContainerKind kind, FileInspection& out) {
  out.kind = "keysafe-backup";
  out.encrypted = true;
  InspectedBackup b;
  if (kind == backup::ContainerKind::Recipient) {
    out.format = "CMS AuthEnvelopedData (recipient backup)";
    out.encryption = "encrypted to a recovery certificate; its names are inside";
    b.protection = "recipient";
  } else {
    const backup::ContainerHeader h = backup::read_header(data, source);
    out.format = "keysafe backup, format " + std::to_string(h.version);
    out.encryption = "scrypt (N=2^" + std::to_string(h.kdf.log2_n) + ", r=" +
                     std::to_string(h.kdf.r) + ", p=" + std::to_string(h.kdf.p) +
                     ") and AES-256-GCM under the backup passphrase";
    b.protection = "passphrase";
    b.created = h.created;
    for (std::size_t i = 0; i < h.names.size(); ++i)
      b.entries.push_back(
          {h.names[i], i < h.spki_sha256.size() ? h.spki_sha256[i] : std::string(), {}});
  }
  out.backup = std::move(b);
}

void inspect_pkcs12(std::span<const std::uint8_t> data, std::string_view source,
                    const std::optional<SecureBytes>& password, FileInspection& out) {
  out.kind = "pkcs12";
  out.format = "PKCS#12";
  formats::Pkcs12Contents p12;
  try {
    p12 = formats::read_pkcs12(data, source, password);
  } catch (const Error& e) {
    // Without a password, the file's protection is the answer; a wrong password is an error.
    if (e.code() != Errc::FilePassword || password) throw;
    out.encrypted = true;
    out.encryption = e.cause().empty() ? e.summary() : e.cause();
    return;
  }
  for (auto& k : p12.keys) out.keys.push_back(inspected_key(k.key.get(), "PKCS#12"));
  for (auto& c : p12.certs) out.certificates.push_back({x509::inspect_certificate(c.cert.get()), {}});
  out.warnings = std::move(p12.warnings);
}

// The private keys of a PEM or DER file; an encrypted one without a password is reported as
// encrypted, never asked for.
void add_private_keys(std::span<const std::uint8_t> data, std::string_view source,
                      const std::optional<SecureBytes>& password, FileInspection& out) {
  try {
    for (auto& k : formats::read_private_keys(data, source, password))
      out.keys.push_back(inspected_key(k.key.get(), k.format));
  } catch (const Error& e) {
    if (e.code() != Errc::FilePassword || password) throw;
    out.encrypted = true;
    out.encryption = e.cause().empty() ? e.summary() : e.cause();
  }
}

[[noreturn]] void unrecognised(std::string_view source, const Error& first) {
  throw Error(Errc::BadInput, quoted(source) + " is not a file keysafe recognises",
              "it is neither a certificate, bundle, PKCS#7 chain, certificate request, private "
              "key, PKCS#12 file nor keysafe backup, in PEM or DER (" +
                  (first.cause().empty() ? first.summary() : first.cause()) + ")",
              "check the path; a truncated download or another kind of file reads like this");
}

void inspect_certificates_and_keys(std::span<const std::uint8_t> data, std::string_view source,
                                   const std::optional<SecureBytes>& password,
                                   FileInspection& out) {
  formats::ParsedInput parsed;
  try {
    parsed = formats::read_input(data, source);
  } catch (const Error& e) {
    // Not a certificate, request or PKCS#7: a DER private key, or nothing keysafe reads.
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    if (e.code() != Errc::BadInput || text.find("-----BEGIN ") != std::string_view::npos) throw;
    try {
      add_private_keys(data, source, password, out);
    } catch (const Error& key_error) {
      if (key_error.code() != Errc::BadInput) throw;
      unrecognised(source, e);
    }
    out.kind = "private-key";
    out.format = out.keys.empty() ? "DER private key" : "DER " + out.keys.front().format;
    return;
  }
  out.format = parsed.format;
  if (parsed.private_keys > 0) add_private_keys(data, source, password, out);
  for (auto& r : parsed.requests) out.requests.push_back(inspected_request(r.get()));
  for (auto& c : parsed.certificates)
    out.certificates.push_back({x509::inspect_certificate(c.get()), {}});
  if (parsed.pkcs7_bundles > 0) out.kind = "pkcs7";
  else if (out.certificates.size() > 1) out.kind = "bundle";
  else if (out.certificates.size() == 1) out.kind = parsed.private_keys > 0 ? "bundle" : "certificate";
  else if (!out.requests.empty()) out.kind = "request";
  else out.kind = "private-key";
}

std::optional<std::string> entry_with_key(store::Keystore& store, const std::string& spki) {
  if (spki.empty()) return std::nullopt;
  const auto key = store.key_by_spki(spki);
  if (!key || !key->has_private_key) return std::nullopt;
  return key->name;
}

}  // namespace

const InspectedCertificate* FileInspection::leaf() const {
  if (certificates.empty()) return nullptr;
  // The certificate of the file's key, else the first that is not a CA.
  for (const auto& k : keys)
    for (const auto& c : certificates)
      if (c.info.spki_sha256 == k.spki_sha256) return &c;
  for (const auto& c : certificates)
    if (!c.info.is_ca) return &c;
  return &certificates.front();
}

std::optional<std::string> FileInspection::spki_sha256() const {
  if (!keys.empty()) return keys.front().spki_sha256;
  if (const auto* c = leaf()) return c->info.spki_sha256;
  if (!requests.empty()) return requests.front().spki_sha256;
  return std::nullopt;
}

std::optional<std::string> FileInspection::entry() const {
  const auto spki = spki_sha256();
  if (!spki) return std::nullopt;
  for (const auto& k : keys)
    if (k.spki_sha256 == *spki) return k.entry;
  for (const auto& c : certificates)
    if (c.info.spki_sha256 == *spki) return c.entry;
  for (const auto& r : requests)
    if (r.spki_sha256 == *spki) return r.entry;
  return std::nullopt;
}

FileInspection inspect_file(std::span<const std::uint8_t> data, std::string_view source,
                            const std::optional<SecureBytes>& password) {
  if (data.empty())
    throw Error(Errc::BadInput, quoted(source) + " is empty", "the file has no content",
                "check the path and the download");
  FileInspection out;
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  // A keysafe backup's magic line first (detect_container also names a newer format); PKCS#12
  // before the DER readers, which do not know it; CMS (a recipient backup) only in DER.
  if (text.starts_with("KEYSAFE-BACKUP ")) {
    inspect_backup(data, source, backup::detect_container(data, source), out);
  } else if (formats::looks_like_pkcs12(data)) {
    inspect_pkcs12(data, source, password, out);
  } else if (data[0] == 0x30 && [&] {
               try {
                 return backup::detect_container(data, source) == backup::ContainerKind::Recipient;
               } catch (const Error&) {
                 return false;
               }
             }()) {
    inspect_backup(data, source, backup::ContainerKind::Recipient, out);
  } else {
    inspect_certificates_and_keys(data, source, password, out);
  }
  ossl::clear_errors();
  return out;
}

void match_stored_keys(store::Keystore& store, FileInspection& inspection) {
  for (auto& k : inspection.keys) k.entry = entry_with_key(store, k.spki_sha256);
  for (auto& c : inspection.certificates) c.entry = entry_with_key(store, c.info.spki_sha256);
  for (auto& r : inspection.requests) r.entry = entry_with_key(store, r.spki_sha256);
  if (inspection.backup)
    for (auto& e : inspection.backup->entries) e.entry = entry_with_key(store, e.spki_sha256);
  inspection.store_checked = true;
}

}  // namespace keysafe::ops
