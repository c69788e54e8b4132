// Decoding private keys (PEM and DER, plain and encrypted), checking them, writing PKCS#8.
#include "keysafe/formats/private_key.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <cstring>

#include "keysafe/formats/pkcs12.hpp"
#include "keysafe/ossl/errors.hpp"
#include "kdf_cost.hpp"
#include "pbe.hpp"
#include "pem_block.hpp"

namespace keysafe::formats {
namespace {

using detail::PemBlock;
using detail::quoted;

constexpr std::string_view k_pem_marker = "-----BEGIN ";
constexpr const char* k_password_remedy = "give the password the key was encrypted with";

[[noreturn]] void fail_file(Errc code, std::string_view source, const std::string& summary,
                            std::string cause, std::string remedy) {
  ossl::fail(code, quoted(source) + " " + summary, std::move(cause), std::move(remedy));
}

const char* pass_chars(const SecureBytes& password) {
  // An empty vector may have no storage; OpenSSL wants a pointer for "" (NULL means "none").
  return password.empty() ? "" : reinterpret_cast<const char*>(password.data());
}

int pass_len(const SecureBytes& password, std::string_view source) {
  if (password.size() > static_cast<std::size_t>(INT_MAX))
    throw Error(Errc::FilePassword, quoted(source) + ": the password is too long",
                "it is longer than OpenSSL can take", k_password_remedy);
  return static_cast<int>(password.size());
}

// A fully consumed DER private key of one traditional type (PKCS#1 RSA, SEC1 EC, DSA).
ossl::PKey d2i_traditional(int type, const unsigned char* der, long len) {
  const unsigned char* p = der;
  ossl::PKey key(d2i_PrivateKey_ex(type, nullptr, &p, len, nullptr, nullptr));
  if (!key || p != der + len) return {};
  return key;
}

// PKCS#8 EncryptedPrivateKeyInfo (RFC 5958 §3): the algorithm is checked before the password
// so that an unknown scheme is reported as such, not as a wrong password.
ossl::PKey decrypt_pkcs8(const X509_SIG* sig, std::string_view source, const std::string& where,
                         const std::optional<SecureBytes>& password) {
  const X509_ALGOR* alg = nullptr;
  X509_SIG_get0(sig, &alg, nullptr);
  const detail::PbeInfo pbe = detail::describe_pbe(alg);
  if (pbe.status == detail::PbeInfo::Status::Unsupported)
    fail_file(Errc::Unsupported, source, "is encrypted with an unsupported algorithm",
              where + " is encrypted with " + pbe.problem,
              "re-encrypt the key where it was made with PBES2 and AES-256-CBC, e.g. openssl "
              "pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out KEY.p8");
  if (pbe.status == detail::PbeInfo::Status::Damaged)
    fail_file(Errc::Damaged, source, "holds a damaged encrypted private key",
              where + ": " + pbe.problem, "copy the file again from its source");
  detail::check_pbe_cost(alg, source, where);
  if (!password)
    fail_file(Errc::FilePassword, source, "needs a password",
              where + " is an encrypted private key (" + pbe.name + ")", k_password_remedy);
  ossl::Pkcs8Info p8(
      PKCS8_decrypt_ex(sig, pass_chars(*password), pass_len(*password, source), nullptr, nullptr));
  if (!p8)
    fail_file(Errc::FilePassword, source, "cannot be decrypted: wrong password",
              where + ", encrypted with " + pbe.name + ", does not decrypt with the password given",
              k_password_remedy);
  return detail::pkey_from_pkcs8(p8.get(), source, where);
}

ossl::PKey plain_pkcs8(const unsigned char* der, long len, std::string_view source,
                       const std::string& where) {
  const unsigned char* p = der;
  ossl::Pkcs8Info p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
  if (!p8 || p != der + len)
    fail_file(Errc::Damaged, source, "holds a damaged private key",
              where + " does not decode as PKCS#8 PrivateKeyInfo",
              "copy the file again from its source");
  return detail::pkey_from_pkcs8(p8.get(), source, where);
}

int pem_password(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* password = static_cast<const SecureBytes*>(user);
  if (password == nullptr || password->size() > static_cast<std::size_t>(size)) return -1;
  if (!password->empty()) std::memcpy(buf, password->data(), password->size());
  return static_cast<int>(password->size());
}

// The cipher named on a DEK-Info line, for messages ("DEK-Info: AES-256-CBC,<iv>").
std::string dek_cipher(const char* header) {
  const char* dek = std::strstr(header, "DEK-Info:");
  if (dek == nullptr) return "(no DEK-Info line)";
  std::string name(dek + 9);
  name = name.substr(0, name.find_first_of(",\r\n"));
  const auto first = name.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : name.substr(first);
}

std::vector<DecodedKey> just(ossl::PKey key, std::string format) {
  std::vector<DecodedKey> out;
  out.push_back({std::move(key), std::move(format)});
  return out;
}

struct Traditional {
  int type;
  const char* format;
};

std::optional<Traditional> traditional_label(std::string_view label) {
  if (label == "RSA PRIVATE KEY") return Traditional{EVP_PKEY_RSA, "PKCS#1 RSA"};
  if (label == "EC PRIVATE KEY") return Traditional{EVP_PKEY_EC, "SEC1 EC"};
  if (label == "DSA PRIVATE KEY") return Traditional{EVP_PKEY_DSA, "traditional DSA"};
  return std::nullopt;
}

// A "BEGIN RSA/EC/DSA PRIVATE KEY" block, optionally encrypted the traditional way
// (RFC 1421 Proc-Type/DEK-Info headers, OpenSSL's key derivation).
DecodedKey decode_traditional(PemBlock& block, const Traditional& kind, std::string_view source,
                              const std::string& where,
                              const std::optional<SecureBytes>& password) {
  EVP_CIPHER_INFO cipher{};
  if (block.header != nullptr && *block.header != '\0' &&
      PEM_get_EVP_CIPHER_INFO(block.header, &cipher) != 1) {
    const unsigned long err = ERR_peek_last_error();
    if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_UNSUPPORTED_ENCRYPTION)
      fail_file(Errc::Unsupported, source, "is encrypted with an unsupported cipher",
                where + " is encrypted with " + dek_cipher(block.header) +
                    ", which this OpenSSL does not provide",
                "re-encrypt the key where it was made, e.g. openssl pkcs8 -topk8 -v2 aes-256-cbc "
                "-in KEY -out KEY.p8");
    fail_file(Errc::Damaged, source, "holds a private key with a damaged PEM header",
              where + " has Proc-Type/DEK-Info lines OpenSSL cannot read",
              "copy the file again from its source, with its header lines unchanged");
  }
  if (cipher.cipher == nullptr) {
    ossl::PKey key = d2i_traditional(kind.type, block.body, block.len);
    if (!key)
      fail_file(Errc::Damaged, source, "holds a damaged private key",
                where + " does not decode as a " + kind.format + " key",
                "copy the file again from its source");
    ossl::clear_errors();
    return {std::move(key), kind.format};
  }
  if (!password)
    fail_file(Errc::FilePassword, source, "needs a password",
              where + " is encrypted with " + dek_cipher(block.header), k_password_remedy);
  long plain_len = block.len;
  if (PEM_do_header(&cipher, block.body, &plain_len, pem_password,
                    const_cast<SecureBytes*>(&*password)) != 1)
    fail_file(Errc::FilePassword, source, "cannot be decrypted: wrong password",
              where + ", encrypted with " + dek_cipher(block.header) +
                  ", does not decrypt with the password given",
              k_password_remedy);
  ossl::PKey key = d2i_traditional(kind.type, block.body, plain_len);
  if (!key)
    // One wrong password in 256 passes the padding check and yields garbage.
    fail_file(Errc::FilePassword, source, "cannot be decrypted: wrong password",
              where + " decrypts to something that is not a " + kind.format +
                  " key: the password is wrong (or the file is damaged)",
              k_password_remedy);
  ossl::clear_errors();
  return {std::move(key), "traditional encrypted PEM"};
}

std::vector<DecodedKey> read_pem(std::span<const std::uint8_t> data, std::string_view source,
                                 const std::optional<SecureBytes>& password) {
  std::vector<DecodedKey> keys;
  std::vector<std::string> skipped;
  ossl::Bio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) ossl::fail(Errc::Crypto, "cannot allocate a memory BIO");
  for (int index = 1;; ++index) {
    PemBlock block;
    if (PEM_read_bio(bio.get(), &block.name, &block.header, &block.body, &block.len) != 1) {
      const unsigned long err = ERR_peek_last_error();
      const bool clean_end =
          ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
      if (clean_end && index > 1) break;
      const std::string detail = ossl::take_errors();
      fail_file(Errc::Damaged, source, index == 1 ? "is damaged PEM" : "is damaged after its first PEM block",
                "PEM block " + std::to_string(index) + " cannot be read" +
                    (detail.empty() ? std::string() : " (" + detail + ")") +
                    ": a truncated file, a missing END line, bad base64 or overlong lines",
                "copy the whole file again, from -----BEGIN to -----END");
    }
    const std::string label = block.name;
    const std::string where = "PEM block " + std::to_string(index) + " (" + label + ")";
    if (label == "ENCRYPTED PRIVATE KEY") {
      const unsigned char* p = block.body;
      ossl::X509Sig sig(d2i_X509_SIG(nullptr, &p, block.len));
      if (!sig || p != block.body + block.len)
        fail_file(Errc::Damaged, source, "holds a damaged encrypted private key",
                  where + " does not decode as PKCS#8 EncryptedPrivateKeyInfo",
                  "copy the file again from its source");
      keys.push_back({decrypt_pkcs8(sig.get(), source, where, password), "encrypted PKCS#8"});
    } else if (label == "PRIVATE KEY" || label == "ANY PRIVATE KEY") {
      keys.push_back({plain_pkcs8(block.body, block.len, source, where), "PKCS#8"});
    } else if (const auto kind = traditional_label(label)) {
      keys.push_back(decode_traditional(block, *kind, source, where, password));
    } else {
      skipped.push_back(label);  // certificates, EC PARAMETERS, public keys: not ours to read
    }
  }
  ossl::clear_errors();
  if (keys.empty()) {
    std::string labels;
    for (const auto& label : skipped) labels += (labels.empty() ? "" : ", ") + label;
    fail_file(Errc::BadInput, source, "holds no private key",
              "its PEM blocks are " + labels + "; none is a private key",
              "give the file that holds the key (a -----BEGIN PRIVATE KEY----- block or similar)");
  }
  return keys;
}

std::vector<DecodedKey> read_der(std::span<const std::uint8_t> data, std::string_view source,
                                 const std::optional<SecureBytes>& password) {
  const unsigned char* der = data.data();
  const long len = static_cast<long>(data.size());
  const std::string where = "the DER key";
  {
    const unsigned char* p = der;
    ossl::X509Sig sig(d2i_X509_SIG(nullptr, &p, len));
    if (sig && p == der + len)
      return just(decrypt_pkcs8(sig.get(), source, where, password), "DER encrypted PKCS#8");
  }
  {
    const unsigned char* p = der;
    ossl::Pkcs8Info p8(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, len));
    if (p8 && p == der + len)
      return just(detail::pkey_from_pkcs8(p8.get(), source, where), "DER PKCS#8");
  }
  for (const auto& kind : {Traditional{EVP_PKEY_RSA, "DER PKCS#1 RSA"},
                           Traditional{EVP_PKEY_EC, "DER SEC1 EC"},
                           Traditional{EVP_PKEY_DSA, "DER traditional DSA"}}) {
    if (ossl::PKey key = d2i_traditional(kind.type, der, len)) {
      ossl::clear_errors();
      return just(std::move(key), kind.format);
    }
  }
  ossl::clear_errors();
  if (data.size() >= 4 && data[0] == 0xFE && data[1] == 0xED && data[2] == 0xFE && data[3] == 0xED)
    fail_file(Errc::BadInput, source, "is a Java keystore (JKS), not a private key",
              "JKS files hold keys and certificates in Java's own format",
              "convert it with keytool -importkeystore -srckeystore FILE -srcstoretype JKS "
              "-destkeystore FILE.p12 -deststoretype PKCS12, then read FILE.p12 as PKCS#12");
  if (looks_like_pkcs12(data))
    fail_file(Errc::BadInput, source, "is a PKCS#12 file, not a private key",
              "it decodes as a PKCS#12 PFX, which holds keys and certificates behind a password",
              "read it as PKCS#12 (.p12/.pfx)");
  {
    const unsigned char* p = der;
    ossl::Cert cert(d2i_X509(nullptr, &p, len));
    ossl::clear_errors();
    if (cert)
      fail_file(Errc::BadInput, source, "is a certificate, not a private key",
                "it decodes as a DER X.509 certificate", "give the file that holds the key");
  }
  fail_file(Errc::BadInput, source, "is not a private key",
            "it is neither PEM nor a DER private key (PKCS#8, encrypted PKCS#8, PKCS#1 RSA, SEC1 "
            "EC or DSA); it may be truncated or another kind of file",
            "give the key file itself, in PEM or DER");
}

void check_rsa_primes(const EVP_PKEY* key, std::string_view source) {
  static constexpr std::array<const char*, 10> factors = {
      OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2, OSSL_PKEY_PARAM_RSA_FACTOR3,
      OSSL_PKEY_PARAM_RSA_FACTOR4, OSSL_PKEY_PARAM_RSA_FACTOR5, OSSL_PKEY_PARAM_RSA_FACTOR6,
      OSSL_PKEY_PARAM_RSA_FACTOR7, OSSL_PKEY_PARAM_RSA_FACTOR8, OSSL_PKEY_PARAM_RSA_FACTOR9,
      OSSL_PKEY_PARAM_RSA_FACTOR10};
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &raw) != 1) {
    ossl::clear_errors();
    return;
  }
  const ossl::BigNum n(raw);
  std::vector<int> prime_bits;
  for (const char* name : factors) {
    BIGNUM* factor = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &factor) != 1) break;
    prime_bits.push_back(BN_num_bits(ossl::BigNum(factor).get()));
  }
  ossl::clear_errors();
  if (prime_bits.empty()) return;
  // A k-prime key of N bits has primes of about N/k bits. One far smaller (q = 2 in the
  // corpus) makes the modulus trivial to factor even though OpenSSL's check accepts it.
  const int modulus_bits = BN_num_bits(n.get());
  const int k = static_cast<int>(prime_bits.size());
  for (const int bits : prime_bits) {
    if (bits < modulus_bits / (2 * k))
      fail_file(Errc::BadInput, source, "holds an unsafe RSA key",
                "one of its " + std::to_string(k) + " primes has " + std::to_string(bits) +
                    " bits where a " + std::to_string(modulus_bits) + "-bit key needs about " +
                    std::to_string(modulus_bits / k) + ": anyone can factor its modulus",
                "do not use this key: create a new one");
  }
}

}  // namespace

std::vector<DecodedKey> read_private_keys(std::span<const std::uint8_t> data,
                                          std::string_view source,
                                          const std::optional<SecureBytes>& password) {
  detail::ensure_providers();  // DES/RC2 PBEs of old PKCS#8 files live in the legacy provider
  ossl::clear_errors();
  if (data.empty())
    fail_file(Errc::BadInput, source, "is empty", "the file has no content",
              "check the path and the download");
  if (data.size() > static_cast<std::size_t>(INT_MAX))
    fail_file(Errc::BadInput, source, "is too large to be a key file",
              "it is over 2 GiB", "give the key file itself");
  const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
  std::vector<DecodedKey> keys = text.find(k_pem_marker) != std::string_view::npos
                                     ? read_pem(data, source, password)
                                     : read_der(data, source, password);
  for (const auto& key : keys) check_private_key(key.key.get(), source);
  return keys;
}

void check_private_key(const EVP_PKEY* key, std::string_view source) {
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) check_rsa_primes(key, source);
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(key), nullptr));
  if (!ctx) ossl::fail(Errc::Crypto, "cannot set up a key check");
  const int rc = EVP_PKEY_check(ctx.get());
  if (rc == 1) {
    ossl::clear_errors();
    return;
  }
  if (rc == -2) {  // no check exists for this key type
    ossl::clear_errors();
    return;
  }
  fail_file(Errc::Damaged, source, "holds an invalid private key",
            "OpenSSL's consistency check of the " + std::string(EVP_PKEY_get0_type_name(key)) +
                " key fails: its numbers do not belong together (damaged or tampered with)",
            "get the key again from its source; if it is lost, create a new key");
}

std::optional<std::string> weak_key_reason(const EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
    if (bits < 2048) return "RSA key of " + std::to_string(bits) + " bits (below 2048)";
  } else if (EVP_PKEY_is_a(key, "DSA")) {
    // FIPS 186-5 no longer allows DSA signatures; browsers and TLS 1.3 dropped it.
    return std::string("DSA key (DSA is deprecated)");
  } else if (EVP_PKEY_is_a(key, "EC")) {
    // NIST SP 800-57 part 1: 224-bit curves are the floor for 112-bit security.
    if (bits < 224) return "EC key of " + std::to_string(bits) + " bits (below 224)";
  }
  return std::nullopt;
}

std::string encrypted_pkcs8_pem(const EVP_PKEY* key, std::span<const std::uint8_t> password) {
  ossl::Pkcs8Info p8(EVP_PKEY2PKCS8(key));
  if (!p8) ossl::fail(Errc::Crypto, "cannot encode the private key as PKCS#8");
  ossl::Cipher aes(EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr));
  if (!aes) ossl::fail(Errc::Crypto, "AES-256-CBC is not available");
  // PBES2 (RFC 8018 §6.2) with PBKDF2-HMAC-SHA256 and a 16-byte random salt (NIST SP 800-132
  // asks for at least 128 bits); OpenSSL 3.0 would default to 2048 iterations, so the count
  // is explicit: k_pkcs8_pbkdf2_iterations (600000, OWASP 2023 for PBKDF2-HMAC-SHA256).
  ossl::Algor pbe(PKCS5_pbe2_set_iv_ex(aes.get(), k_pkcs8_pbkdf2_iterations, nullptr, 16, nullptr,
                                       NID_hmacWithSHA256, nullptr));
  if (!pbe) ossl::fail(Errc::Crypto, "cannot set up PBES2 encryption");
  if (password.size() > static_cast<std::size_t>(INT_MAX))
    throw Error(Errc::Usage, "the password is too long");
  const char* pass =
      password.empty() ? "" : reinterpret_cast<const char*>(password.data());
  ossl::X509Sig sig(PKCS8_set0_pbe_ex(pass, static_cast<int>(password.size()), p8.get(),
                                      pbe.get(), nullptr, nullptr));
  if (!sig) ossl::fail(Errc::Crypto, "cannot encrypt the private key");
  static_cast<void>(pbe.release());  // now owned by sig
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PKCS8(bio.get(), sig.get()) != 1)
    ossl::fail(Errc::Crypto, "cannot write the encrypted private key as PEM");
  char* out = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &out);
  return std::string(out, static_cast<std::size_t>(n));
}

}  // namespace keysafe::formats
