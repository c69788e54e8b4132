// Deleting an entry, and the policy of which deletes need --force.
#pragma once

#include <string>
#include <string_view>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct DeleteResult {
  std::string name;
  bool had_private_key = false;
};

// Deletes entry `name` (key, certificates, requests), with a "deleted" audit row. Without
// `force`, refuses (Errc::Refused) a private key this store may hold the only copy of: a pending
// key (the certificate its CA is about to send needs it) and a key with no backup newer than its
// newest certificate. Errc::NotFound when there is no such entry. No passphrase is needed.
DeleteResult delete_entry(store::Keystore& store, std::string_view name, bool force);

}  // namespace keysafe::ops
