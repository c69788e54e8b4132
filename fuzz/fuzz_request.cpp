// libFuzzer target: one DER certificate request (PKCS#10), decoded, inspected and verified.
#include "fuzz_support.hpp"
#include "keysafe/x509/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    auto req = keysafe::x509::request_from_der(keysafe::fuzz::input(data, size));
    (void)keysafe::x509::inspect_request(req.get());
    (void)keysafe::x509::request_signature_valid(req.get());
  });
  return 0;
}
