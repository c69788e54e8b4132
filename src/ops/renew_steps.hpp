// The steps renew shares with the ACME renewal (ops/acme_renew.cpp); internal to ops.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// ARI (RFC 9773) for renew --all: the CA's renewal window of an entry's current certificate.
struct AriCheck {
  bool offered = false;                    // the directory has renewalInfo
  std::string cert_id;                     // sent as "replaces" when offered
  std::optional<std::int64_t> renew_at;    // the time chosen in the window
  std::optional<std::int64_t> window_start, window_end, retry_after;
  std::string explanation_url;
  std::string problem;  // why there is no window (the CA's document was refused, unreachable)
};
class AriChecker final {
 public:
  AriChecker();
  ~AriChecker();
  AriChecker(const AriChecker&) = delete;
  AriChecker& operator=(const AriChecker&) = delete;
  // One client per directory, so a directory without renewalInfo is asked once per run.
  AriCheck check(store::Keystore& store, const store::AcmeEntryRecord& acme, X509* current);

 private:
  struct Clients;
  std::unique_ptr<Clients> m_clients;
};

// The HTTP-01 responders of orders running at once (renew --all --parallel): one per listen
// address or webroot, shared by every order that uses it, cleared when destroyed.
class SharedResponders final {
 public:
  SharedResponders();
  ~SharedResponders();
  SharedResponders(const SharedResponders&) = delete;
  SharedResponders& operator=(const SharedResponders&) = delete;
  // The responder for the entry's stored challenge, made on first use (throws as
  // acme::listen_responder / webroot_responder do); nullptr for DNS-01. Call from one thread.
  acme::Http01Responder* for_entry(const store::AcmeEntryRecord& acme, std::string_view entry);

 private:
  std::map<std::string, std::unique_ptr<acme::Http01Responder>> m_responders;
};

}  // namespace keysafe::ops
