// Baseline for unlocking: one scrypt derivation at keysafe's default cost (N=2^17, r=8, p=1,
// 32 bytes), through the same OpenSSL EVP_KDF interface, in a process that does nothing else.
// Usage: raw_kdf [LOG2_N]
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <string>

#include "common.hpp"

int main(int argc, char** argv) {
  const unsigned log2_n = argc > 1 ? static_cast<unsigned>(std::stoul(argv[1])) : 17;
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  char password[] = "correct horse battery staple";
  unsigned char salt[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  uint64_t n = uint64_t{1} << log2_n;
  uint32_t r = 8, p = 1;
  uint64_t maxmem = 128ULL * r * n * p + (64ULL << 20);
  OSSL_PARAM ps[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, password, sizeof password - 1),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, sizeof salt),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  unsigned char key[32];
  if (EVP_KDF_derive(ctx, key, sizeof key, ps) != 1) bench::die("scrypt failed");
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  std::printf("%s\n", bench::hex(key, 4).c_str());
  return 0;
}
