// keysafe serve's TLS identity: the self-signed pair beside the store, or a stored entry.
#include "keysafe/ops/server_identity.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/issue.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

constexpr std::int64_t k_day = 86400;
// Long enough not to trouble a pinned local server; browsers cap publicly trusted
// certificates at 398 days, which a self-signed certificate is not.
constexpr std::int64_t k_self_signed_days = 825;

std::string quoted(const std::filesystem::path& p) { return "\"" + p.string() + "\""; }

SecureBytes key_pem(EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    ossl::fail(Errc::Crypto, "cannot encode the server's TLS key");
  const char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return SecureBytes(data, data + len);
}

x509::AltNames names_for(const std::string& host) {
  x509::AltNames names;
  try {
    names.ip.push_back(x509::normalize_ip(host));
  } catch (const Error&) {
    names.dns.push_back(x509::normalize_dns_name(host));
  }
  return names;
}

Error remove_and_retry(const std::filesystem::path& key_file, const std::filesystem::path& cert_file,
                       std::string summary, std::string cause) {
  return Error(Errc::Refused, std::move(summary), std::move(cause),
               "remove both files and start keysafe serve again to make a new pair: rm " +
                   key_file.string() + " " + cert_file.string());
}

ServerIdentity read_pair(const files::RegularFile& key_file, const files::RegularFile& cert_file,
                         const std::filesystem::path& key_path,
                         const std::filesystem::path& cert_path, std::int64_t now) {
  if ((key_file.status.st_mode & 077) != 0)
    throw Error(Errc::Refused, "refusing the server's TLS key " + quoted(key_path),
                "group or others can read it", "chmod 600 " + key_path.string());
  ServerIdentity id;
  ossl::Bio kb(BIO_new_mem_buf(key_file.content.data(), static_cast<int>(key_file.content.size())));
  id.key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ossl::Bio cb(BIO_new_mem_buf(cert_file.content.data(), static_cast<int>(cert_file.content.size())));
  id.certificate.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  ossl::clear_errors();
  if (!id.key || !id.certificate)
    throw remove_and_retry(key_path, cert_path,
                           "the server's TLS files " + quoted(key_path) + " and " +
                               quoted(cert_path) + " do not read",
                           "they are not a PEM private key and certificate");
  if (X509_check_private_key(id.certificate.get(), id.key.get()) != 1) {
    ossl::clear_errors();
    throw remove_and_retry(key_path, cert_path,
                           "the server's TLS key and certificate do not belong together",
                           quoted(cert_path) + " was made for another key");
  }
  const auto info = x509::inspect_certificate(id.certificate.get());
  if (info.not_after <= now)
    throw remove_and_retry(key_path, cert_path,
                           "the server's self-signed certificate " + quoted(cert_path) +
                               " has expired",
                           "it was valid until " + std::to_string(info.not_after) +
                               " (Unix time)");
  id.fingerprint_sha256 = info.fingerprint_sha256;
  id.not_after = info.not_after;
  return id;
}

}  // namespace

ServerIdentity self_signed_server_identity(const std::filesystem::path& dir,
                                           const std::string& stem, const std::string& host,
                                           std::int64_t now) {
  const auto names = names_for(host);
  const std::string canonical = names.ip.empty() ? names.dns.front() : names.ip.front();
  const std::string key_name = stem + ".serve-" + canonical + ".key";
  const std::string cert_name = stem + ".serve-" + canonical + ".crt";
  auto directory = files::TrustedDirectory::resolve(dir);
  // A database store's pair goes in keysafe's data directory, which may not exist yet.
  if (!directory.exists()) directory.create_missing();
  const auto key_path = directory.path() / key_name;
  const auto cert_path = directory.path() / cert_name;

  auto key_file = files::read_regular_at(directory.fd(), directory.path(), key_name);
  auto cert_file = files::read_regular_at(directory.fd(), directory.path(), cert_name);
  if (key_file && cert_file) {
    auto id = read_pair(*key_file, *cert_file, key_path, cert_path, now);
    id.key_file = key_path;
    id.certificate_file = cert_path;
    return id;
  }
  if (key_file || cert_file)
    throw remove_and_retry(key_path, cert_path, "half of the server's TLS pair is missing",
                           "only " + quoted(key_file ? key_path : cert_path) + " exists");

  ServerIdentity id;
  id.key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const auto subject = x509::parse_subject("CN=" + canonical);
  const auto serial = x509::random_serial();
  x509::LeafSpec spec;
  spec.public_key = id.key.get();
  spec.subject = subject.get();
  spec.alt_names = names;
  spec.validity = {now - 300, now + k_self_signed_days * k_day};
  spec.serial = serial.get();
  id.certificate = x509::build_leaf_certificate(nullptr, id.key.get(), spec);
  // The key first: a certificate without its key is never left behind, and O_EXCL (linkat)
  // means a racing second start fails here instead of replacing the first one's key.
  const SecureBytes pem = key_pem(id.key.get());
  files::write_file_at(directory.fd(), directory.path(), key_name,
                       std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()),
                       0600, files::Overwrite::Refuse);
  files::write_file_at(directory.fd(), directory.path(), cert_name,
                       x509::certificate_pem(id.certificate.get()), 0600,
                       files::Overwrite::Refuse);
  const auto info = x509::inspect_certificate(id.certificate.get());
  id.fingerprint_sha256 = info.fingerprint_sha256;
  id.not_after = info.not_after;
  id.created = true;
  id.key_file = key_path;
  id.certificate_file = cert_path;
  return id;
}

ServerIdentity entry_server_identity(store::Keystore& store, const std::string& name) {
  auto entry = store.entry(name);
  if (!entry)
    throw Error(Errc::NotFound, "no entry named \"" + name + "\"",
                "--tls-entry names the entry whose certificate keysafe serve presents",
                "see the entries with: keysafe list");
  if (!entry->key.has_private_key || !entry->current)
    throw Error(Errc::Usage, "\"" + name + "\" cannot serve TLS",
                !entry->key.has_private_key ? "the entry holds a certificate without its key"
                                            : "its certificate has not been installed yet",
                "name an installed entry with its key (keysafe list shows the states)");
  ServerIdentity id;
  id.key = x509::private_key_from_pkcs8(store.open_private_key(entry->key));
  id.certificate = x509::certificate_from_der(store.certificate_der(entry->current->id));
  for (const auto& der : store.chain_of(entry->current->id)) {
    auto c = x509::certificate_from_der(der);
    const bool self_signed = X509_check_issued(c.get(), c.get()) == X509_V_OK;
    ossl::clear_errors();
    if (!self_signed) id.chain.push_back(std::move(c));
  }
  id.fingerprint_sha256 = entry->current->fingerprint_sha256;
  id.not_after = entry->current->not_after;
  return id;
}

}  // namespace keysafe::ops
