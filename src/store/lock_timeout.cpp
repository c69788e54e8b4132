// KEYSAFE_LOCK_TIMEOUT, shared by the SQLite busy timeout and PostgreSQL's lock_timeout.
#include "lock_timeout.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "keysafe/error.hpp"

namespace keysafe::store {
namespace {
constexpr int k_default_busy_timeout_ms = 10000;
constexpr int k_max_busy_timeout_ms = 24 * 3600 * 1000;
}  // namespace

// (see lock_timeout.hpp)
int lock_timeout_ms() {
  const char* value = std::getenv("KEYSAFE_LOCK_TIMEOUT");
  if (value == nullptr || *value == '\0') return k_default_busy_timeout_ms;
  char* end = nullptr;
  errno = 0;
  const double seconds = std::strtod(value, &end);
  if (errno != 0 || end == value || *end != '\0' || !std::isfinite(seconds) || seconds < 0)
    throw Error(Errc::Usage, "KEYSAFE_LOCK_TIMEOUT is not a number of seconds",
                std::string("it is \"") + value + "\"",
                "set it to how long to wait for a locked store, e.g. KEYSAFE_LOCK_TIMEOUT=30, "
                "or unset it (10 s)");
  return static_cast<int>(std::min(seconds * 1000.0, static_cast<double>(k_max_busy_timeout_ms)));
}

std::string format_seconds(int ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  std::ostringstream out;
  out << static_cast<double>(ms) / 1000.0 << " s";
  return out.str();
}

}  // namespace keysafe::store
