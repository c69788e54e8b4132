// Reading {"passphrase": "..."} from a request body straight into cleansing memory.
#pragma once

#include <string>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::server {

// The "passphrase" member of a JSON object body. Errc::BadInput when the body is not a JSON
// object or the member is missing, empty, not a string or longer than 4096 bytes. The parser's
// own copy of the string is overwritten once taken.
SecureBytes passphrase_from_body(const std::string& body);

}  // namespace keysafe::server
