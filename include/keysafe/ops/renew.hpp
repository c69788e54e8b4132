// Renewal: a new request (new key by default, or the same key) with the subject and names of
// the current certificate; completed at once when a local CA in the store issued it.
//
// With a new key, the key waits in a pending entry "NAME.renewal" (keys.renews_key_id = the
// old entry). The old entry keeps its name and certificate until the new certificate is
// installed; then the new entry takes the name NAME and the old one is renamed
// "NAME.replaced-YYYYMMDD" (UTC date; "-2", "-3", ... if taken). Nothing is deleted.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ops/renew_hook.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace keysafe::acme {
class Http01Responder;
}

namespace keysafe::ops {

struct RenewParams {
  std::string name;
  bool same_key = false;
  std::optional<std::int64_t> days;                 // default: the current certificate's lifetime
  std::optional<x509::KeyAlgorithm> algorithm;      // default: the current key's, else ec-p256
  std::int64_t now = 0;
  // Entries ordered by ACME (ops/acme_renew.cpp): progress lines, the ARI certID the order
  // replaces, and for orders on several threads the shared responder and store mutex
  // (AcmeIssueParams).
  std::function<void(const std::string&)> progress;
  std::string acme_replaces;
  // renew --all asked the CA's renewal window already (acme_replaces is its answer); a single
  // renew NAME asks it itself and sends "replaces" when the directory offers renewalInfo.
  bool ari_checked = false;
  acme::Http01Responder* shared_responder = nullptr;
  std::mutex* store_mutex = nullptr;
};

// What an ACME renewal ordered (renew --json "acme").
struct AcmeRenewal {
  std::string account;
  std::string directory;
  std::string challenge;
  std::string challenge_param;
  std::string order_url;
  std::string replaces;  // the ARI certID sent as "replaces", or ""
  std::optional<std::string> preferred_chain;  // stored with the entry (--preferred-chain)
  std::string chain_top_issuer;  // the issuer CN of the installed chain's topmost certificate
};

struct RenewResult {
  std::string name;           // the entry renewed
  bool same_key = false;
  bool completed = false;     // a local CA issued the new certificate and it is installed
  std::string ca;             // that CA
  std::string pending_name;   // new key, not completed: the pending entry
  std::string replaced_name;  // new key, completed: the old entry's new name
  std::string request_pem;    // not completed: send this to the CA
  std::optional<x509::CertificateInfo> certificate;  // completed: the new certificate
  std::vector<std::string> warnings;
  RenewalHookOutcome hook;    // completed: what the after-renewal hook did
  std::optional<AcmeRenewal> acme;  // the entry was ordered by ACME: this order
};

// The pending entry's name for a renewal of `name` with a new key.
std::string pending_renewal_name(std::string_view name);

// Checks before any expensive work (no unlock needed): the entry exists, has a current
// certificate, is not a CA, has no pending renewal; --same-key needs its private key.
void prepare_renew(store::Keystore& store, const RenewParams& params);
// Makes the request and, when a local CA issued the current certificate, the certificate.
// The store must be unlocked.
RenewResult renew(store::Keystore& store, const RenewParams& params);

struct RenewalSwap {
  std::string name;           // the name the new entry took over
  std::string replaced_name;  // the old entry's new name
  std::int64_t old_key_id = 0;
  std::int64_t new_key_id = 0;
  std::size_t assignments_moved = 0;  // fleet assignments re-sealed to the new key
  // What the after-renewal hook is told.
  RenewalEvent event(std::int64_t now) const;
};
// Called inside the transaction (Keystore::write) that gives entry `key_id` a current
// certificate: if it is a pending renewal, it takes over the old entry's name and
// deployments, and the old entry is renamed, so that the certificate and the new names commit
// together. Nothing happens for any other entry. After the commit the caller runs
// after_renewal(store, swap.event(now)): servers are redeployed only with a committed store.
std::optional<RenewalSwap> swap_in_renewal(store::Keystore& store, std::int64_t key_id,
                                           std::int64_t now);

// ---- renew --all --due DAYS ---------------------------------------------------------------
struct RenewAllItem {
  std::string name;
  // "renewed" (completed), "requested" (waiting for the CA), "skipped", "failed"; "not-due":
  // an ACME entry whose CA's renewal window (ARI) has not come (listed to say why)
  std::string status;
  std::string detail;
  std::optional<std::int64_t> not_after;  // the current certificate's
  std::optional<RenewResult> result;
  // Why it was due: "days-left" (--due), or "ari-window" (the CA's suggested window, ACME).
  std::string due_reason;
  bool acme = false;            // ordered by ACME: renewed by a new order
  // ARI (RFC 9773), when the entry's CA offers renewalInfo: its window, the time chosen in it,
  // when to ask again (Retry-After), or why there is none.
  struct Ari {
    std::string cert_id;
    std::optional<std::int64_t> window_start, window_end, renew_at, retry_after;
    std::string explanation_url;
    std::string problem;
  };
  std::optional<Ari> ari;
  std::int64_t elapsed_ms = 0;  // how long its renewal took (orders run at once overlap)
};
struct RenewAllResult {
  std::vector<RenewAllItem> items;
  std::size_t renewed = 0, requested = 0, skipped = 0, failed = 0;
};
// Whether a certificate valid from `not_before` to `not_after` is due for renewal at `now` with
// --due `due_days`: fewer than `due_days` days left, or, for a certificate whose whole validity
// is shorter than three times that (a renewal would be due again at once, or nearly), only
// less than a third of its validity left. So a 20-day certificate under --due 30 is renewed
// with under 6 2/3 days left, and not again by the next run.
bool renewal_due(std::int64_t not_before, std::int64_t not_after, std::int64_t due_days,
                 std::int64_t now);

// Renews every entry that is due (renewal_due; expired ones included; an ACME entry also when
// its CA's ARI window says so, the order then sending "replaces"), skipping CAs, entries
// without a certificate, and entries with a pending renewal; superseded entries (replaced by a
// renewal) are left out altogether. A renewed certificate that is valid for no more than
// `days` gets a warning (renewal_due counts it by a third of its validity). A failure of one
// entry does not stop the others. The store must be unlocked.
//
// Entries ordered by ACME are renewed by new orders, up to `parallel` at once, each on its own
// thread with its own HTTPS connection; the store is one connection used under a mutex (one
// transaction per install), never while an order waits for its CA. Orders answering HTTP-01
// on the same address or webroot share one responder. Items come in the entries' order
// whatever order the renewals finish in.
inline constexpr std::size_t k_default_parallel_orders = 4;
RenewAllResult renew_due(store::Keystore& store, std::int64_t days, bool same_key,
                         std::int64_t now, std::size_t parallel = k_default_parallel_orders);

}  // namespace keysafe::ops
