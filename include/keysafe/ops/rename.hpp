// Renaming an entry: `keysafe rename OLD NEW`, and the name an imported key takes from its
// certificate when its own name was made up at import ("key-" and 12 hex digits).
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <string>
#include <string_view>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// Checks before unlocking: OLD exists, NEW is a valid entry name that no entry has.
// Throws NotFound, Usage or AlreadyExists (naming the entry that holds NEW).
void prepare_rename(store::Keystore& store, std::string_view old_name, std::string_view new_name);

// Renames the entry. Everything else follows it: certificates, requests, deployments, the CA
// role and renewal links refer to the key's id; a CA's record of what it issued to the entry
// (issued_certificates.key_name, which carries a MAC: the store must be unlocked) is updated.
// Audited ("renamed"). Returns how many issued-certificate records were updated.
std::size_t rename_entry(store::Keystore& store, std::string_view old_name,
                         std::string_view new_name);

// Whether rename_entry would update rows that carry a MAC (so the store must be unlocked).
bool rename_needs_unlock(store::Keystore& store, std::string_view old_name);

// True for a name import made up because the key came without a name: "key-" and the first
// 12 hex digits of its public key's SHA-256, perhaps with "-2", "-3", ... for uniqueness.
bool is_generated_name(const store::KeyRecord& key);

// The name a key-only entry with a generated name takes when `cert` pairs with it: the
// certificate's CN, else its first DNS name, made a valid entry name and unique. Nothing when
// the entry has a certificate already, a name of its own, or the certificate gives none.
std::optional<std::string> name_from_certificate(store::Keystore& store,
                                                 const store::KeyRecord& key, X509* cert);

}  // namespace keysafe::ops
