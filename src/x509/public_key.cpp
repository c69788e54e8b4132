// SubjectPublicKeyInfo extraction and PKCS#8 (de)serialization of private keys.
#include "keysafe/x509/public_key.hpp"

#include "keysafe/ossl/errors.hpp"

namespace keysafe::x509 {
namespace {

Bytes encode_pubkey(X509_PUBKEY* pub) {
  unsigned char* out = nullptr;
  const int len = i2d_X509_PUBKEY(pub, &out);
  Bytes result = ossl::take_bytes(out, len);
  if (len <= 0) ossl::fail(Errc::Crypto, "encoding a public key failed");
  return result;
}

}  // namespace

Bytes spki_der(const X509* cert) {
  // The bytes as they appear in the certificate: no decoding of the key is needed.
  return encode_pubkey(X509_get_X509_PUBKEY(cert));
}

Bytes spki_der(const EVP_PKEY* key) {
  unsigned char* out = nullptr;
  const int len = i2d_PUBKEY(key, &out);
  Bytes result = ossl::take_bytes(out, len);
  if (len <= 0) ossl::fail(Errc::Crypto, "encoding a public key failed");
  return result;
}

Bytes spki_der(X509_REQ* req) { return encode_pubkey(X509_REQ_get_X509_PUBKEY(req)); }

std::string spki_sha256_hex(const Bytes& spki) { return to_hex(sha256(spki)); }

SecureBytes private_key_to_pkcs8(const EVP_PKEY* key) {
  ossl::Pkcs8Info info(EVP_PKEY2PKCS8(key));
  if (!info) ossl::fail(Errc::Crypto, "encoding a private key as PKCS#8 failed");
  unsigned char* out = nullptr;
  const int len = i2d_PKCS8_PRIV_KEY_INFO(info.get(), &out);
  SecureBytes result = ossl::take_secret(out, len);
  if (len <= 0) ossl::fail(Errc::Crypto, "encoding a private key as PKCS#8 failed");
  return result;
}

ossl::PKey private_key_from_pkcs8(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  ossl::Pkcs8Info info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (!info || p != der.data() + der.size())
    ossl::fail(Errc::StoreDamaged, "a stored private key does not decode");
  ossl::PKey key(EVP_PKCS82PKEY(info.get()));
  if (!key) ossl::fail(Errc::StoreDamaged, "a stored private key does not decode");
  return key;
}

bool certificate_matches_key(const X509* cert, const EVP_PKEY* key) {
  return spki_der(cert) == spki_der(key);
}

}  // namespace keysafe::x509
