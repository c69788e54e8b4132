// libFuzzer target: private keys as `import` reads them — PEM (PKCS#8 plain and encrypted,
// PKCS#1, SEC1, traditional encrypted) and DER — without a password and with one; every key
// read is judged (weak-key policy) as import does.
#include <optional>

#include "fuzz_support.hpp"
#include "keysafe/formats/private_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using keysafe::fuzz::expect_error_or_success;
  const auto bytes = keysafe::fuzz::input(data, size);
  for (const auto& password :
       {std::optional<keysafe::SecureBytes>(), std::optional(keysafe::fuzz::password("password"))}) {
    expect_error_or_success([&] {
      for (const auto& k : keysafe::formats::read_private_keys(bytes, "fuzz input", password))
        (void)keysafe::formats::weak_key_reason(k.key.get());
    });
  }
  return 0;
}
