// libFuzzer target: Apache httpd configuration text, read line by line (sections, Define,
// ${VAR}, conditions) and searched for TLS virtual hosts.
#include "fuzz_support.hpp"
#include "keysafe/adopt/apache_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)keysafe::adopt::parse_apache(text, "fuzz.conf");
  });
  return 0;
}
