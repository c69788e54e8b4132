// Clock and time formatting.
#include "keysafe/ops/clock.hpp"

#include <ctime>

namespace keysafe::ops {

std::int64_t now_unix() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string format_rfc3339(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::int64_t days_left(std::int64_t now, std::int64_t until) {
  constexpr std::int64_t k_day = 86400;
  // Rounded half up: floor((diff + half a day) / day), with the floor taken for negatives too.
  const std::int64_t shifted = until - now + k_day / 2;
  return shifted >= 0 ? shifted / k_day : -((-shifted + k_day - 1) / k_day);
}

}  // namespace keysafe::ops
