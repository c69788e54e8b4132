// Time as keysafe shows it: Unix seconds in, RFC 3339 UTC out.
#pragma once

#include <cstdint>
#include <string>

namespace keysafe::ops {

std::int64_t now_unix();
std::string format_rfc3339(std::int64_t unix_seconds);
// Days left from `now` until `until` as a person counts them: to the nearest whole day, so a
// certificate made a few seconds ago with --days 20 has 20 days left (not 19, as whole days
// rounded down said), and one that ends in 30 days and 3 hours has 30. 0 within half a day
// of `until`, negative after. Every "days left" keysafe shows or compares comes from here.
std::int64_t days_left(std::int64_t now, std::int64_t until);

}  // namespace keysafe::ops
