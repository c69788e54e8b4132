// How long a command waits for a store another process is writing (both backends).
#pragma once

#include <string>

namespace keysafe::store {

// KEYSAFE_LOCK_TIMEOUT (seconds, decimals allowed; 0 = fail at once), 10 s when unset, in
// milliseconds. Throws a usage error for a value that is not a number of seconds.
int lock_timeout_ms();
// "10 s", "2.5 s".
std::string format_seconds(int ms);

}  // namespace keysafe::store
