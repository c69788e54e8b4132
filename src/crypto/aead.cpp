// AES-256-GCM (NIST SP 800-38D) through OpenSSL 3's EVP cipher interface.
#include "keysafe/crypto/aead.hpp"

#include "keysafe/ossl/errors.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::crypto {

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

}  // namespace keysafe::crypto
