// libFuzzer target: one DER certificate, decoded and inspected as `show`/`list` do.
#include "fuzz_support.hpp"
#include "keysafe/x509/certificate_info.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    auto cert = keysafe::x509::certificate_from_der(keysafe::fuzz::input(data, size));
    (void)keysafe::x509::inspect_certificate(cert.get());
  });
  return 0;
}
