// The steps renew shares with the ACME renewal (ops/acme_renew.cpp); internal to ops.
#pragma once

#include <mutex>
#include <string>

#include "keysafe/ops/renew.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/acme.hpp"

namespace keysafe::ops {

struct RenewalRequest {
  ossl::Req request;
  std::string pending_name;  // new key: the pending entry holding it; same key: ""
};
// Makes the renewal's request for the current certificate `current` of `key` and stores it:
// with the same key as the entry's newest request, with a new key in a pending entry
// NAME.renewal linked to the entry (one transaction).
RenewalRequest make_renewal_request(store::Keystore& store, const RenewParams& params,
                                    const store::KeyRecord& key, X509* current);

// renew of an entry that ACME ordered: a new order with its stored account and challenge.
// `store_lock` holds params.store_mutex (when set) on entry; the store is used only with it
// held, never while the CA is waited for.
RenewResult renew_by_acme(store::Keystore& store, const RenewParams& params,
                          const store::KeyRecord& key, const store::AcmeEntryRecord& acme,
                          std::unique_lock<std::mutex>& store_lock);

}  // namespace keysafe::ops
