// The one place a completed renewal is acted on: the entry is redeployed to its recorded targets
// (ops/deploy_hook.hpp). Called by renew and install in the library, so every front end (the
// command line, a server) redeploys after a renewal without setting anything up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct RenewalEvent {
  std::string name;             // the entry's name: it now holds the new certificate
  std::int64_t old_key_id = 0;  // the replaced entry (renamed NAME.replaced-YYYYMMDD)
  std::int64_t new_key_id = 0;  // equal to old_key_id for a renewal with the same key
  std::string replaced_name;    // the old entry's new name; empty for the same key
  std::int64_t now = 0;
};

struct RenewalHookOutcome {
  std::vector<std::string> notes;     // one line each, shown to the user
  std::vector<std::string> failures;  // what went wrong (renew --all counts it as failed)
};

// Called after a renewal has completed and been committed: the new certificate is current
// under the entry's name. Redeploys it (redeploy_after_renewal); a keysafe::Error becomes a
// failure line, never undoing the renewal.
RenewalHookOutcome after_renewal(store::Keystore& store, const RenewalEvent& event);

}  // namespace keysafe::ops
