// scrypt (RFC 7914) and AES-256-GCM (NIST SP 800-38D) through OpenSSL 3's EVP interfaces.
#include "keysafe/store/sealing.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <atomic>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::store {
namespace {
std::atomic<std::uint64_t> g_kdf_derivations{0};
}  // namespace

std::uint64_t kdf_derivations() noexcept { return g_kdf_derivations.load(); }

SecureBytes derive_kek(std::span<const std::uint8_t> passphrase, std::span<const std::uint8_t> salt,
                       const KdfParams& params) {
  ossl::Kdf kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) ossl::fail(Errc::Crypto, "this OpenSSL has no scrypt");
  ossl::KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  uint64_t n = uint64_t{1} << params.log2_n;
  uint32_t r = params.r;
  uint32_t p = params.p;
  // OpenSSL refuses scrypt above 32 MiB by default; scrypt needs 128·r·N bytes.
  uint64_t maxmem = 128ULL * r * n * p + (64ULL << 20);
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                                        const_cast<std::uint8_t*>(passphrase.data()),
                                        passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  SecureBytes kek(k_key_size);
  ++g_kdf_derivations;
  if (!ctx || EVP_KDF_derive(ctx.get(), kek.data(), kek.size(), ps) != 1)
    ossl::fail(Errc::Crypto, "deriving the store key with scrypt failed",
               "scrypt needs " + std::to_string((128ULL * r * n * p) >> 20) + " MiB of memory");
  return kek;
}

Bytes aead_seal(std::span<const std::uint8_t> key, std::span<const std::uint8_t> plaintext,
                std::span<const std::uint8_t> aad) {
  Bytes out = random_bytes(k_nonce_size);
  out.resize(k_nonce_size + plaintext.size() + k_tag_size);
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int ok = ctx && EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), out.data(), nullptr);
  ok = ok && EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  ok = ok && EVP_EncryptUpdate(ctx.get(), out.data() + k_nonce_size, &len, plaintext.data(),
                               static_cast<int>(plaintext.size()));
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + k_nonce_size + len, &len);
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(k_tag_size),
                                 out.data() + k_nonce_size + plaintext.size());
  if (!ok) ossl::fail(Errc::Crypto, "AES-256-GCM encryption failed");
  return out;
}

bool aead_open(std::span<const std::uint8_t> key, std::span<const std::uint8_t> sealed,
               std::span<const std::uint8_t> aad, SecureBytes& plaintext) {
  if (sealed.size() < k_nonce_size + k_tag_size) return false;
  const std::size_t body = sealed.size() - k_nonce_size - k_tag_size;
  plaintext.assign(body, 0);
  ossl::CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  int ok =
      ctx && EVP_DecryptInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), sealed.data(), nullptr);
  ok = ok && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size()));
  ok = ok && EVP_DecryptUpdate(ctx.get(), plaintext.data(), &len, sealed.data() + k_nonce_size,
                               static_cast<int>(body));
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(k_tag_size),
                                 const_cast<std::uint8_t*>(sealed.data() + k_nonce_size + body));
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), plaintext.data() + len, &len) == 1;
  ossl::clear_errors();
  if (!ok) plaintext.clear();
  return ok != 0;
}

}  // namespace keysafe::store
