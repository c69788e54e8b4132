// libFuzzer target: what `install` reads — PEM/DER certificates, PEM bundles, PKCS#7 chains
// (PEM or DER) and certificate requests — then every certificate and request is inspected and
// the chain built from them (against an empty trust store: no file, no network). The same bytes
// then go through keysafe inspect's reader, which also tries PKCS#12, private keys and backups.
#include <optional>
#include <vector>

#include "fuzz_support.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/ops/inspect.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/chain.hpp"
#include "keysafe/x509/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    auto parsed = keysafe::formats::read_input(keysafe::fuzz::input(data, size), "fuzz input");
    std::vector<X509*> certs;
    for (auto& c : parsed.certificates) {
      keysafe::fuzz::expect_error_or_success([&] { (void)keysafe::x509::inspect_certificate(c.get()); });
      certs.push_back(c.get());
    }
    for (auto& r : parsed.requests) {
      keysafe::fuzz::expect_error_or_success([&] {
        (void)keysafe::x509::inspect_request(r.get());
        (void)keysafe::x509::request_signature_valid(r.get());
      });
    }
    if (!certs.empty()) {
      std::vector<X509*> rest(certs.begin() + 1, certs.end());
      keysafe::fuzz::expect_error_or_success([&] {
        (void)keysafe::x509::check_chain(certs.front(), rest, std::filesystem::path("/dev/null"),
                                         1767225600);
      });
    }
  });
  keysafe::fuzz::expect_error_or_success([&] {
    (void)keysafe::ops::inspect_file(keysafe::fuzz::input(data, size), "fuzz input", std::nullopt);
  });
  return 0;
}
