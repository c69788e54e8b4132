// libFuzzer target: certbot's renewal configuration (configobj read with inih and keysafe's
// checks of what inih reads differently), its list values and the account directory of the
// server URL it names.
#include "fuzz_support.hpp"
#include "keysafe/adopt/certbot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  keysafe::fuzz::expect_error_or_success([&] {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto conf = keysafe::adopt::parse_certbot_renewal(text, "fuzz.conf");
    for (const auto& [key, value] : conf.params) (void)keysafe::adopt::certbot_list(value);
    if (const auto s = conf.params.find("server"); s != conf.params.end())
      (void)keysafe::adopt::certbot_account_subdir(s->second);
  });
  return 0;
}
