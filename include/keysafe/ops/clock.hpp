// Time as keysafe shows it: Unix seconds in, RFC 3339 UTC out.
#pragma once

#include <cstdint>
#include <string>

namespace keysafe::ops {

std::int64_t now_unix();
std::string format_rfc3339(std::int64_t unix_seconds);
// Whole days from `now` until `until` (negative once past), rounded down.
std::int64_t days_between(std::int64_t now, std::int64_t until);

}  // namespace keysafe::ops
