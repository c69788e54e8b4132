// Micro-benchmarks: matching a key with a certificate, and the SPKI hash that is the match key.
#include <benchmark/benchmark.h>

#include "keysafe/x509/public_key.hpp"
#include "micro_fixture.hpp"

namespace {

using namespace keysafe;

void BM_certificate_matches_key(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::certificate_matches_key(f.cert.get(), f.key.get()));
}
BENCHMARK(BM_certificate_matches_key);

void BM_spki_sha256_of_certificate(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::spki_sha256_hex(x509::spki_der(f.cert.get())));
}
BENCHMARK(BM_spki_sha256_of_certificate);

void BM_spki_sha256_of_key(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::spki_sha256_hex(x509::spki_der(f.key.get())));
}
BENCHMARK(BM_spki_sha256_of_key);

}  // namespace

BENCHMARK_MAIN();
