// Shared-ownership helpers for OpenSSL handles, and taking over memory OpenSSL allocated.
#include "keysafe/ossl/handles.hpp"

namespace keysafe::ossl {

Cert share(X509* cert) {
  X509_up_ref(cert);
  return Cert(cert);
}

Bytes take_bytes(unsigned char* data, int len) {
  const Allocated<unsigned char> owned(data);
  if (data == nullptr || len <= 0) return {};
  return Bytes(data, data + len);
}

SecureBytes take_secret(unsigned char* data, int len) {
  // OPENSSL_clear_free needs the length, so this one is not an Allocated<>.
  struct ClearFree {
    unsigned char* p;
    std::size_t n;
    ~ClearFree() { OPENSSL_clear_free(p, n); }
  } owned{data, len > 0 ? static_cast<std::size_t>(len) : 0};
  if (data == nullptr || len <= 0) return {};
  return SecureBytes(data, data + len);
}

std::string take_string(char* text) {
  const Allocated<char> owned(text);
  return text != nullptr ? std::string(text) : std::string();
}

}  // namespace keysafe::ossl
