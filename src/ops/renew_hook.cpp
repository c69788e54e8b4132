// The after-renewal hook: a registered function, run once per completed renewal.
#include "keysafe/ops/renew_hook.hpp"

namespace keysafe::ops {
namespace {

RenewalHook& hook() {
  static RenewalHook h;
  return h;
}

}  // namespace

void set_renewal_hook(RenewalHook h) { hook() = std::move(h); }

RenewalHookOutcome after_renewal(store::Keystore& store, const RenewalEvent& event) {
  if (!hook()) return {};
  try {
    return hook()(store, event);
  } catch (const Error& e) {
    RenewalHookOutcome out;
    out.failures.push_back(e.summary() + (e.cause().empty() ? "" : ": " + e.cause()));
    return out;
  }
}

}  // namespace keysafe::ops
