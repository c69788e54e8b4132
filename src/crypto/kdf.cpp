// scrypt (RFC 7914) through OpenSSL 3's EVP_KDF interface.
#include "keysafe/crypto/kdf.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <atomic>

#include "keysafe/crypto/kdf_bounds.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::crypto {
namespace {
std::atomic<std::uint64_t> g_kdf_derivations{0};
}  // namespace

std::uint64_t kdf_derivations() noexcept { return g_kdf_derivations.load(); }

SecureBytes derive_kek(std::span<const std::uint8_t> passphrase, std::span<const std::uint8_t> salt,
                       const KdfParams& params) {
  // Callers refuse out-of-range files with their own error first; this is the last guard.
  check_kdf_params(params, Errc::Internal, "a key derivation keysafe was asked to run",
                   "report this as a bug: the parameters were not checked when read");
  ossl::Kdf kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) ossl::fail(Errc::Crypto, "this OpenSSL has no scrypt");
  ossl::KdfCtx ctx(EVP_KDF_CTX_new(kdf.get()));
  uint64_t n = uint64_t{1} << params.log2_n;
  uint32_t r = params.r;
  uint32_t p = params.p;
  // OpenSSL refuses scrypt above 32 MiB by default; scrypt needs 128·r·N bytes (plus 128·r·p),
  // and the bounds keep that below 1 GiB: the limit is keysafe's, never the file's.
  uint64_t maxmem = k_max_scrypt_memory + (64ULL << 20);
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
               "scrypt needs " + std::to_string((128ULL * r * n) >> 20) + " MiB of memory");
  return kek;
}

}  // namespace keysafe::crypto
