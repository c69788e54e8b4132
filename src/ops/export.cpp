// Export: PKCS#12 in named profiles, encrypted PKCS#8 PEM, DER; private-key files are
// written 0600 and read back before success is reported.
#include "keysafe/ops/export.hpp"

#include "keysafe/formats/input.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string_view as_text(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Error verify_failed(const ExportRequest& r, const std::string& why) {
  if (r.stream != nullptr)
    return Error(Errc::Internal, "the export did not verify before it was written", why,
                 "please report this as a keysafe bug");
  std::error_code ec;
  std::filesystem::remove(r.output, ec);
  return Error(Errc::Io, "the file written to \"" + r.output.string() + "\" did not verify",
               why + "; the file was removed", "check the disk, then export again");
}

// What a reader will get: the file written and read back, or for a stream the bytes themselves
// (verified before anything is written, as a pipe cannot be read back).
Bytes write_for_reading_back(const ExportRequest& r, std::string_view content, unsigned mode) {
  if (r.stream != nullptr) return Bytes(content.begin(), content.end());
  files::write_file_atomically(r.output, content, mode,
                               r.force ? files::Overwrite::Allow : files::Overwrite::Refuse);
  return files::read_input_file(r.output);
}

// For a stream: the verified bytes go out now. A failed write is an error (a full disk or a
// closed pipe), not a success with the output lost.
void deliver(const ExportRequest& r, std::string_view content) {
  if (r.stream == nullptr) return;
  r.stream->write(content.data(), static_cast<std::streamsize>(content.size()));
  r.stream->flush();
  if (!*r.stream)
    throw Error(Errc::Io, "writing the export to standard output failed",
                "the output was closed or the disk is full", "write to a file with -o FILE");
}

}  // namespace

bool exports_private_key(const ExportRequest& request) {
  return !request.cert_only;
}

ExportResult export_entry(store::Keystore& store, const ExportRequest& r) {
  const auto key = store.key_by_name(r.name);
  if (!key)
    throw Error(Errc::NotFound, "no entry named \"" + r.name + "\"",
                "the store has no entry of that name", "see every entry with: keysafe list");
  if (!r.cert_only && !key->has_private_key)
    throw Error(Errc::Usage, "\"" + r.name + "\" has no private key to export",
                "it is a certificate-only entry", "export its certificate with --cert-only");
  if (r.cert_only && r.format == ExportFormat::Pfx)
    throw Error(Errc::Usage, "a certificate alone is exported as PEM or DER",
                "PKCS#12 (--format pfx) is for a key with its certificate",
                "use --format pem or --format der with --cert-only");
  if (r.cert_only && !key->current_certificate_id)
    throw Error(Errc::NotFound, "\"" + r.name + "\" has no certificate yet",
                "the entry is pending: its request has not come back from the CA",
                "install the CA's answer first: keysafe install CERTIFICATE-FILE");

  ossl::Cert cert;
  std::vector<ossl::Cert> chain;
  if (key->current_certificate_id) {
    cert = x509::certificate_from_der(store.certificate_der(*key->current_certificate_id));
    if (r.chain)
      for (const auto& der : store.chain_of(*key->current_certificate_id))
        chain.push_back(x509::certificate_from_der(der));
  }
  if (r.format == ExportFormat::Der && r.chain)
    throw Error(Errc::Usage, "DER holds one object: --chain needs --format pem or pfx", "",
                "export the chain with --format pem --chain");

  ExportResult result;
  // A stream named by `output` (keysafe serve: the HTTPS download) is audited under that name.
  result.file = r.stream != nullptr && (r.output.empty() || r.output == "-")
                    ? std::filesystem::path("standard output")
                    : r.output;
  const std::string where = result.file.string();
  result.private_key = !r.cert_only;
  result.certificates = (cert ? 1 : 0) + chain.size();

  if (r.cert_only) {
    std::string content;
    if (r.format == ExportFormat::Der) {
      const Bytes der = x509::certificate_der(cert.get());
      content.assign(as_text(der));
      result.description = "DER certificate";
    } else {
      content = x509::certificate_pem(cert.get());
      for (const auto& c : chain) content += x509::certificate_pem(c.get());
      result.description = chain.empty() ? "PEM certificate" : "PEM certificate and chain";
    }
    const Bytes back = write_for_reading_back(r, content, 0644);
    const auto parsed = formats::read_input(back, where);
    if (parsed.certificates.empty() || X509_cmp(parsed.certificates.front().get(), cert.get()) != 0)
      throw verify_failed(r, "the certificate read back differs");
    deliver(r, content);
    result.verification = "read back: the same certificate";
    store.record("exported", r.name, result.description + " to " + where);
    store.flush_audit();
    return result;
  }

  if (!r.password) throw Error(Errc::Internal, "a private-key export needs a password");
  const SecureBytes pkcs8 = store.open_private_key(*key);
  const ossl::PKey pkey = x509::private_key_from_pkcs8(pkcs8);
  const Bytes spki = x509::spki_der(pkey.get());
  if (x509::spki_sha256_hex(spki) != key->spki_sha256)
    throw Error(Errc::StoreDamaged,
                "the stored key of \"" + r.name +
                    "\" does not match its "
                    "recorded public key",
                "the store is damaged", "restore the key from a backup");

  if (r.format == ExportFormat::Pfx) {
    std::vector<const X509*> chain_view;
    for (const auto& c : chain) chain_view.push_back(c.get());
    const Bytes pfx =
        formats::write_pkcs12(pkey.get(), cert.get(), chain_view, r.name, *r.password, r.profile);
    const Bytes back = write_for_reading_back(r, as_text(pfx), 0600);
    result.description =
        r.profile == formats::Pkcs12Profile::Modern
            ? "PKCS#12, modern profile (AES-256-CBC, PBKDF2-HMAC-SHA256, SHA-256 MAC, " +
                  std::to_string(formats::k_pkcs12_modern_iterations) + " iterations)"
            : "PKCS#12, compat profile (3DES key and certificate bags, SHA-1 MAC, " +
                  std::to_string(formats::k_pkcs12_compat_iterations) + " iterations)";
    try {
      const auto contents = formats::read_pkcs12(back, where, r.password);
      if (contents.keys.size() != 1 || x509::spki_der(contents.keys.front().key.get()) != spki)
        throw verify_failed(r, "the key read back differs");
      if (contents.certs.size() != result.certificates)
        throw verify_failed(r, "certificates are missing after reading back");
    } catch (const Error& e) {
      if (e.code() == Errc::Io || e.code() == Errc::Internal) throw;
      throw verify_failed(r, e.summary());
    }
    deliver(r, as_text(pfx));
    result.verification = "read back with the password: the same key and " +
                          std::to_string(result.certificates) + " certificate(s)";
    store.record("exported", r.name, "private key: " + result.description + " to " + where);
    store.flush_audit();
    return result;
  }

  if (r.format == ExportFormat::Der)
    throw Error(Errc::Usage, "a private key is exported as PEM or PKCS#12",
                "--format der writes one certificate", "add --cert-only, or use --format pem");

  std::string content = formats::encrypted_pkcs8_pem(pkey.get(), *r.password);
  if (cert) content += x509::certificate_pem(cert.get());
  for (const auto& c : chain) content += x509::certificate_pem(c.get());
  const Bytes back = write_for_reading_back(r, content, 0600);
  result.description = "PEM: encrypted PKCS#8 key (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA256)" +
                       std::string(cert ? " with the certificate" : "") +
                       (chain.empty() ? "" : " and chain");
  try {
    const auto keys = formats::read_private_keys(back, where, r.password);
    if (keys.size() != 1 || x509::spki_der(keys.front().key.get()) != spki)
      throw verify_failed(r, "the key read back differs");
  } catch (const Error& e) {
    if (e.code() == Errc::Io || e.code() == Errc::Internal) throw;
    throw verify_failed(r, e.summary());
  }
  deliver(r, content);
  OPENSSL_cleanse(content.data(), content.size());
  result.verification = "read back with the password: the same key";
  store.record("exported", r.name, "private key: " + result.description + " to " + where);
  store.flush_audit();
  return result;
}

}  // namespace keysafe::ops
