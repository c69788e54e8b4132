// Backup containers: an authenticated clear header + AES-256-GCM body, or CMS
// AuthEnvelopedData (reading old EnvelopedData too).
#include "keysafe/backup/container.hpp"

#include <openssl/cms.h>

#include <nlohmann/json.hpp>

#include "json_fields.hpp"
#include "keysafe/crypto/kdf_bounds.hpp"
#include "keysafe/ossl/errors.hpp"

namespace keysafe::backup {
namespace {

using ossl::Cms;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// AuthEnvelopedData (RFC 5083) is what keysafe writes; EnvelopedData (RFC 5652 §6) with
// AES-256-CBC is what it wrote before, still read so that old backups restore.
bool is_recipient_type(int nid) {
  return nid == NID_id_smime_ct_authEnvelopedData || nid == NID_pkcs7_enveloped;
}

Cms parse_cms(std::span<const std::uint8_t> file) {
  const unsigned char* p = file.data();
  Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(file.size())));
  if (!cms || p != file.data() + file.size() ||
      !is_recipient_type(OBJ_obj2nid(CMS_get0_type(cms.get())))) {
    ossl::clear_errors();
    return nullptr;
  }
  return cms;
}

// The header line: from the end of the magic line to the next newline.
std::string_view header_line(std::span<const std::uint8_t> file, std::string_view source) {
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  const auto end = text.find('\n', k_magic_line.size());
  if (end == std::string_view::npos || end > 64 * 1024)
    throw Error(Errc::Damaged, quoted(source) + " is a damaged keysafe backup",
                "its header line is missing or cut off (the file is truncated)",
                "use another copy of the backup");
  return text.substr(k_magic_line.size(), end + 1 - k_magic_line.size());
}

}  // namespace

ContainerKind detect_container(std::span<const std::uint8_t> file, std::string_view source) {
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  if (text.starts_with(k_magic_line)) return ContainerKind::Passphrase;
  if (text.starts_with("KEYSAFE-BACKUP ")) {
    const auto end = text.find('\n');
    throw Error(Errc::Unsupported,
                quoted(source) + " was made by a newer keysafe",
                "its format line is \"" +
                    std::string(text.substr(0, std::min<std::size_t>(end, 40))) +
                    "\"; this keysafe reads format 1",
                "restore it with a newer keysafe");
  }
  if (parse_cms(file)) return ContainerKind::Recipient;
  throw Error(Errc::BadInput, quoted(source) + " is not a keysafe backup",
              "it starts neither with \"KEYSAFE-BACKUP\" nor as CMS AuthEnvelopedData or "
              "EnvelopedData",
              "give a file written by keysafe backup; for PKCS#12 or PEM files use keysafe import");
}

Bytes seal_with_passphrase(std::span<const std::uint8_t> payload,
                           std::span<const std::uint8_t> passphrase, const crypto::KdfParams& kdf,
                           std::int64_t created, const std::vector<std::string>& names,
                           const std::vector<std::string>& spki_sha256,
                           const std::vector<bool>& private_key) {
  const Bytes salt = random_bytes(16);
  nlohmann::json header = {
      {"format", "keysafe-backup"},
      {"version", k_container_version},
      {"encryption", "scrypt/aes-256-gcm"},
      {"kdf", {{"name", "scrypt"}, {"log2_n", kdf.log2_n}, {"r", kdf.r}, {"p", kdf.p},
               {"salt", to_base64(salt)}}},
      {"created", created},
      {"names", names},
      {"spki_sha256", spki_sha256},
  };
  if (!private_key.empty()) header["private_key"] = private_key;
  const std::string head = std::string(k_magic_line) + header.dump() + "\n";
  const SecureBytes key = crypto::derive_kek(passphrase, salt, kdf);
  const Bytes body = crypto::aead_seal(key, payload, as_span(head));
  Bytes out(head.begin(), head.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

ContainerHeader read_header(std::span<const std::uint8_t> file, std::string_view source) {
  const auto line = header_line(file, source);
  const auto j = nlohmann::json::parse(line, nullptr, false);
  ContainerHeader h;
  try {
    if (!j.is_object()) throw std::invalid_argument("not a JSON object");
    if (j.value("format", "") != "keysafe-backup")
      throw std::invalid_argument("\"format\" is not \"keysafe-backup\"");
    h.version = detail::integer_field<int>(j, "version");
    if (h.version > k_container_version)
      throw Error(Errc::Unsupported, quoted(source) + " was made by a newer keysafe",
                  "its format version is " + std::to_string(h.version) +
                      "; this keysafe reads version " + std::to_string(k_container_version),
                  "restore it with a newer keysafe");
    const auto& kdf = j.at("kdf");
    if (kdf.at("name").get<std::string>() != "scrypt")
      throw Error(Errc::Unsupported, quoted(source) + " uses an unknown key derivation",
                  "its header names " + kdf.at("name").get<std::string>(),
                  "restore it with a newer keysafe");
    h.kdf.log2_n = detail::integer_field<std::uint32_t>(kdf, "log2_n");
    h.kdf.r = detail::integer_field<std::uint32_t>(kdf, "r");
    h.kdf.p = detail::integer_field<std::uint32_t>(kdf, "p");
    h.salt = from_base64(kdf.at("salt").get<std::string>());
    h.created = detail::integer_field<std::int64_t>(j, "created");
    h.names = j.value("names", std::vector<std::string>{});
    h.spki_sha256 = j.value("spki_sha256", std::vector<std::string>{});
    h.private_key = j.value("private_key", std::vector<bool>{});
    if (h.names.size() != h.spki_sha256.size() ||
        (!h.private_key.empty() && h.private_key.size() != h.names.size()))
      throw std::invalid_argument("\"names\", \"spki_sha256\" and \"private_key\" differ in length");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw Error(Errc::Damaged, quoted(source) + " is a damaged keysafe backup",
                "its header cannot be read (" + detail::reason(ex) + ")",
                "use another copy of the backup");
  }
  if (h.kdf.log2_n < crypto::k_min_log2_n || h.kdf.r == 0 || h.kdf.p == 0 || h.salt.size() < 8)
    throw Error(Errc::Damaged, quoted(source) + " is a damaged keysafe backup",
                "its key-derivation parameters are invalid (N below 2^" +
                    std::to_string(crypto::k_min_log2_n) + ", r or p zero, or a short salt)",
                "use another copy of the backup");
  // Bounded before any derivation, so a crafted header cannot choose keysafe's memory or time.
  crypto::check_kdf_params(h.kdf, Errc::Damaged, "the backup " + quoted(source),
                           "no keysafe writes such a header (it was altered); use another copy "
                           "of the backup");
  return h;
}

SecureBytes open_with_passphrase(std::span<const std::uint8_t> file,
                                 std::span<const std::uint8_t> passphrase,
                                 std::string_view source) {
  const ContainerHeader h = read_header(file, source);
  const std::size_t head_len = k_magic_line.size() + header_line(file, source).size();
  const auto head = file.subspan(0, head_len);
  const auto body = file.subspan(head_len);
  if (body.size() < crypto::k_nonce_size + crypto::k_tag_size)
    throw Error(Errc::Damaged, quoted(source) + " is a damaged keysafe backup",
                "the encrypted part is missing or truncated", "use another copy of the backup");
  const SecureBytes key = crypto::derive_kek(passphrase, h.salt, h.kdf);
  SecureBytes payload;
  if (!crypto::aead_open(key, body, head, payload))
    // GCM cannot tell a wrong key from altered bytes; the header parsed, so say both.
    throw Error(Errc::FilePassword, "cannot open the backup " + quoted(source),
                "the passphrase is wrong, or the file was altered or damaged after it was "
                "written (its authentication tag does not verify)",
                "enter the passphrase given to keysafe backup (--in-passphrase-file FILE or "
                "KEYSAFE_IN_PASSPHRASE); if it is right, use another copy of the backup");
  return payload;
}

Bytes seal_to_recipient(std::span<const std::uint8_t> payload, X509* recipient) {
  ossl::Bio in(BIO_new_mem_buf(payload.data(), static_cast<int>(payload.size())));
  ossl::BorrowedCertStack recips(sk_X509_new_null());
  if (!recips || sk_X509_push(recips.get(), recipient) <= 0)
    ossl::fail(Errc::Crypto, "cannot encrypt the backup to the recovery certificate");
  // An AEAD cipher makes OpenSSL write AuthEnvelopedData with AES-256-GCM (RFC 5084): any
  // altered byte of the nonce, the encrypted content or the tag fails to decrypt.
  Cms cms(CMS_encrypt(recips.get(), in.get(), EVP_aes_256_gcm(), CMS_BINARY));
  if (!cms)
    ossl::fail(Errc::BadInput, "cannot encrypt the backup to the recovery certificate",
               "its key type cannot be a CMS recipient (RSA and EC keys can)",
               "use an RSA or EC recovery certificate");
  // Measured, then written into our own buffer: nothing for the caller to free.
  const int len = i2d_CMS_ContentInfo(cms.get(), nullptr);
  Bytes out(len > 0 ? static_cast<std::size_t>(len) : 0);
  unsigned char* p = out.data();
  if (len <= 0 || i2d_CMS_ContentInfo(cms.get(), &p) != len)
    ossl::fail(Errc::Crypto, "encoding the CMS backup failed");
  return out;
}

SecureBytes open_with_recipient_key(std::span<const std::uint8_t> file, EVP_PKEY* key,
                                    X509* cert, std::string_view source) {
  Cms cms = parse_cms(file);
  if (!cms)
    throw Error(Errc::Damaged, quoted(source) + " is a damaged recipient backup",
                "it does not decode as CMS AuthEnvelopedData or EnvelopedData",
                "use another copy of the backup");
  ossl::Bio out(BIO_new(BIO_s_secmem()));
  if (CMS_decrypt(cms.get(), key, cert, nullptr, out.get(), CMS_BINARY) != 1)
    ossl::fail(Errc::FilePassword, "cannot open the backup " + quoted(source),
               "the recovery key given is not the one this backup was encrypted to, or the "
               "file was altered or damaged (its authentication tag does not verify)",
               "give the private key of the recovery certificate named at backup time with "
               "--recovery-key FILE");
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return SecureBytes(data, data + len);
}

bool addressed_to(std::span<const std::uint8_t> file, X509* recipient) {
  Cms cms = parse_cms(file);
  if (!cms) return false;
  STACK_OF(CMS_RecipientInfo)* infos = CMS_get0_RecipientInfos(cms.get());
  for (int i = 0; i < sk_CMS_RecipientInfo_num(infos); ++i) {
    CMS_RecipientInfo* ri = sk_CMS_RecipientInfo_value(infos, i);
    const int type = CMS_RecipientInfo_type(ri);
    if (type == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(ri, recipient) == 0)
      return true;
    if (type == CMS_RECIPINFO_AGREE) {
      STACK_OF(CMS_RecipientEncryptedKey)* reks = CMS_RecipientInfo_kari_get0_reks(ri);
      for (int k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks); ++k)
        if (CMS_RecipientEncryptedKey_cert_cmp(sk_CMS_RecipientEncryptedKey_value(reks, k),
                                               recipient) == 0)
          return true;
    }
  }
  ossl::clear_errors();
  return false;
}

}  // namespace keysafe::backup
