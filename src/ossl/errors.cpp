// Drains OpenSSL's per-thread error queue into keysafe errors.
#include "keysafe/ossl/errors.hpp"

#include <openssl/err.h>

namespace keysafe::ossl {

std::string take_errors() {
  std::string out;
  const char* file = nullptr;
  const char* func = nullptr;
  const char* data = nullptr;
  int line = 0;
  int flags = 0;
  unsigned long e = 0;
  while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += '\n';
    out += buf;
    if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

void clear_errors() noexcept { ERR_clear_error(); }

void fail(Errc code, std::string summary, std::string cause, std::string remedy) {
  Error err(code, std::move(summary), std::move(cause), std::move(remedy));
  err.with_openssl_errors(take_errors());
  throw err;
}

}  // namespace keysafe::ossl
