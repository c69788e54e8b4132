// X25519 sealing (an ECIES-style construction: RFC 7748 key agreement, RFC 5869 HKDF, the
// store's AES-256-GCM) and Ed25519 signatures, all through OpenSSL 3's EVP interfaces.
#include "keysafe/crypto/host_seal.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>

#include "keysafe/crypto/aead.hpp"
#include "keysafe/ossl/errors.hpp"

namespace keysafe::crypto {
namespace {

constexpr std::uint8_t k_seal_version = 1;
constexpr std::size_t k_x25519_size = 32;
constexpr char k_info[] = "keysafe-host-seal-v1";
std::atomic<std::uint64_t> g_opened{0};

ossl::PKey generate(const char* type) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  if (!key) ossl::fail(Errc::Crypto, std::string("cannot generate an ") + type + " key");
  return key;
}

Bytes raw_public(EVP_PKEY* key) {
  Bytes out(k_x25519_size);
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &len) != 1 || len != k_x25519_size)
    ossl::fail(Errc::Crypto, "cannot read an X25519 public key");
  return out;
}

SecureBytes shared_secret(EVP_PKEY* own, EVP_PKEY* peer) {
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 1) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    return {};
  SecureBytes secret(len);
  // Fails for a low-order peer point (an all-zero shared secret, RFC 7748 §6.1).
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) != 1) return {};
  secret.resize(len);
  return secret;
}

SecureBytes seal_key(std::span<const std::uint8_t> secret, const Bytes& ephemeral_public,
                     const Bytes& host_public) {
  Bytes salt = ephemeral_public;
  salt.insert(salt.end(), host_public.begin(), host_public.end());
  ossl::Kdf kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) ossl::fail(Errc::Crypto, "this OpenSSL has no HKDF");
  ossl::KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  char digest[] = "SHA256";
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(secret.data()),
                                        secret.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(k_info),
                                        sizeof k_info - 1),
      OSSL_PARAM_construct_end()};
  SecureBytes key(32);
  if (!ctx || EVP_KDF_derive(ctx.get(), key.data(), key.size(), ps) != 1)
    ossl::fail(Errc::Crypto, "deriving a host seal key with HKDF failed");
  return key;
}

}  // namespace

ossl::PKey generate_host_key() { return generate("X25519"); }
ossl::PKey generate_signing_key() { return generate("ED25519"); }

Bytes seal_to_host(std::span<const std::uint8_t> host_spki_der,
                   std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad) {
  const unsigned char* p = host_spki_der.data();
  ossl::PKey host(d2i_PUBKEY(nullptr, &p, static_cast<long>(host_spki_der.size())));
  if (!host || p != host_spki_der.data() + host_spki_der.size() ||
      EVP_PKEY_get_base_id(host.get()) != EVP_PKEY_X25519) {
    ossl::clear_errors();
    throw Error(Errc::BadInput, "a host's public key is not an X25519 key",
                "the hosts row holds something else", "add the host again: keysafe host add");
  }
  ossl::PKey ephemeral = generate_host_key();
  const Bytes ephemeral_public = raw_public(ephemeral.get());
  const SecureBytes secret = shared_secret(ephemeral.get(), host.get());
  if (secret.empty()) ossl::fail(Errc::Crypto, "X25519 key agreement with the host's key failed");
  const SecureBytes key = seal_key(secret, ephemeral_public, raw_public(host.get()));
  Bytes out{k_seal_version};
  out.insert(out.end(), ephemeral_public.begin(), ephemeral_public.end());
  const Bytes body = aead_seal(key, plaintext, aad);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bool open_as_host(EVP_PKEY* host_key, std::span<const std::uint8_t> sealed,
                  std::span<const std::uint8_t> aad, SecureBytes& plaintext) {
  ++g_opened;
  if (sealed.size() < 1 + k_x25519_size + k_nonce_size + k_tag_size || sealed[0] != k_seal_version)
    return false;
  const Bytes ephemeral_public(sealed.begin() + 1, sealed.begin() + 1 + k_x25519_size);
  ossl::PKey ephemeral(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr,
                                                   ephemeral_public.data(), ephemeral_public.size()));
  if (!ephemeral) {
    ossl::clear_errors();
    return false;
  }
  const SecureBytes secret = shared_secret(host_key, ephemeral.get());
  if (secret.empty()) {
    ossl::clear_errors();
    return false;
  }
  const SecureBytes key = seal_key(secret, ephemeral_public, raw_public(host_key));
  return aead_open(key, sealed.subspan(1 + k_x25519_size), aad, plaintext);
}

std::uint64_t host_seals_opened() noexcept { return g_opened.load(); }

Bytes sign_ed25519(EVP_PKEY* key, std::span<const std::uint8_t> message) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1)
    ossl::fail(Errc::Crypto, "cannot sign with the fleet signing key");
  Bytes signature(len);
  if (EVP_DigestSign(ctx.get(), signature.data(), &len, message.data(), message.size()) != 1)
    ossl::fail(Errc::Crypto, "cannot sign with the fleet signing key");
  signature.resize(len);
  return signature;
}

bool verify_ed25519(EVP_PKEY* public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx &&
      EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, public_key, nullptr) == 1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                       message.size()) == 1;
  ossl::clear_errors();
  return ok;
}

}  // namespace keysafe::crypto
