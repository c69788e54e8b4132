// Internal to keysafe_formats: the key-derivation cost a PKCS#12 or encrypted PKCS#8 file asks
// for, judged by crypto/kdf_bounds.hpp before any password is tried.
#pragma once

#include <string>
#include <string_view>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::formats::detail {

// Empty when the password-based encryption `alg` (PBES2 with PBKDF2 or scrypt, PBES1, a
// PKCS#12 PBE) derives within the bounds; else which parameters exceed which bound.
// Parameters that do not decode are left to describe_pbe, which calls them damaged.
std::string pbe_cost_problem(const X509_ALGOR* alg);

// Throws Unsupported ("key derivation parameters out of range in \"file\"", exit 1) naming
// `where` when `alg` asks for too much.
void check_pbe_cost(const X509_ALGOR* alg, std::string_view source, const std::string& where);

// Every derivation of a PKCS#12 file that can be seen without its password: the MAC's
// iteration count, each encrypted safe, each shrouded key bag of a plain safe. Run before
// PKCS12_verify_mac, the first derivation. (Key bags inside encrypted safes are checked as
// the walk reaches them, before they are decrypted.)
void check_pkcs12_costs(const PKCS12* p12, const STACK_OF(PKCS7) * safes,
                        std::string_view source);

}  // namespace keysafe::formats::detail
