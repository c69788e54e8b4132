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

std::int64_t days_between(std::int64_t now, std::int64_t until) {
  const std::int64_t diff = until - now;
  return diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400);
}

}  // namespace keysafe::ops
