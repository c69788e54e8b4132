// find-key: reading the clear headers of passphrase backups and the indexes beside recipient
// backups, from directories that may hold anything.
#include "keysafe/ops/find_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keysafe/backup/container.hpp"
#include "keysafe/backup/index.hpp"
#include "keysafe/error.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/files/walk.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/formats/pkcs12.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/shell_word.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {
namespace {

// The magic line and a header line of at most 64 KiB (container.cpp refuses longer ones).
constexpr std::size_t k_header_read_limit = backup::k_magic_line.size() + 64 * 1024 + 1;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() > suffix.size() && std::string_view(s).ends_with(suffix);
}

// The certificate of a bundle that issues none of the others and is no CA: the leaf.
X509* end_entity(const std::vector<ossl::Cert>& certs) {
  for (const auto& c : certs) {
    const bool issues_another = std::any_of(certs.begin(), certs.end(), [&](const ossl::Cert& o) {
      return o.get() != c.get() && X509_check_issued(c.get(), o.get()) == X509_V_OK;
    });
    if (!issues_another && X509_check_ca(c.get()) == 0) {
      ossl::clear_errors();
      return c.get();
    }
  }
  ossl::clear_errors();
  return certs.front().get();
}

KeyToFind from_certificate(X509* cert) {
  return {x509::spki_sha256_hex(x509::spki_der(cert)),
          "the certificate " + x509::inspect_certificate(cert).subject};
}

// A PEM or DER SubjectPublicKeyInfo; null when the data is neither.
ossl::PKey read_public_key(std::span<const std::uint8_t> data) {
  ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  ossl::PKey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    const unsigned char* p = data.data();
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(data.size())));
    if (key && p != data.data() + data.size()) key.reset();
  }
  ossl::clear_errors();
  return key;
}

bool names_key(const std::vector<std::string>& hashes, const std::vector<bool>& private_key,
               const std::string& spki, std::size_t& at) {
  for (std::size_t i = 0; i < hashes.size(); ++i)
    // A certificate-only entry (recorded without its private key) is not what is sought.
    if (hashes[i] == spki && (private_key.empty() || private_key[i])) {
      at = i;
      return true;
    }
  return false;
}

class Scanner final {
 public:
  Scanner(const std::string& spki, FindKeyResult& result) : m_spki(spki), m_result(result) {}

  void visit(const files::WalkedFile& f) {
    ++m_result.files_seen;
    if (ends_with(f.name, backup::k_index_suffix)) return read_index(f);
    // A recipient backup is read through its index (met on its own); none is there to read.
    const std::string index = f.name + std::string(backup::k_index_suffix);
    struct stat st {};
    const bool has_index = ::fstatat(f.dir_fd, index.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (has_index) return;
    const auto head = files::read_prefix_at(f.dir_fd, f.name, k_header_read_limit);
    if (!head) return;
    const std::string_view text(reinterpret_cast<const char*>(head->data()), head->size());
    if (text.starts_with("KEYSAFE-BACKUP ")) return read_passphrase_header(f, *head);
    // Opaque without its recovery key: say so when it has no index.
    if (ends_with(f.name, ".p7m") && !head->empty() && (*head)[0] == 0x30)
      m_result.problems.push_back(
          {f.path, "a recipient backup without an index (" + index +
                       "): what it holds cannot be told without its recovery key"});
  }

 private:
  void read_passphrase_header(const files::WalkedFile& f, const Bytes& head) {
    ++m_result.backups_read;
    backup::ContainerHeader h;
    try {
      (void)backup::detect_container(head, f.path.string());  // a newer format line
      h = backup::read_header(head, f.path.string());
    } catch (const Error& e) {
      m_result.problems.push_back({f.path, e.summary() + ": " + e.cause()});
      return;
    }
    std::size_t at = 0;
    if (names_key(h.spki_sha256, h.private_key, m_spki, at))
      m_result.found.push_back({f.path, h.names[at], h.created, BackupKind::Passphrase, {}});
  }

  void read_index(const files::WalkedFile& f) {
    ++m_result.backups_read;
    const auto data = files::read_prefix_at(f.dir_fd, f.name, backup::k_max_index_size + 1);
    if (!data) return;
    backup::BackupIndex index;
    try {
      index = backup::decode_index(*data, f.path.string());
    } catch (const Error& e) {
      m_result.problems.push_back({f.path, e.summary() + ": " + e.cause()});
      return;
    }
    const auto backup_path = f.path.parent_path() / index.backup;
    if (f.name != index.backup + std::string(backup::k_index_suffix)) {
      m_result.problems.push_back(
          {f.path, "the index names the backup \"" + index.backup +
                       "\", not the file it is beside; it was renamed or copied, not trusted"});
      return;
    }
    std::size_t at = 0;
    if (!names_key(index.spki_sha256, index.private_key, m_spki, at)) return;
    // Trusted only for the backup it was written for: an index edited to name a key, or a
    // backup replaced by another, is reported instead.
    const auto actual = files::sha256_file_at(f.dir_fd, index.backup, files::k_max_input_size);
    if (!actual) {
      m_result.problems.push_back(
          {f.path, "the index names the key, but its backup " + backup_path.string() +
                       " is missing or not a regular file"});
      return;
    }
    if (*actual != index.backup_sha256) {
      m_result.problems.push_back(
          {f.path, "the index names the key, but does not match its backup " +
                       backup_path.string() + " (SHA-256 " + *actual + ", the index records " +
                       index.backup_sha256 +
                       "): the backup or the index was altered or replaced; not trusted"});
      return;
    }
    m_result.found.push_back(
        {backup_path, index.names[at], index.created, BackupKind::Recipient, f.path});
  }

  const std::string& m_spki;
  FindKeyResult& m_result;
};

}  // namespace

KeyToFind key_to_find(std::span<const std::uint8_t> data, std::string_view source,
                      const std::optional<SecureBytes>& password) {
  if (formats::looks_like_pkcs12(data)) {
    const auto p12 = formats::read_pkcs12(data, source, password);
    if (!p12.keys.empty())
      return {x509::spki_sha256_hex(x509::spki_der(p12.keys.front().key.get())),
              "the key in the PKCS#12 file"};
    if (p12.certs.empty())
      throw Error(Errc::BadInput, "\"" + std::string(source) + "\" holds no key or certificate",
                  "the PKCS#12 file is empty", "give the certificate or its request");
    std::vector<ossl::Cert> certs;
    for (const auto& c : p12.certs) certs.emplace_back(X509_dup(c.cert.get()));
    return from_certificate(end_entity(certs));
  }
  if (auto key = read_public_key(data))
    return {x509::spki_sha256_hex(x509::spki_der(key.get())), "the public key"};
  const auto input = formats::read_input(data, source);
  if (!input.certificates.empty()) return from_certificate(end_entity(input.certificates));
  if (!input.requests.empty()) {
    X509_REQ* req = input.requests.front().get();
    return {x509::spki_sha256_hex(x509::spki_der(req)),
            "the request " + x509::inspect_request(req).subject};
  }
  throw Error(Errc::BadInput,
              "\"" + std::string(source) + "\" holds no certificate, request or public key",
              "find-key looks for the backup of the private key that belongs to one of them",
              "give the certificate, its request, a PKCS#12 file or the public key (PEM)");
}

FindKeyResult find_key_in_backups(const std::vector<std::filesystem::path>& dirs,
                                  const std::string& spki_sha256) {
  FindKeyResult result;
  Scanner scanner(spki_sha256, result);
  std::vector<std::string> skipped;
  for (const auto& dir : dirs)
    files::walk_regular_files(dir, {}, [&](const files::WalkedFile& f) { scanner.visit(f); },
                              skipped);
  for (const auto& s : skipped) result.problems.push_back({"", s});
  return result;
}

std::string restore_command(const BackupHolding& holding,
                            const std::optional<std::filesystem::path>& store) {
  std::string cmd = "keysafe restore " + shell_quote(holding.file.string()) + " --only " +
                    shell_quote(holding.entry);
  if (holding.kind == BackupKind::Recipient) cmd += " --recovery-key RECOVERY-KEY";
  if (store) cmd += " --store " + shell_quote(store->string());
  return cmd;
}

}  // namespace keysafe::ops
