// renew of an entry ACME ordered: the renewal's request is made as for any entry (a new key in
// NAME.renewal, or the same key), then finalized by a new order with the account and challenge
// stored with the entry, and installed by acme_issue, so that the pending entry takes over the
// name and the after-renewal steps run as they do for a local CA's renewal.
#include "keysafe/acme/ari.hpp"
#include "keysafe/acme/client.hpp"
#include "keysafe/acme/http01.hpp"
#include "keysafe/ops/acme.hpp"
#include "keysafe/ops/renew.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "renew_steps.hpp"

#include <random>

namespace keysafe::ops {
namespace {

AcmeChallenge stored_challenge(const store::AcmeEntryRecord& acme, std::string_view entry) {
  if (const auto challenge = acme_challenge_from_name(acme.challenge)) return *challenge;
  throw Error(Errc::Unsupported,
              "the entry \"" + std::string(entry) + "\" was ordered with the challenge \"" +
                  acme.challenge + "\", which this keysafe cannot answer",
              "renew repeats the challenge stored with the entry",
              "renew it with a keysafe that knows that challenge");
}

}  // namespace

RenewResult renew_by_acme(store::Keystore& store, const RenewParams& params,
                          const store::KeyRecord& key, const store::AcmeEntryRecord& acme,
                          std::unique_lock<std::mutex>& store_lock) {
  const auto say = [&](const std::string& line) {
    if (params.progress) params.progress(line);
  };
  RenewResult result;
  result.name = key.name;
  result.same_key = params.same_key;

  AcmeIssueParams order;
  order.account = acme.account;
  order.challenge = stored_challenge(acme, key.name);
  order.challenge_param = acme.challenge_param;
  order.preferred_chain = acme.preferred_chain;
  order.now = params.now;
  order.progress = params.progress;
  order.replaces = params.acme_replaces;
  if (!params.ari_checked) {
    // renew NAME: the administrator asked for this renewal now, so the CA's window does not
    // hold it back, but the order says which certificate it replaces (RFC 9773 §5).
    const ossl::Cert current =
        x509::certificate_from_der(store.certificate_der(*key.current_certificate_id));
    const auto check = AriChecker().check(store, acme, current.get());
    if (check.offered && !check.cert_id.empty()) {
      order.replaces = check.cert_id;
      say("the order replaces " + check.cert_id + " (ARI)");
    }
    if (!check.problem.empty()) result.warnings.push_back("ARI: " + check.problem);
  }
  order.shared_responder = params.shared_responder;
  order.store_mutex = params.store_mutex;
  if (params.same_key) {
    // The entry's newest request (made here) is finalized; the certificate it has stays
    // current until the new one is installed.
    const ossl::Cert current =
        x509::certificate_from_der(store.certificate_der(*key.current_certificate_id));
    (void)make_renewal_request(store, params, key, current.get());
    order.name = key.name;
  } else if (const auto pending = store::pending_renewal_of(store.database(), key.id)) {
    // A refused order left it: its key and request are used again.
    order.name = store::key_name_of(store.database(), *pending).value_or("");
    say("using the pending renewal \"" + order.name + "\" again");
  } else {
    const ossl::Cert current =
        x509::certificate_from_der(store.certificate_der(*key.current_certificate_id));
    order.name = make_renewal_request(store, params, key, current.get()).pending_name;
  }
  if (!params.same_key) result.pending_name = order.name;
  order.dns = store.key_by_name(order.name).value_or(store::KeyRecord{}).dns;

  if (store_lock.owns_lock()) store_lock.unlock();
  const AcmeIssueResult issued = acme_issue(store, order);  // a refusal keeps the request
  if (params.store_mutex) store_lock.lock();

  result.completed = true;
  result.ca = acme.directory_url;
  result.certificate = issued.install.certificate;
  for (const auto& w : issued.warnings) result.warnings.push_back(w);
  for (const auto& w : issued.install.warnings) result.warnings.push_back(w);
  result.acme = AcmeRenewal{issued.account,   acme.directory_url, issued.challenge,
                            issued.challenge_param, issued.order_url, order.replaces,
                            order.preferred_chain, issued.chain_top_issuer};
  if (issued.install.replaced_entry) {
    result.replaced_name = *issued.install.replaced_entry;
    result.hook = issued.install.renewal_hook;
    result.pending_name.clear();
  }
  if (params.same_key) {
    RenewalEvent event{key.name, key.id, key.id, "", params.now};
    result.hook = after_renewal(store, event);
  }
  return result;
}

}  // namespace keysafe::ops

namespace keysafe::ops {
namespace {

// Serializes add() for a responder that is not thread-safe itself (the webroot's files);
// clear() is left to the owner, after every order.
class LockedResponder final : public acme::Http01Responder {
 public:
  explicit LockedResponder(std::unique_ptr<acme::Http01Responder> inner) : m_inner(std::move(inner)) {}
  ~LockedResponder() override { m_inner->clear(); }
  void add(const std::string& token, const std::string& key_authorization) override {
    std::lock_guard lock(m_mutex);
    m_inner->add(token, key_authorization);
  }
  std::vector<std::string> clear() noexcept override {
    std::lock_guard lock(m_mutex);
    return m_inner->clear();
  }
  std::string describe() const override { return m_inner->describe(); }

 private:
  std::unique_ptr<acme::Http01Responder> m_inner;
  std::mutex m_mutex;
};

}  // namespace

SharedResponders::SharedResponders() = default;
SharedResponders::~SharedResponders() = default;

acme::Http01Responder* SharedResponders::for_entry(const store::AcmeEntryRecord& acme,
                                                   std::string_view entry) {
  const std::string key = acme.challenge + " " + acme.challenge_param;
  if (auto it = m_responders.find(key); it != m_responders.end()) return it->second.get();
  const AcmeChallenge challenge = stored_challenge(acme, entry);
  if (challenge == AcmeChallenge::DnsHook) return nullptr;  // each order runs the hook itself
  auto inner = challenge == AcmeChallenge::HttpListen ? acme::listen_responder(acme.challenge_param)
                                                      : acme::webroot_responder(acme.challenge_param);
  auto& slot = m_responders[key];
  slot = std::make_unique<LockedResponder>(std::move(inner));
  return slot.get();
}

}  // namespace keysafe::ops

namespace keysafe::ops {

struct AriChecker::Clients {
  std::map<std::string, std::unique_ptr<acme::Client>> by_directory;
};

AriChecker::AriChecker() : m_clients(std::make_unique<Clients>()) {}
AriChecker::~AriChecker() = default;

AriCheck AriChecker::check(store::Keystore& store, const store::AcmeEntryRecord& acme,
                           X509* current) {
  AriCheck out;
  try {
    auto& client = m_clients->by_directory[acme.directory_url];
    if (!client) {
      const auto account = store::acme_account_by_id(store.database(), acme.account_id);
      acme::ClientOptions o;
      if (account) o.http.ca_pem = account->directory_ca_pem;
      o.http.ca_description = "the account's directory CA";
      client = std::make_unique<acme::Client>(acme.directory_url, std::move(o));
    }
    if (client->directory().renewal_info.empty()) return out;
    out.offered = true;
    const auto id = acme::ari_cert_id(current);
    if (!id) {
      out.problem = "the certificate has no authority key identifier, so ARI cannot name it";
      return out;
    }
    out.cert_id = *id;
    const auto window = client->renewal_info(*id);
    if (!window) return out;
    std::random_device random;
    const std::uint64_t r = (std::uint64_t{random()} << 32) | random();
    out.renew_at = acme::choose_renewal_time(*window, r);
    out.window_start = window->start;
    out.window_end = window->end;
    out.retry_after = window->retry_after;
    out.explanation_url = window->explanation_url;
  } catch (const Error& e) {
    out.problem = e.summary();
  }
  return out;
}

}  // namespace keysafe::ops
