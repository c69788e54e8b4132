// Building and checking the chain from a leaf certificate to a trust anchor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

struct ChainCheck {
  bool trusted = false;
  // Certificates above the leaf, in order, taken from the supplied ones (the leaf excluded).
  std::vector<ossl::Cert> chain;
  // Supplied certificates that are not on the leaf's path.
  std::size_t unrelated = 0;
  std::string problem;         // OpenSSL's verdict when not trusted
  std::string missing_issuer;  // issuer DN that could not be found, when that is the problem
  // The self-signed root the supplied chain ends at, when the verifier does not trust it (it is
  // there, not missing: naming it as a trust anchor with --ca-file is the fix).
  std::string untrusted_root;
};

// Verifies `leaf` with `supplied` as untrusted intermediates against `ca_file` (PEM bundle)
// or, without one, the system trust store, at time `now`.
ChainCheck check_chain(X509* leaf, const std::vector<X509*>& supplied,
                       const std::optional<std::filesystem::path>& ca_file, std::int64_t now);

}  // namespace keysafe::x509
