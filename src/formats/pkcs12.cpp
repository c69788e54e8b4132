// PKCS#12 (RFC 7292) reading by walking every safe and bag, and writing in two profiles.
#include "keysafe/formats/pkcs12.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "keysafe/formats/private_key.hpp"
#include "keysafe/ossl/errors.hpp"
#include "kdf_cost.hpp"
#include "pbe.hpp"

namespace keysafe::formats {
namespace {

using detail::quoted;

constexpr const char* k_password_remedy =
    "give the password the file was exported with (mind the keyboard layout and non-ASCII "
    "characters)";

// Deep enough for any producer (they nest SafeContents once at most); stops hostile files.
constexpr int k_max_bag_depth = 8;

[[noreturn]] void fail_file(Errc code, std::string_view source, const std::string& summary,
                            std::string cause, std::string remedy) {
  ossl::fail(code, quoted(source) + " " + summary, std::move(cause), std::move(remedy));
}

// One way of presenting the password to OpenSSL. RFC 7292 Appendix B.1 turns the password
// into a NUL-terminated BMPString; "no password" is ambiguous in practice: Windows and Java
// compute the MAC over an absent password (OpenSSL's NULL), others over "" (just the NUL).
struct Pass {
  const char* chars;  // nullptr: absent
  int len;
};

std::vector<Pass> candidates(const std::optional<SecureBytes>& password, const SecureBytes& zt) {
  if (!password || password->empty()) return {Pass{nullptr, 0}, Pass{"", 0}};
  return {Pass{reinterpret_cast<const char*>(zt.data()), static_cast<int>(password->size())}};
}

ossl::Pkcs12 decode(std::span<const std::uint8_t> data, std::size_t& consumed) {
  const unsigned char* p = data.data();
  ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(data.size())));
  consumed = p12 ? static_cast<std::size_t>(p - data.data()) : 0;
  return p12;
}

bool starts_with(std::span<const std::uint8_t> data, std::initializer_list<std::uint8_t> magic) {
  return data.size() >= magic.size() && std::equal(magic.begin(), magic.end(), data.begin());
}

// `Owned` is the handle (keysafe/ossl/handles.hpp) that frees what `d2i` decodes.
template <class Owned, class T>
bool decodes_whole(std::span<const std::uint8_t> data,
                   T* (*d2i)(T**, const unsigned char**, long)) {
  const unsigned char* p = data.data();
  const Owned obj(d2i(nullptr, &p, static_cast<long>(data.size())));
  return obj != nullptr && p == data.data() + data.size();
}

[[noreturn]] void not_pkcs12(std::span<const std::uint8_t> data, std::string_view source) {
  const std::string detail = ossl::take_errors();
  if (starts_with(data, {0xFE, 0xED, 0xFE, 0xED}))
    fail_file(Errc::BadInput, source, "is a Java keystore (JKS), not a PKCS#12 file",
              "it starts with FEEDFEED, the magic number of Java's own JKS format",
              "convert it with keytool -importkeystore -srckeystore " + std::string(source) +
                  " -srcstoretype JKS -destkeystore converted.p12 -deststoretype PKCS12, then "
                  "use converted.p12");
  if (starts_with(data, {0xCE, 0xCE, 0xCE, 0xCE}))
    fail_file(Errc::BadInput, source, "is a Java JCEKS keystore, not a PKCS#12 file",
              "it starts with CECECECE, the magic number of Java's JCEKS format",
              "convert it with keytool -importkeystore -srckeystore " + std::string(source) +
                  " -srcstoretype JCEKS -destkeystore converted.p12 -deststoretype PKCS12, then "
                  "use converted.p12");
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  if (text.find("-----BEGIN ") != std::string_view::npos)
    fail_file(Errc::BadInput, source, "is PEM, not a PKCS#12 file",
              "it holds -----BEGIN blocks; PKCS#12 files are binary (DER)",
              "read it as PEM, or bundle it first: openssl pkcs12 -export -in CERT.pem -inkey "
              "KEY.pem -out FILE.p12");
  if (decodes_whole<ossl::Cert>(data, d2i_X509))
    fail_file(Errc::BadInput, source, "is a certificate, not a PKCS#12 file",
              "it decodes as a DER X.509 certificate", "read it as a certificate");
  if (decodes_whole<ossl::Pkcs8Info>(data, d2i_PKCS8_PRIV_KEY_INFO) ||
      decodes_whole<ossl::X509Sig>(data, d2i_X509_SIG))
    fail_file(Errc::BadInput, source, "is a PKCS#8 private key, not a PKCS#12 file",
              "it decodes as a DER PKCS#8 key", "read it as a private key");
  ossl::clear_errors();
  if (!data.empty() && data[0] == 0x30)  // a DER SEQUENCE, as every PFX starts
    fail_file(Errc::Damaged, source, "is a damaged or truncated PKCS#12 file",
              "it starts like DER but does not decode as an RFC 7292 PFX (" + detail + ")",
              "copy the file again in binary mode (no text-mode FTP, e-mail re-encoding or "
              "base64 step) or export it again");
  fail_file(Errc::BadInput, source, "is not a PKCS#12 file",
            "it is not DER: a .p12/.pfx file starts with a SEQUENCE (byte 0x30)",
            "give the .p12/.pfx file itself (if it is base64 text, decode it first: base64 -d)");
}

// The PFX version and authSafe content type (RFC 7292 §4), decoded generically since OpenSSL
// 3.0 keeps PKCS12 opaque: tells a signed PFX (public-key integrity) from garbage.
struct PfxOutline {
  long version = -1;
  std::string content_type = "(unreadable)";
  bool signed_data = false;
};

PfxOutline outline(std::span<const std::uint8_t> data) {
  PfxOutline out;
  const unsigned char* p = data.data();
  ossl::OwnedAsn1Sequence seq(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(data.size())));
  if (!seq || sk_ASN1_TYPE_num(seq.get()) < 2) return out;
  const ASN1_TYPE* version = sk_ASN1_TYPE_value(seq.get(), 0);
  if (version->type == V_ASN1_INTEGER) out.version = ASN1_INTEGER_get(version->value.integer);
  const ASN1_TYPE* content = sk_ASN1_TYPE_value(seq.get(), 1);
  if (content->type != V_ASN1_SEQUENCE) return out;
  const unsigned char* q = content->value.sequence->data;
  ossl::Pkcs7 info(d2i_PKCS7(nullptr, &q, content->value.sequence->length));
  if (!info) return out;
  out.content_type = detail::oid_text(info->type);
  out.signed_data = OBJ_obj2nid(info->type) == NID_pkcs7_signed;
  return out;
}

std::string friendly_name(const PKCS12_SAFEBAG* bag) {
  // friendlyName is a BMPString (RFC 7292 §4.2, PKCS#9). Not PKCS12_get_friendlyname: OpenSSL
  // 3.0's BMP-to-UTF-8 step fails when the last character needs three UTF-8 bytes ("☺").
  const ASN1_TYPE* attr = PKCS12_SAFEBAG_get0_attr(bag, NID_friendlyName);
  if (attr == nullptr || attr->type != V_ASN1_BMPSTRING || attr->value.bmpstring == nullptr)
    return {};
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, attr->value.bmpstring);
  if (n < 0) {
    ossl::clear_errors();
    return {};
  }
  const ossl::Allocated<unsigned char> owned(utf8);
  return std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(n));
}

Bytes local_key_id(const PKCS12_SAFEBAG* bag) {
  const ASN1_TYPE* attr = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
  if (attr == nullptr || attr->type != V_ASN1_OCTET_STRING || attr->value.octet_string == nullptr)
    return {};
  const unsigned char* p = ASN1_STRING_get0_data(attr->value.octet_string);
  return Bytes(p, p + ASN1_STRING_length(attr->value.octet_string));
}

// Where decryption failed, for the message; empty when everything decrypted.
struct DecryptFailure {
  std::string where;
  std::string algorithm;
};

class Walker {
 public:
  Walker(std::string_view source, Pass pass, Pkcs12Contents& out)
      : m_source(source), m_pass(pass), m_out(out) {}

  // False (with failure()) when an encrypted part does not decrypt with this password.
  bool walk(STACK_OF(PKCS7) * safes) {
    for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
      if (!walk_safe(sk_PKCS7_value(safes, i), "safe " + std::to_string(i + 1))) return false;
    }
    return true;
  }
  const DecryptFailure& failure() const { return m_failure; }

 private:
  void check_pbe(const X509_ALGOR* alg, const std::string& where) {
    const detail::PbeInfo pbe = detail::describe_pbe(alg);
    if (pbe.status == detail::PbeInfo::Status::Unsupported)
      fail_file(Errc::Unsupported, m_source, "uses an unsupported encryption algorithm",
                where + " is encrypted with " + pbe.problem,
                "export the file again with AES-256-CBC (PBES2) or 3DES encryption, e.g. "
                "openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC from a system "
                "that can read it");
    if (pbe.status == detail::PbeInfo::Status::Damaged)
      fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file", where + ": " + pbe.problem,
                "copy the file again or export it again");
    m_algorithm = pbe.name;
    detail::check_pbe_cost(alg, m_source, where);
  }

  bool fail_decrypt(std::string where) {
    ossl::clear_errors();
    m_failure = {std::move(where), m_algorithm};
    return false;
  }

  // RFC 7292 §4.1: each ContentInfo of the AuthenticatedSafe is plain data or
  // password-encrypted data (public-key EnvelopedData is the rare third kind).
  bool walk_safe(PKCS7* safe, const std::string& where) {
    const int type = OBJ_obj2nid(safe->type);
    ossl::OwnedSafeBagStack bags;
    if (type == NID_pkcs7_data) {
      bags.reset(PKCS12_unpack_p7data(safe));
      if (!bags)
        fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                  where + " does not decode as SafeContents", "copy the file again or export it again");
    } else if (type == NID_pkcs7_encrypted) {
      const PKCS7_ENCRYPT* enc = safe->d.encrypted;
      if (enc == nullptr || enc->enc_data == nullptr || enc->enc_data->algorithm == nullptr ||
          enc->enc_data->enc_data == nullptr)
        fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                  where + " is encrypted data with no content", "copy the file again or export it again");
      check_pbe(enc->enc_data->algorithm, where);
      bags.reset(PKCS12_unpack_p7encdata(safe, m_pass.chars, m_pass.len));
      if (!bags) return fail_decrypt(where);
    } else if (type == NID_pkcs7_enveloped) {
      fail_file(Errc::Unsupported, m_source, "uses public-key privacy mode",
                where + " is encrypted to a recipient's certificate (EnvelopedData), which "
                        "keysafe does not read",
                "export the file again with password privacy (the usual kind)");
    } else {
      fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                where + " has the unexpected content type " + detail::oid_text(safe->type),
                "copy the file again or export it again");
    }
    return walk_bags(bags.get(), where, 0);
  }

  bool walk_bags(const STACK_OF(PKCS12_SAFEBAG) * bags, const std::string& where, int depth) {
    if (depth > k_max_bag_depth)
      fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                where + " nests SafeContents more than " + std::to_string(k_max_bag_depth) +
                    " deep",
                "export the file again");
    for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
      const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
      const std::string bag_where = where + ", bag " + std::to_string(i + 1);
      if (!walk_bag(bag, bag_where, depth)) return false;
    }
    return true;
  }

  // RFC 7292 §4.2: the six bag types.
  bool walk_bag(const PKCS12_SAFEBAG* bag, const std::string& where, int depth) {
    switch (PKCS12_SAFEBAG_get_nid(bag)) {
      case NID_keyBag: {
        const PKCS8_PRIV_KEY_INFO* p8 = PKCS12_SAFEBAG_get0_p8inf(bag);
        if (p8 == nullptr)
          fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                    where + " is a key bag without a key", "export the file again");
        add_key(detail::pkey_from_pkcs8(p8, m_source, where), bag);
        return true;
      }
      case NID_pkcs8ShroudedKeyBag: {
        const X509_SIG* shrouded = PKCS12_SAFEBAG_get0_pkcs8(bag);
        if (shrouded == nullptr)
          fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                    where + " is a shrouded key bag without a key", "export the file again");
        const X509_ALGOR* alg = nullptr;
        X509_SIG_get0(shrouded, &alg, nullptr);
        if (alg == nullptr)
          fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                    where + " has no encryption algorithm", "export the file again");
        check_pbe(alg, where);
        ossl::Pkcs8Info p8(PKCS12_decrypt_skey_ex(bag, m_pass.chars, m_pass.len, nullptr, nullptr));
        if (!p8) return fail_decrypt(where + " (shrouded private key)");
        add_key(detail::pkey_from_pkcs8(p8.get(), m_source, where), bag);
        return true;
      }
      case NID_certBag: {
        if (PKCS12_SAFEBAG_get_bag_nid(bag) != NID_x509Certificate) {
          m_out.warnings.push_back(where + ": a certificate of type " +
                                   detail::oid_text(PKCS12_SAFEBAG_get0_bag_type(bag)) +
                                   " was skipped (only X.509 is read)");
          return true;
        }
        ossl::Cert cert(PKCS12_SAFEBAG_get1_cert(bag));
        if (!cert)
          fail_file(Errc::Damaged, m_source, "is a damaged PKCS#12 file",
                    where + " holds a certificate that does not decode", "export the file again");
        m_out.certs.push_back({std::move(cert), friendly_name(bag), local_key_id(bag)});
        return true;
      }
      case NID_safeContentsBag:
        return walk_bags(PKCS12_SAFEBAG_get0_safes(bag), where, depth + 1);
      case NID_crlBag:
        m_out.warnings.push_back(where + ": a CRL was ignored");
        return true;
      case NID_secretBag:
        m_out.warnings.push_back(where + ": a secret bag was ignored");
        return true;
      default:
        m_out.warnings.push_back(where + ": a bag of unknown type " +
                                 detail::oid_text(PKCS12_SAFEBAG_get0_type(bag)) + " was ignored");
        return true;
    }
  }

  void add_key(ossl::PKey key, const PKCS12_SAFEBAG* bag) {
    check_private_key(key.get(), m_source);
    m_out.keys.push_back({std::move(key), friendly_name(bag), local_key_id(bag)});
  }

  std::string_view m_source;
  Pass m_pass;
  Pkcs12Contents& m_out;
  std::string m_algorithm;
  DecryptFailure m_failure;
};

// The MAC algorithm, checked before any password is tried so that an algorithm this OpenSSL
// lacks is not reported as a wrong password.
std::string mac_algorithm(const PKCS12* p12, std::string_view source) {
  const X509_ALGOR* alg = nullptr;
  PKCS12_get0_mac(nullptr, &alg, nullptr, nullptr, p12);
  const ASN1_OBJECT* obj = nullptr;
  if (alg != nullptr) X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
  if (obj == nullptr)
    fail_file(Errc::Damaged, source, "is a damaged PKCS#12 file",
              "its MAC has no algorithm identifier", "copy the file again or export it again");
  const int nid = OBJ_obj2nid(obj);
  if (nid == NID_pbmac1)
    fail_file(Errc::Unsupported, source, "uses an unsupported MAC algorithm (PBMAC1)",
              "its integrity check is PBMAC1 (RFC 9579), which OpenSSL 3.0 lacks (it arrived in "
              "OpenSSL 3.4), so the file cannot be verified and a wrong password cannot be told "
              "from a right one",
              "export it again with an HMAC MAC, e.g. with OpenSSL 3.4 or later: openssl pkcs12 "
              "-in " + std::string(source) +
                  " -nodes -out all.pem, then openssl pkcs12 -export -in all.pem -macalg sha256 "
                  "-out new.p12");
  ossl::Md md(nid == NID_undef ? nullptr : EVP_MD_fetch(nullptr, OBJ_nid2sn(nid), nullptr));
  if (!md)
    fail_file(Errc::Unsupported, source, "uses an unsupported MAC algorithm",
              "its integrity check uses the digest " + detail::oid_text(obj) +
                  ", which this OpenSSL does not provide",
              "export it again with an HMAC-SHA-256 MAC (openssl pkcs12 -export -macalg sha256, "
              "or the exporting program's equivalent)");
  return OBJ_nid2ln(nid);
}

}  // namespace

bool looks_like_pkcs12(std::span<const std::uint8_t> data) {
  if (data.empty() || data.size() > static_cast<std::size_t>(LONG_MAX)) return false;
  std::size_t consumed = 0;
  const bool ok = decode(data, consumed) != nullptr;
  ossl::clear_errors();
  return ok;
}

Pkcs12Contents read_pkcs12(std::span<const std::uint8_t> data, std::string_view source,
                           const std::optional<SecureBytes>& password) {
  // RC2-40 certificate bags (Windows, old Java, openssl -legacy) need the legacy provider.
  detail::ensure_providers();
  ossl::clear_errors();
  if (data.empty())
    fail_file(Errc::BadInput, source, "is empty", "the file has no content",
              "check the path and the download");
  if (password && password->size() > static_cast<std::size_t>(INT_MAX))
    fail_file(Errc::FilePassword, source, "cannot be opened: the password is too long",
              "it is longer than OpenSSL can take", k_password_remedy);

  std::size_t consumed = 0;
  ossl::Pkcs12 p12 = data.size() <= static_cast<std::size_t>(LONG_MAX) ? decode(data, consumed)
                                                                        : nullptr;
  if (!p12) not_pkcs12(data, source);

  Pkcs12Contents out;
  if (consumed < data.size())
    out.warnings.push_back(std::to_string(data.size() - consumed) +
                           " bytes after the end of the PKCS#12 data were ignored");

  ossl::OwnedPkcs7Stack safes(PKCS12_unpack_authsafes(p12.get()));
  if (!safes) {
    const unsigned long err = ERR_peek_last_error();
    if (ERR_GET_LIB(err) == ERR_LIB_PKCS12 && ERR_GET_REASON(err) == PKCS12_R_CONTENT_TYPE_NOT_DATA) {
      const PfxOutline pfx = outline(data);
      if (pfx.signed_data)
        fail_file(Errc::Unsupported, source, "uses public-key integrity mode",
                  "its contents are signed (RFC 7292 §4, public-key integrity), not protected "
                  "by a password MAC; keysafe reads only password integrity mode",
                  "export the file again with a password");
      fail_file(Errc::Damaged, source, "is not a valid PKCS#12 file",
                "its version is " + std::to_string(pfx.version) +
                    " (RFC 7292 requires 3) and its contents have type " + pfx.content_type +
                    ", where a PFX holds data or signedData",
                "copy the file again or export it again; if it never was a .p12/.pfx, give "
                "the right file");
    }
    fail_file(Errc::Damaged, source, "is a damaged PKCS#12 file",
              "its AuthenticatedSafe (the list of safes) is missing or does not decode",
              "copy the file again or export it again");
  }

  // Before the first derivation (the MAC's): a file must not choose keysafe's memory or time.
  detail::check_pkcs12_costs(p12.get(), safes.get(), source);

  // Stable, NUL-terminated copy of the password: OpenSSL's PKCS#12 code wants a C string.
  SecureBytes zt;
  if (password) {
    zt.assign(password->begin(), password->end());
    zt.push_back(0);
  }
  const std::vector<Pass> tries = candidates(password, zt);
  const bool have_password = password && !password->empty();

  out.mac_present = PKCS12_mac_present(p12.get()) == 1;
  if (out.mac_present) {
    out.mac_algorithm = mac_algorithm(p12.get(), source);
    // RFC 7292 §5.1: the MAC is keyed from the password, so it is how a wrong password is
    // recognised; the same presentation (absent or "") then decrypts the safes.
    std::optional<Pass> verified;
    for (const Pass& pass : tries) {
      ossl::clear_errors();
      if (PKCS12_verify_mac(p12.get(), pass.chars, pass.len) == 1) {
        verified = pass;
        break;
      }
      if (ERR_peek_error() != 0)
        fail_file(Errc::Damaged, source, "is a damaged PKCS#12 file",
                  "its MAC cannot be computed (" + ossl::take_errors() + ")",
                  "copy the file again or export it again");
    }
    ossl::clear_errors();
    if (!verified) {
      if (!have_password)
        fail_file(Errc::FilePassword, source, "needs a password",
                  "its integrity check (" + out.mac_algorithm +
                      " MAC) verifies neither with no password nor with an empty one",
                  k_password_remedy);
      fail_file(Errc::FilePassword, source, "cannot be opened: wrong password",
                "its integrity check (" + out.mac_algorithm +
                    " MAC) does not verify with the password given",
                k_password_remedy);
    }
    Walker walker(source, *verified, out);
    if (!walker.walk(safes.get()))
      fail_file(Errc::FilePassword, source,
                "cannot be decrypted: the password verifies its MAC but does not decrypt it",
                "the MAC verifies with this password, but " + walker.failure().where +
                    ", encrypted with " + walker.failure().algorithm +
                    ", does not decrypt with it: the program that wrote the file encoded the "
                    "password differently for encryption (e.g. ISO-8859-1 rather than UTF-8 "
                    "for PBES2)",
                "give the password as the exporting program encoded it (e.g. its ISO-8859-1 "
                "bytes), or export the file again with an ASCII-only password");
    return out;
  }

  // No MAC (RFC 7292 makes it optional): nothing tells a wrong password from damage, and
  // nothing protects the contents against tampering.
  DecryptFailure failure;
  for (const Pass& pass : tries) {
    Pkcs12Contents attempt;
    attempt.warnings = out.warnings;
    attempt.warnings.push_back("integrity could not be checked (no MAC)");
    Walker walker(source, pass, attempt);
    if (walker.walk(safes.get())) return attempt;
    failure = walker.failure();
  }
  if (!have_password)
    fail_file(Errc::FilePassword, source, "needs a password",
              failure.where + " is encrypted with " + failure.algorithm, k_password_remedy);
  fail_file(Errc::FilePassword, source, "cannot be decrypted: wrong password",
            failure.where + ", encrypted with " + failure.algorithm +
                ", does not decrypt with the password given (the file has no MAC, so a damaged "
                "file would look the same)",
            k_password_remedy);
}

namespace {

Bytes sha1_of(std::span<const std::uint8_t> data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha1(), nullptr) != 1)
    ossl::fail(Errc::Crypto, "SHA-1 failed");
  out.resize(n);
  return out;
}

// localKeyId (PKCS#9): SHA-1 of the certificate, as OpenSSL, Windows and Java do, or of the
// public key when there is no certificate.
Bytes key_id(const EVP_PKEY* key, const X509* cert) {
  unsigned char* der = nullptr;
  const int n = cert != nullptr ? i2d_X509(cert, &der) : i2d_PUBKEY(key, &der);
  // Owned before sha1_of can throw: it used to be freed after it, and leaked when it threw.
  const Bytes encoded = ossl::take_bytes(der, n);
  if (n <= 0) ossl::fail(Errc::Crypto, "cannot encode the certificate or public key");
  return sha1_of(encoded);
}

void label(PKCS12_SAFEBAG* bag, std::string_view name, Bytes& id) {
  if (!name.empty() &&
      PKCS12_add_friendlyname_utf8(bag, name.data(), static_cast<int>(name.size())) != 1)
    ossl::fail(Errc::BadInput, "the friendly name \"" + std::string(name) + "\" cannot be stored",
               "PKCS#12 friendly names are BMPStrings; the name must be valid UTF-8 without "
               "characters beyond U+FFFF",
               "choose another name");
  if (PKCS12_add_localkeyid(bag, id.data(), static_cast<int>(id.size())) != 1)
    ossl::fail(Errc::Crypto, "cannot set the PKCS#12 localKeyId");
}

}  // namespace

Bytes write_pkcs12(const EVP_PKEY* key, const X509* cert, const std::vector<const X509*>& chain,
                   std::string_view friendly_name, std::span<const std::uint8_t> password,
                   Pkcs12Profile profile) {
  if (key == nullptr) throw Error(Errc::Internal, "write_pkcs12 was given no key");
  if (std::find(password.begin(), password.end(), std::uint8_t{0}) != password.end() ||
      password.size() > 65535)
    throw Error(Errc::Usage, "the PKCS#12 password cannot be used",
                "it contains a NUL byte or is over 64 KiB: RFC 7292 Appendix B.1 stores "
                "passwords as NUL-terminated BMPStrings",
                "choose another password");
  if (cert != nullptr && X509_check_private_key(cert, key) != 1)
    ossl::fail(Errc::KeyCertMismatch, "the certificate does not belong to the key",
               "the certificate's public key is not the key's", "pair the key with its own certificate");
  ossl::clear_errors();

  // Modern: PBES2 with PBKDF2-HMAC-SHA256 (OpenSSL's PBES2 default PRF) and AES-256-CBC, and
  //   an HMAC-SHA-256 MAC. 100000 iterations: OpenSSL 3.0 defaults to only 2048; .NET's
  //   X509CertificateLoader allows 300000 per KDF and 1000000 over the whole file (three KDF
  //   runs here: key, certificates, MAC), and Windows refuses counts above 600000.
  // Compat: pbeWithSHA1And3-KeyTripleDES-CBC for both bags (RC2-40 is refused by OpenSSL 3
  //   without -legacy and by Node >= 17) and an HMAC-SHA-1 MAC: the one profile Windows
  //   Server 2016, macOS Keychain and Java 8 all import. 10000 iterations: what Java 8u301+
  //   writes in this very profile, so all those readers have met it; far below any limit.
  const bool modern = profile == Pkcs12Profile::Modern;
  const int pbe_nid = modern ? NID_aes_256_cbc : NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
  const int iterations = modern ? k_pkcs12_modern_iterations : k_pkcs12_compat_iterations;
  ossl::Md mac_md(EVP_MD_fetch(nullptr, modern ? "SHA256" : "SHA1", nullptr));
  if (!mac_md) ossl::fail(Errc::Crypto, "the MAC digest is not available");
  constexpr int salt_len = 16;  // 128-bit salts (NIST SP 800-132); OpenSSL's default is 8

  SecureBytes zt(password.begin(), password.end());
  zt.push_back(0);
  const char* pass = reinterpret_cast<const char*>(zt.data());
  const int pass_len = static_cast<int>(password.size());
  Bytes id = key_id(key, cert);

  ossl::OwnedPkcs7Stack safes(sk_PKCS7_new_null());
  ossl::OwnedSafeBagStack cert_bags(sk_PKCS12_SAFEBAG_new_null());
  ossl::OwnedSafeBagStack key_bags(sk_PKCS12_SAFEBAG_new_null());
  if (!safes || !cert_bags || !key_bags) ossl::fail(Errc::Crypto, "out of memory");

  // Certificates in one encrypted safe (RFC 7292 §4.1 EncryptedData), as every producer does.
  STACK_OF(PKCS12_SAFEBAG)* cert_stack = cert_bags.get();
  if (cert != nullptr) {
    PKCS12_SAFEBAG* bag = PKCS12_add_cert(&cert_stack, const_cast<X509*>(cert));
    if (bag == nullptr) ossl::fail(Errc::Crypto, "cannot add the certificate to the PKCS#12 file");
    label(bag, friendly_name, id);
  }
  for (const X509* extra : chain) {
    if (PKCS12_add_cert(&cert_stack, const_cast<X509*>(extra)) == nullptr)
      ossl::fail(Errc::Crypto, "cannot add a chain certificate to the PKCS#12 file");
  }
  if (sk_PKCS12_SAFEBAG_num(cert_bags.get()) > 0) {
    ossl::Pkcs7 safe(PKCS12_pack_p7encdata_ex(pbe_nid, pass, pass_len, nullptr, salt_len,
                                              iterations, cert_bags.get(), nullptr, nullptr));
    if (!safe || sk_PKCS7_push(safes.get(), safe.get()) <= 0)
      ossl::fail(Errc::Crypto, "cannot encrypt the certificates of the PKCS#12 file");
    (void)safe.release();  // `safes` owns it now
  }

  // The key as a shrouded key bag (RFC 7292 §4.2.2) in a plain safe: it is encrypted itself.
  ossl::Pkcs8Info p8(EVP_PKEY2PKCS8(key));
  if (!p8) ossl::fail(Errc::Crypto, "cannot encode the private key as PKCS#8");
  ossl::SafeBag owned_bag(PKCS12_SAFEBAG_create_pkcs8_encrypt_ex(
      pbe_nid, pass, pass_len, nullptr, salt_len, iterations, p8.get(), nullptr, nullptr));
  if (!owned_bag || sk_PKCS12_SAFEBAG_push(key_bags.get(), owned_bag.get()) <= 0)
    ossl::fail(Errc::Crypto, "cannot encrypt the private key of the PKCS#12 file");
  PKCS12_SAFEBAG* key_bag = owned_bag.release();  // `key_bags` owns it now
  label(key_bag, friendly_name, id);
  ossl::Pkcs7 key_safe(PKCS12_pack_p7data(key_bags.get()));
  if (!key_safe || sk_PKCS7_push(safes.get(), key_safe.get()) <= 0)
    ossl::fail(Errc::Crypto, "cannot build the key safe of the PKCS#12 file");
  (void)key_safe.release();  // `safes` owns it now

  ossl::Pkcs12 p12(PKCS12_add_safes_ex(safes.get(), NID_pkcs7_data, nullptr, nullptr));
  if (!p12) ossl::fail(Errc::Crypto, "cannot assemble the PKCS#12 file");
  if (PKCS12_set_mac(p12.get(), pass, pass_len, nullptr, salt_len, iterations, mac_md.get()) != 1)
    ossl::fail(Errc::Crypto, "cannot compute the PKCS#12 MAC");

  unsigned char* der = nullptr;
  const int n = i2d_PKCS12(p12.get(), &der);
  Bytes out = ossl::take_bytes(der, n);
  if (n <= 0) ossl::fail(Errc::Crypto, "cannot encode the PKCS#12 file");
  return out;
}

}  // namespace keysafe::formats
