// Micro-benchmarks: sealing and opening a P-256 private key (AES-256-GCM under the data key).
#include <benchmark/benchmark.h>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/store/header.hpp"
#include "keysafe/crypto/aead.hpp"
#include "keysafe/crypto/kdf.hpp"
#include "keysafe/x509/public_key.hpp"
#include "micro_fixture.hpp"

namespace {

using namespace keysafe;

void BM_seal_private_key(benchmark::State& state) {
  bench::Fixture f;
  const SecureBytes pkcs8 = x509::private_key_to_pkcs8(f.key.get());
  const Bytes data_key = random_bytes(32);
  const Bytes aad = store::private_key_aad(random_bytes(16), 7, std::string(64, 'a'));
  for (auto _ : state) benchmark::DoNotOptimize(crypto::aead_seal(data_key, pkcs8, aad));
}
BENCHMARK(BM_seal_private_key);

void BM_open_private_key(benchmark::State& state) {
  bench::Fixture f;
  const SecureBytes pkcs8 = x509::private_key_to_pkcs8(f.key.get());
  const Bytes data_key = random_bytes(32);
  const Bytes aad = store::private_key_aad(random_bytes(16), 7, std::string(64, 'a'));
  const Bytes sealed = crypto::aead_seal(data_key, pkcs8, aad);
  for (auto _ : state) {
    SecureBytes out;
    benchmark::DoNotOptimize(crypto::aead_open(data_key, sealed, aad, out));
  }
}
BENCHMARK(BM_open_private_key);

void BM_open_and_decode_private_key(benchmark::State& state) {
  bench::Fixture f;
  const SecureBytes pkcs8 = x509::private_key_to_pkcs8(f.key.get());
  const Bytes data_key = random_bytes(32);
  const Bytes aad = store::private_key_aad(random_bytes(16), 7, std::string(64, 'a'));
  const Bytes sealed = crypto::aead_seal(data_key, pkcs8, aad);
  for (auto _ : state) {
    SecureBytes out;
    crypto::aead_open(data_key, sealed, aad, out);
    benchmark::DoNotOptimize(x509::private_key_from_pkcs8(out));
  }
}
BENCHMARK(BM_open_and_decode_private_key);

// The store's KDF at the cost test stores use (2^10); the default 2^17 is measured by run.sh.
void BM_scrypt_log2n_10(benchmark::State& state) {
  const Bytes salt = random_bytes(16);
  const std::string pass = "correct horse battery staple";
  for (auto _ : state)
    benchmark::DoNotOptimize(crypto::derive_kek(as_span(pass), salt, crypto::KdfParams{10, 8, 1}));
}
BENCHMARK(BM_scrypt_log2n_10);

}  // namespace

BENCHMARK_MAIN();
