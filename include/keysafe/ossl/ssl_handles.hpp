// Owning handles for libssl objects (TLS client connections), beside handles.hpp's libcrypto ones.
#pragma once

#include <openssl/ssl.h>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::ossl {

using SslCtx = Handle<SSL_CTX, ::SSL_CTX_free>;
using Ssl = Handle<SSL, ::SSL_free>;

}  // namespace keysafe::ossl
