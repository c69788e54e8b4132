// keysafe renew: new request with the current certificate's subject and names; a local CA
// completes it at once; the pending entry takes over the old name when its certificate lands.
#include "keysafe/ops/renew.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/fleet.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/store/acme.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/store/deployments.hpp"
#include "keysafe/x509/issue.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"
#include "renew_steps.hpp"

namespace keysafe::ops {
namespace {

constexpr std::int64_t k_day = 86400;

std::string utc_date(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
  return buf;
}

store::KeyRecord existing(store::Keystore& store, std::string_view name) {
  auto key = store.key_by_name(name);
  if (!key)
    throw Error(Errc::NotFound, "no entry named \"" + std::string(name) + "\"",
                "the store has no entry of that name", "see every entry with: keysafe list");
  return *key;
}

// The profile the current certificate was issued for: client when it allows clientAuth only.
x509::LeafProfile profile_of(X509* cert) {
  const std::uint32_t xku = X509_get_extended_key_usage(cert);
  ossl::clear_errors();
  if (xku != UINT32_MAX && (xku & XKU_SSL_CLIENT) != 0 && (xku & XKU_SSL_SERVER) == 0)
    return x509::LeafProfile::Client;
  return x509::LeafProfile::Server;
}

}  // namespace

std::string pending_renewal_name(std::string_view name) { return std::string(name) + ".renewal"; }

void prepare_renew(store::Keystore& store, const RenewParams& params) {
  const auto key = existing(store, params.name);
  if (store::authority(store.database(), key.id))
    throw Error(Errc::Refused, "\"" + key.name + "\" is a local CA; keysafe does not renew CAs",
                "a CA's new key would invalidate everything it issued",
                "make a new CA with keysafe ca init NAME and re-issue from it");
  if (!key.current_certificate_id)
    throw Error(Errc::Refused, "\"" + key.name + "\" has no certificate to renew",
                store::renews_key_id(store.database(), key.id)
                    ? "it is itself a pending renewal, waiting for its certificate"
                    : "it is waiting for its first certificate",
                "install the certificate the CA returns: keysafe install CERTIFICATE-FILE");
  if (auto by = store::replaced_by(store.database(), key.id))
    throw Error(Errc::Refused, "\"" + key.name + "\" has been replaced by a renewal",
                "the entry \"" + store::key_name_of(store.database(), *by).value_or("?") +
                    "\" holds its renewed key and certificate",
                "renew that entry instead");
  // An ACME entry's pending renewal is what a refused order left: the retry reuses it.
  const bool acme_retry = !params.same_key && store::acme_entry(store.database(), key.id) &&
                          store::pending_renewal_of(store.database(), key.id);
  if (auto pending = store::pending_renewal_of(store.database(), key.id); pending && !acme_retry) {
    const auto pname = store::key_name_of(store.database(), *pending).value_or("?");
    throw Error(Errc::AlreadyExists, "\"" + key.name + "\" already has a pending renewal",
                "the entry \"" + pname + "\" holds the new key and waits for its certificate",
                "install its certificate (keysafe install FILE), write its request again "
                "(keysafe request " + pname + "), or give it up: keysafe delete " + pname +
                    " --force");
  }
  if (params.same_key && !key.has_private_key)
    throw Error(Errc::NotFound, "the entry \"" + key.name + "\" has no private key",
                "--same-key needs the key, and this entry holds a certificate only",
                "renew with a new key: keysafe renew " + key.name);
  if (!params.same_key && !acme_retry && store.key_by_name(pending_renewal_name(key.name)))
    throw Error(Errc::AlreadyExists,
                "the name \"" + pending_renewal_name(key.name) + "\" is already in use",
                "the renewal's pending entry takes that name",
                "rename or delete that entry first");
  if (params.days && (*params.days <= 0 || *params.days > 36500))
    throw Error(Errc::Usage, "--days must be between 1 and 36500",
                std::to_string(*params.days) + " was given", "for example: --days 90");
}

RenewalRequest make_renewal_request(store::Keystore& store, const RenewParams& params,
                                    const store::KeyRecord& key, X509* current) {
  const auto current_info = x509::inspect_certificate(current);
  // The names are checked before they go into a request keysafe signs (RFC 5280 §4.2.1.6): the
  // certificate may have been imported, and a name in it is not vouched for by keysafe.
  const x509::AltNames names =
      x509::certificate_alt_names(current, "the certificate of \"" + key.name + "\"");
  RenewalRequest made;
  ossl::PKey new_key;
  if (params.same_key) {
    new_key = x509::private_key_from_pkcs8(store.open_private_key(key));
  } else {
    const auto alg = params.algorithm
                         ? *params.algorithm
                         : x509::parse_key_algorithm(key.algorithm).value_or(x509::KeyAlgorithm::EcP256);
    new_key = x509::generate_key(alg);
  }
  ossl::Req req = x509::build_request_with(new_key.get(), X509_get_subject_name(current), names);
  if (!x509::request_signature_valid(req.get()))
    throw Error(Errc::Internal, "the new request's signature does not verify");
  const auto req_info = x509::inspect_request(req.get());
  const Bytes req_der = x509::request_der(req.get());

  if (params.same_key) {
    store.record("renewal-requested", key.name, "same key, request for " + req_info.subject);
    store.write([&](store::Database& db) { store::add_request(db, key.id, req_der, params.now); });
  } else {
    store::NewKey row;
    row.name = pending_renewal_name(key.name);
    row.algorithm = x509::describe_key(new_key.get());
    row.spki_der = req_info.spki;
    row.subject = req_info.subject;
    row.dns = current_info.dns;  // as the certificate has them (checked above)
    row.ip = current_info.ip;
    row.request_der = req_der;
    row.now = params.now;
    store.record("renewal-requested", key.name,
                 "new " + row.algorithm + " key in pending entry \"" + row.name + "\"");
    // One transaction: a pending entry is never left without its link to the entry it renews.
    store.write([&](store::Database& db) {
      const std::int64_t pending_id = store.add_key(row, x509::private_key_to_pkcs8(new_key.get()));
      store::set_renews_key_id(db, pending_id, key.id);
    });
    made.pending_name = row.name;
  }
  made.request = std::move(req);
  return made;
}

RenewResult renew(store::Keystore& store, const RenewParams& params) {
  std::unique_lock<std::mutex> store_lock;
  if (params.store_mutex) store_lock = std::unique_lock<std::mutex>(*params.store_mutex);
  prepare_renew(store, params);
  const auto key = existing(store, params.name);
  if (const auto acme = store::acme_entry(store.database(), key.id))
    return renew_by_acme(store, params, key, *acme, store_lock);
  const ossl::Cert current =
      x509::certificate_from_der(store.certificate_der(*key.current_certificate_id));
  const auto current_info = x509::inspect_certificate(current.get());
  const auto issuer = issuing_authority(store, current.get());

  RenewResult result;
  result.name = key.name;
  result.same_key = params.same_key;
  const auto made = make_renewal_request(store, params, key, current.get());
  const ossl::Req& req = made.request;
  result.pending_name = made.pending_name;

  if (!issuer) {
    result.request_pem = x509::request_pem(req.get());
    return result;
  }

  // A local CA issued the current certificate: issue the new one and install it now.
  IssueOptions o;
  o.profile = profile_of(current.get());
  o.days = params.days.value_or(
      std::max<std::int64_t>(1, (current_info.not_after - current_info.not_before + k_day / 2) / k_day));
  o.now = params.now;
  const Authority ca = Authority::open(store, issuer->name);
  const SignResult signed_result = ca_sign_request(store, ca, req.get(), o);
  result.completed = true;
  result.ca = ca.name();
  result.certificate = signed_result.certificate;
  if (signed_result.capped)
    result.warnings.push_back("the validity was cut to the CA's own, until " +
                              format_rfc3339(signed_result.certificate.not_after));
  if (signed_result.installed) {
    for (const auto& w : signed_result.installed->warnings) result.warnings.push_back(w);
    if (signed_result.installed->replaced_entry) {
      result.replaced_name = *signed_result.installed->replaced_entry;
      result.hook = signed_result.installed->renewal_hook;
      result.pending_name.clear();
    }
  }
  if (params.same_key) {
    RenewalEvent event{key.name, key.id, key.id, "", params.now};
    result.hook = after_renewal(store, event);
  }
  return result;
}

std::optional<RenewalSwap> swap_in_renewal(store::Keystore& store, std::int64_t key_id,
                                           std::int64_t now) {
  auto& db = store.database();
  const auto old_id = store::renews_key_id(db, key_id);
  if (!old_id) return std::nullopt;
  // Only the first certificate of a pending entry completes its renewal.
  if (store.certificates_of(key_id).size() != 1) return std::nullopt;
  if (store::replaced_by(db, *old_id) != key_id) return std::nullopt;
  const auto new_name = store::key_name_of(db, key_id);
  const auto old_name = store::key_name_of(db, *old_id);
  if (!new_name || !old_name) return std::nullopt;
  RenewalSwap swap;
  swap.name = *old_name;
  swap.old_key_id = *old_id;
  swap.new_key_id = key_id;
  const std::string base = *old_name + ".replaced-" + utc_date(now);
  swap.replaced_name = base;
  for (int n = 2; store::key_name_taken(db, swap.replaced_name); ++n)
    swap.replaced_name = base + "-" + std::to_string(n);
  store.record("renewed", swap.name,
               "the new key's certificate is installed; entry \"" + *new_name +
                   "\" is now \"" + swap.name + "\", the previous entry is now \"" +
                   swap.replaced_name + "\"");
  store.write([&](store::Database& d) {
    store::rename_key(d, *old_id, swap.replaced_name);
    store::rename_key(d, key_id, swap.name);
    store::reassign_deployments(d, *old_id, key_id);
    swap.assignments_moved = reseal_assignments(store, d, *old_id, key_id, now);
  });
  return swap;
}

RenewalEvent RenewalSwap::event(std::int64_t now) const {
  return RenewalEvent{name, old_key_id, new_key_id, replaced_name, now};
}

bool renewal_due(std::int64_t not_before, std::int64_t not_after, std::int64_t due_days,
                 std::int64_t now) {
  const std::int64_t left = not_after - now;
  const std::int64_t validity = not_after - not_before;
  const std::int64_t due = due_days * k_day;
  if (left > due) return false;
  // Short-lived: with "fewer than --due days left" alone, its renewal would be due at once
  // and every run would renew it again.
  if (validity < 3 * due) return left * 3 < validity;
  return true;
}

namespace {

// renew of one due entry for renew --all: its outcome as an item (never throws).
void renew_item(store::Keystore& store, RenewAllItem& item, RenewParams p, std::int64_t days) {
  const auto started = std::chrono::steady_clock::now();
  try {
    auto r = renew(store, p);
    item.status = r.completed ? "renewed" : "requested";
    if (r.certificate && !item.acme) {
      const std::int64_t validity = r.certificate->not_after - r.certificate->not_before;
      if (validity <= days * k_day)
        r.warnings.push_back(
            "the renewed certificate of \"" + r.name + "\" is valid for " +
            std::to_string((validity + k_day / 2) / k_day) + " days, no more than --due " +
            std::to_string(days) + ": renew --all counts it as due only when less than a "
            "third of its validity (" + std::to_string(validity / 3 / k_day) +
            " days) is left; give it a longer validity with keysafe renew " + r.name +
            " --days N");
    }
    if (!r.hook.failures.empty()) {
      item.status = "failed";
      item.detail = "renewed, but: " + r.hook.failures.front();
    }
    item.result = std::move(r);
  } catch (const Error& err) {
    item.status = "failed";
    item.detail = err.summary() + (err.cause().empty() ? "" : ": " + err.cause());
  } catch (const std::exception& err) {
    item.status = "failed";
    item.detail = err.what();
  } catch (...) {
    item.status = "failed";
    item.detail = "an unexpected error";
  }
  item.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
}

}  // namespace

RenewAllResult renew_due(store::Keystore& store, std::int64_t days, bool same_key,
                         std::int64_t now, std::size_t parallel) {
  RenewAllResult all;
  std::vector<RenewParams> params;
  std::vector<std::size_t> orders;  // the items renewed by ACME orders
  SharedResponders responders;
  AriChecker ari;
  std::mutex store_mutex;
  // ACME entries are asked their CA's renewal window whatever their expiry: all are read then.
  const bool with_acme = !store::acme_accounts(store.database()).empty();
  for (const auto& e : store.entries(with_acme ? std::nullopt
                                               : std::optional<std::int64_t>(now + days * k_day))) {
    // A superseded entry (replaced by its renewal) is not due: it is not even mentioned.
    if (e.superseded_by || !e.current || !e.key.current_certificate_id) continue;
    const bool days_due = renewal_due(e.current->not_before, e.current->not_after, days, now);
    const auto acme = store::acme_entry(store.database(), e.key.id);
    std::optional<AriCheck> check;
    if (acme) {
      const ossl::Cert cert =
          x509::certificate_from_der(store.certificate_der(*e.key.current_certificate_id));
      check = ari.check(store, *acme, cert.get());
    }
    const bool ari_due = check && check->renew_at && now >= *check->renew_at;
    const bool ari_window = check && check->renew_at;
    if (!days_due && !ari_due && !ari_window) continue;
    RenewAllItem item;
    item.name = e.key.name;
    item.due_reason = ari_due || (ari_window && !days_due) ? "ari-window" : "days-left";
    item.not_after = e.current->not_after;
    item.acme = acme.has_value();
    if (check && check->offered)
      item.ari = RenewAllItem::Ari{check->cert_id,   check->window_start, check->window_end,
                                   check->renew_at,  check->retry_after,  check->explanation_url,
                                   check->problem};
    if (!days_due && !ari_due) {
      // The CA's window has not come: listed, to say why it is not renewed.
      item.status = "not-due";
      item.detail = "the CA's renewal window (ARI) suggests renewing from " +
                    format_rfc3339(*check->renew_at);
      params.emplace_back();
      all.items.push_back(std::move(item));
      continue;
    }
    RenewParams p;
    p.name = e.key.name;
    p.same_key = same_key && e.key.has_private_key;
    p.now = now;
    if (check && check->offered) p.acme_replaces = check->cert_id;
    p.ari_checked = true;
    if (store::authority(store.database(), e.key.id)) {
      item.status = "skipped";
      item.detail = "a local CA (keysafe does not renew CAs)";
    } else if (auto pending = store::pending_renewal_of(store.database(), e.key.id);
               pending && !(acme && !p.same_key)) {
      // An ACME entry's pending renewal is what a refused order left: renew retries it.
      item.status = "skipped";
      item.detail = "a renewal is pending already (entry \"" +
                    store::key_name_of(store.database(), *pending).value_or("?") + "\")";
    } else if (acme) {
      try {
        p.shared_responder = responders.for_entry(*acme, e.key.name);
        p.store_mutex = &store_mutex;
        orders.push_back(all.items.size());
      } catch (const Error& err) {
        item.status = "failed";
        item.detail = err.summary() + (err.cause().empty() ? "" : ": " + err.cause());
      }
    } else {
      renew_item(store, item, p, days);
    }
    params.push_back(std::move(p));
    all.items.push_back(std::move(item));
  }

  // The ACME orders: `parallel` threads take the next order until none is left.
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < orders.size();) {
      const std::size_t at = orders[i];
      renew_item(store, all.items[at], params[at], days);
    }
  };
  const std::size_t threads = std::min(std::max<std::size_t>(parallel, 1), orders.size());
  {
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    if (threads > 0) worker();
    for (auto& t : pool) t.join();
  }

  for (const auto& item : all.items) {
    if (item.status == "renewed") ++all.renewed;
    if (item.status == "requested") ++all.requested;
    if (item.status == "skipped") ++all.skipped;
    if (item.status == "failed") ++all.failed;
  }
  return all;
}

}  // namespace keysafe::ops
