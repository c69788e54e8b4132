// Owning handles for the password-based-encryption parameter types (RFC 8018, RFC 7914 §7.1)
// that only the key-derivation bounds of keysafe_formats decode.
#pragma once

#include <openssl/x509.h>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::ossl {

using ScryptParams = Handle<SCRYPT_PARAMS, ::SCRYPT_PARAMS_free>;
using PbeParam = Handle<PBEPARAM, ::PBEPARAM_free>;

}  // namespace keysafe::ossl
