// After a renewal: redeploy the entry to its recorded targets, whatever the front end.
#include "keysafe/ops/renew_hook.hpp"

#include "keysafe/ops/deploy_hook.hpp"

namespace keysafe::ops {

RenewalHookOutcome after_renewal(store::Keystore& store, const RenewalEvent& event) {
  try {
    return redeploy_after_renewal(store, event);
  } catch (const Error& e) {
    RenewalHookOutcome out;
    out.failures.push_back(e.summary() + (e.cause().empty() ? "" : ": " + e.cause()));
    return out;
  }
}

}  // namespace keysafe::ops
