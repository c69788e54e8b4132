// Writes a PEM bundle of N leaf certificates (each with its own P-256 key, thrown away), issued
// by one throwaway CA, with notAfter spread over two years so that ~4% expire within 30 days.
// With "keys", each certificate is preceded by its private key (PKCS#8 PEM, unencrypted).
// Usage: gen_bundle N OUT.pem [THREADS] [keys]
#include <openssl/pem.h>

#include <string>
#include <thread>

#include "common.hpp"

namespace {

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bench::Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) bench::die("extension");
}

std::string leaf_pem(long i, EVP_PKEY* ca_key, X509* ca, std::time_t now, bool with_key) {
  auto key = bench::p256_key();
  bench::Ptr<X509> cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), i + 1000);
  const std::string cn = "host-" + std::to_string(i) + ".bench.example";
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca));
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), -1, 0, &now);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(1 + i % 730), 0, &now);
  X509_set_pubkey(cert.get(), key.get());
  add_ext(cert.get(), ca, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca, NID_subject_alt_name, ("DNS:" + cn).c_str());
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) == 0) bench::die("sign");
  bench::Ptr<BIO> mem(BIO_new(BIO_s_mem()));
  if (with_key) PEM_write_bio_PrivateKey(mem.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  PEM_write_bio_X509(mem.get(), cert.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(mem.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: gen_bundle N OUT.pem [THREADS] [keys]\n");
    return 2;
  }
  const long n = std::stol(argv[1]);
  const unsigned threads = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3]))
                                    : std::max(1u, std::thread::hardware_concurrency());
  const bool with_keys = argc > 4 && std::string(argv[4]) == "keys";
  std::time_t now = std::time(nullptr);
  auto ca_key = bench::p256_key();
  bench::Ptr<X509> ca(X509_new());
  X509_set_version(ca.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(ca.get()), 1);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(ca.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("keysafe bench CA"), -1, -1, 0);
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  X509_time_adj_ex(X509_getm_notBefore(ca.get()), -2, 0, &now);
  X509_time_adj_ex(X509_getm_notAfter(ca.get()), 3650, 0, &now);
  X509_set_pubkey(ca.get(), ca_key.get());
  if (X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) bench::die("sign CA");

  std::vector<std::string> pems(static_cast<std::size_t>(n));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (long i = t; i < n; i += threads)
        pems[static_cast<std::size_t>(i)] = leaf_pem(i, ca_key.get(), ca.get(), now, with_keys);
    });
  for (auto& th : pool) th.join();
  std::FILE* out = std::fopen(argv[2], "wb");
  if (out == nullptr) bench::die("cannot write the bundle");
  for (const auto& p : pems) std::fwrite(p.data(), 1, p.size(), out);
  std::fclose(out);
  return 0;
}
