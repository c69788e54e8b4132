// The deploy side of a completed renewal: redeploy the entry to every recorded target.
#pragma once

#include "keysafe/ops/renew_hook.hpp"

namespace keysafe::ops {

// After a renewal (ops::after_renewal): redeploys `event.name` to each of its recorded targets (the deployments of the
// replaced key follow the new one). One note per target deployed, one failure per target that
// failed (its previous files restored); with the store locked, one failure naming the command.
RenewalHookOutcome redeploy_after_renewal(store::Keystore& store, const RenewalEvent& event);

}  // namespace keysafe::ops
