// libFuzzer target: PKCS#12 files as `import` reads them, without a password (NULL and "" are
// both tried) and with one.
#include <optional>

#include "fuzz_support.hpp"
#include "keysafe/formats/pkcs12.hpp"
#include "keysafe/formats/private_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using keysafe::fuzz::expect_error_or_success;
  const auto bytes = keysafe::fuzz::input(data, size);
  (void)keysafe::formats::looks_like_pkcs12(bytes);
  for (const auto& password :
       {std::optional<keysafe::SecureBytes>(), std::optional(keysafe::fuzz::password("password"))}) {
    expect_error_or_success([&] {
      const auto contents = keysafe::formats::read_pkcs12(bytes, "fuzz input", password);
      for (const auto& k : contents.keys) (void)keysafe::formats::weak_key_reason(k.key.get());
    });
  }
  return 0;
}
