// libFuzzer target: HAProxy configuration text (quotes, escapes, .if blocks, bind lines),
// without opening the crt directories or crt-lists it names.
#include "fuzz_support.hpp"
#include "keysafe/adopt/haproxy_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    keysafe::adopt::HaproxyOptions options;
    options.read_files = false;
    (void)keysafe::adopt::parse_haproxy(text, "fuzz.cfg", "/etc/haproxy", options);
  });
  return 0;
}
