// Capturing the OpenSSL error queue into keysafe errors; the queue is left clean.
#pragma once

#include <string>

#include "keysafe/error.hpp"

namespace keysafe::ossl {

// Drains the thread's OpenSSL error queue into one line per entry.
std::string take_errors();

// Drops whatever is queued (after a failure that was expected and handled).
void clear_errors() noexcept;

// Raises an Error carrying the drained queue.
[[noreturn]] void fail(Errc code, std::string summary, std::string cause = {},
                       std::string remedy = {});

}  // namespace keysafe::ossl
