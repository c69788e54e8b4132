// Shared-ownership helpers for OpenSSL handles.
#include "keysafe/ossl/handles.hpp"

namespace keysafe::ossl {

Cert share(X509* cert) {
  X509_up_ref(cert);
  return Cert(cert);
}

}  // namespace keysafe::ossl
