// Redeploying after a renewal (called by ops::after_renewal, ops/renew_hook.hpp).
#include "keysafe/ops/deploy_hook.hpp"

#include "keysafe/ops/deploy.hpp"
#include "keysafe/store/deployments.hpp"

namespace keysafe::ops {

RenewalHookOutcome redeploy_after_renewal(store::Keystore& store, const RenewalEvent& event) {
  RenewalHookOutcome out;
  // The old entry's deployments moved to the new one with the renewal (ops::swap_in_renewal).
  const auto targets = store::deployments(store.database(), event.new_key_id);
  if (targets.empty()) return out;
  if (!store.unlocked()) {
    out.failures.push_back("\"" + event.name + "\" was renewed but not redeployed to its " +
                           std::to_string(targets.size()) +
                           " target(s): the store is locked; run: keysafe deploy " + event.name +
                           " --to DIR (keysafe deployments lists them)");
    return out;
  }
  for (const auto& o : redeploy(store, event.name, event.now)) {
    if (o.result)
      out.notes.push_back("redeployed \"" + event.name + "\" to " + o.target_dir +
                          (o.result->probe ? " (" + *o.result->record.probe + " serves serial " +
                                                 o.result->probe->serial_hex + ")"
                                           : std::string()));
    else
      out.failures.push_back("redeploying \"" + event.name + "\" to " + o.target_dir +
                             " failed: " + o.error->summary() +
                             (o.error->cause().empty() ? "" : "\n" + o.error->cause()));
  }
  return out;
}

}  // namespace keysafe::ops
