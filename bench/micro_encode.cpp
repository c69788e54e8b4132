// Micro-benchmarks: PEM/DER encoding and decoding of certificates and keys, and the column
// extraction done once per certificate at install/import time.
#include <benchmark/benchmark.h>

#include "keysafe/formats/input.hpp"
#include "keysafe/ossl/bytes.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"
#include "micro_fixture.hpp"

namespace {

using namespace keysafe;

void BM_certificate_to_der(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::certificate_der(f.cert.get()));
}
BENCHMARK(BM_certificate_to_der);

void BM_certificate_from_der(benchmark::State& state) {
  bench::Fixture f;
  const Bytes der = x509::certificate_der(f.cert.get());
  for (auto _ : state) benchmark::DoNotOptimize(x509::certificate_from_der(der));
}
BENCHMARK(BM_certificate_from_der);

void BM_certificate_to_pem(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::certificate_pem(f.cert.get()));
}
BENCHMARK(BM_certificate_to_pem);

void BM_read_input_pem(benchmark::State& state) {
  bench::Fixture f;
  const std::string pem = x509::certificate_pem(f.cert.get());
  for (auto _ : state) benchmark::DoNotOptimize(formats::read_input(as_span(pem), "bench.pem"));
}
BENCHMARK(BM_read_input_pem);

void BM_inspect_certificate(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::inspect_certificate(f.cert.get()));
}
BENCHMARK(BM_inspect_certificate);

void BM_private_key_to_pkcs8(benchmark::State& state) {
  bench::Fixture f;
  for (auto _ : state) benchmark::DoNotOptimize(x509::private_key_to_pkcs8(f.key.get()));
}
BENCHMARK(BM_private_key_to_pkcs8);

void BM_private_key_from_pkcs8(benchmark::State& state) {
  bench::Fixture f;
  const SecureBytes der = x509::private_key_to_pkcs8(f.key.get());
  for (auto _ : state) benchmark::DoNotOptimize(x509::private_key_from_pkcs8(der));
}
BENCHMARK(BM_private_key_from_pkcs8);

}  // namespace

BENCHMARK_MAIN();
