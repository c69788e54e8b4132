// Reading what a user hands keysafe: the kind is detected from content, never the file name.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::formats {

struct ParsedInput {
  std::string format;  // "PEM", "DER certificate", "DER PKCS#7", ...
  std::vector<ossl::Cert> certificates;
  std::vector<ossl::Req> requests;
  std::size_t private_keys = 0;  // private-key blocks seen (read by `import`, not here)
  std::size_t pkcs7_bundles = 0;  // PKCS#7 SignedData structures the certificates came from
};

// Certificates (PEM, DER, PEM bundles, PKCS#7 in PEM or DER), certificate requests,
// and private-key PEM blocks (counted). `source` names the file in messages.
// Throws Errc::BadInput with the specific reason for anything else.
ParsedInput read_input(std::span<const std::uint8_t> data, std::string_view source);

}  // namespace keysafe::formats
