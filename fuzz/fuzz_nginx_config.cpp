// libFuzzer target: nginx configuration text, tokenized and searched for TLS sites.
#include "fuzz_support.hpp"
#include "keysafe/adopt/nginx_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto config = keysafe::adopt::parse_nginx(text, "fuzz.conf");
    (void)keysafe::adopt::nginx_sites(config, "/etc/nginx");
  });
  return 0;
}
