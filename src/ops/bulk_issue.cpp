// Bulk issuance: key, request and certificate on worker threads, one transaction for the store.
//
// Work a naive pipeline repeats is done once or skipped: the CA key is opened once; a request
// built here is not encoded, re-parsed and re-verified before signing (its subject and public
// key are taken from the objects in memory); certificates are made by ops::Authority, the same
// code as `ca sign`.
#include "keysafe/ops/bulk_issue.hpp"

#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {
namespace {

constexpr std::size_t k_max_count = 1'000'000;

std::string entry_name(const BulkIssueParams& p, std::size_t i) {
  std::string n = std::to_string(i + 1);
  const std::size_t width = std::to_string(p.count).size();
  if (n.size() < width) n.insert(0, width - n.size(), '0');
  return p.prefix + "-" + n;
}

// What every certificate shares: the CA (which signs, as `ca sign` does) and the chain above
// the new leaves.
struct Issuer {
  Authority authority;
  std::vector<Bytes> chain;  // the CA's certificate, then its own chain, DER
  bool chain_trusted = false;
  std::string chain_problem;
  std::optional<std::int64_t> authority_key_id;  // set when the CA is a local CA (ca init)
};

store::PreparedEntry make_entry(const store::Keystore& store, const Issuer& ca,
                                const BulkIssueParams& p, std::size_t index,
                                const store::ReservedIds& ids) {
  store::PreparedEntry e;
  e.key_id = ids.first_key_id + static_cast<std::int64_t>(index);
  e.certificate_id = ids.first_certificate_id + static_cast<std::int64_t>(index);
  e.authority_key_id = ca.authority_key_id;
  const std::string name = entry_name(p, index);
  const std::string dns = x509::normalize_dns_name(name + p.dns_suffix);

  // The key and its request (kept in the store, as `create` does).
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const x509::RequestSpec spec{"", {dns}, {}};
  const ossl::Req req = x509::build_request(key.get(), spec);

  // The certificate, from the request's subject and the key in memory: the request was just
  // built here, so it is not re-encoded, re-parsed and re-verified first.
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  IssueOptions options;
  options.profile = x509::LeafProfile::Server;
  options.days = p.days;
  options.now = p.now;
  IssuedCertificate issued = ca.authority.issue(key.get(), subject, x509::AltNames{{dns}, {}}, options);

  // The rows, from what was just built.
  e.key.name = name;
  e.key.algorithm = std::string(x509::key_algorithm_name(x509::KeyAlgorithm::EcP256));
  e.key.spki_der = x509::spki_der(req.get());  // the encoding the request already holds
  e.key.subject = x509::name_to_string(subject);
  e.key.dns = {dns};
  e.key.request_der = x509::request_der(req.get());
  e.key.now = p.now;
  auto& c = e.certificate;
  c.der = x509::certificate_der(issued.certificate.get());
  c.info = std::move(issued.info);
  c.chain = ca.chain;
  c.chain_trusted = ca.chain_trusted;
  c.chain_problem = ca.chain_problem;
  c.now = p.now;
  e.sealed_private_key =
      store.seal_private_key(e.key_id, c.info.spki_sha256, x509::private_key_to_pkcs8(key.get()));
  ossl::clear_errors();
  return e;
}

// Opens the issuing entry once for all certificates: any entry holding a CA key and
// certificate (a local CA from `ca init`, or an imported one).
Issuer open_issuer(store::Keystore& store, const std::string& name) {
  const auto ca_key = store.key_by_name(name);
  if (!ca_key || !ca_key->current_certificate_id)
    throw Error(Errc::NotFound, "no CA entry named \"" + name + "\"");
  ossl::PKey key = x509::private_key_from_pkcs8(store.open_private_key(*ca_key));
  ossl::Cert cert = x509::certificate_from_der(store.certificate_der(*ca_key->current_certificate_id));
  if (!x509::certificate_matches_key(cert.get(), key.get()))
    throw Error(Errc::StoreDamaged, "the CA \"" + name + "\" does not match its certificate");
  std::vector<Bytes> chain_der{x509::certificate_der(cert.get())};
  std::vector<ossl::Cert> chain;
  for (auto& der : store.chain_of(*ca_key->current_certificate_id)) {
    chain.push_back(x509::certificate_from_der(der));
    chain_der.push_back(std::move(der));
  }
  // The local CA is the trust anchor of what it issues when its chain ends at a root.
  const X509* top = chain.empty() ? cert.get() : chain.back().get();
  const bool trusted = X509_check_issued(const_cast<X509*>(top), const_cast<X509*>(top)) == X509_V_OK;
  ossl::clear_errors();
  std::optional<std::int64_t> authority_key_id;
  if (store::authority(store.database(), ca_key->id)) authority_key_id = ca_key->id;
  return Issuer{Authority(name, ca_key->id, std::move(key), std::move(cert), std::move(chain)),
                std::move(chain_der), trusted,
                trusted ? std::string()
                        : "issued by the local CA \"" + name + "\" whose root is not in the store",
                authority_key_id};
}

}  // namespace

void prepare_bulk_issue(store::Keystore& store, BulkIssueParams& params) {
  if (params.count == 0 || params.count > k_max_count)
    throw Error(Errc::Usage, "--count must be between 1 and " + std::to_string(k_max_count),
                "it was " + std::to_string(params.count), "for example: --count 100");
  if (params.days < 1 || params.days > 3650)
    throw Error(Errc::Usage, "--days must be between 1 and 3650",
                "it was " + std::to_string(params.days), "for example: --days 90");
  if (params.threads == 0) params.threads = std::max(1u, std::thread::hardware_concurrency());
  params.threads = std::min(params.threads, 64u);
  // Every name valid and new, and every DNS name valid, before any key is made.
  validate_entry_name(entry_name(params, params.count - 1));
  (void)x509::normalize_dns_name(entry_name(params, 0) + params.dns_suffix);
  const auto ca = store.key_by_name(params.ca);
  if (!ca)
    throw Error(Errc::NotFound, "no entry named \"" + params.ca + "\"",
                "the issuing CA must be an entry of this store",
                "create one with: keysafe ca init " + params.ca);
  if (!ca->has_private_key || !ca->current_certificate_id)
    throw Error(Errc::Usage, "the entry \"" + params.ca + "\" cannot issue certificates",
                ca->has_private_key ? "it has no certificate yet" : "the store holds no private key for it",
                "issue from a local CA: keysafe ca init NAME");
  const auto cert = store.certificate(*ca->current_certificate_id);
  if (!cert || !cert->is_ca)
    throw Error(Errc::Usage, "the entry \"" + params.ca + "\" is not a CA",
                "its certificate has no basicConstraints cA=TRUE", "issue from a local CA: keysafe ca init NAME");
  std::unordered_set<std::string> names;
  for (auto& n : store.key_names()) names.insert(std::move(n));
  for (std::size_t i = 0; i < params.count; ++i)
    if (const auto n = entry_name(params, i); names.contains(n))
      throw Error(Errc::AlreadyExists, "the name \"" + n + "\" is already in use",
                  "bulk issuance creates " + entry_name(params, 0) + " ... " +
                      entry_name(params, params.count - 1) + ", all new",
                  "choose another --prefix");
}

BulkIssueResult issue_bulk(store::Keystore& store, const BulkIssueParams& params) {
  const Issuer ca = open_issuer(store, params.ca);

  BulkIssueResult result;
  result.ca = params.ca;
  result.threads = params.threads;
  const std::size_t n = params.count;
  for (std::size_t i = 0; i < n; ++i) {
    result.names.push_back(entry_name(params, i));
    store.record("created", result.names.back(),
                 "ec-p256 key and request; certificate issued by the local CA " + params.ca +
                     " (bulk)");
  }

  // Workers build and seal entries; this thread stores them in order as they come.
  std::vector<std::optional<store::PreparedEntry>> slots(n);
  std::mutex mutex;
  std::condition_variable ready;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::vector<std::thread> workers;
  const auto join = [&] {
    stop = true;
    for (auto& w : workers)
      if (w.joinable()) w.join();
  };
  try {
    store.add_prepared_entries(
        n,
        [&](store::ReservedIds ids) {
          for (unsigned t = 0; t < params.threads; ++t)
            workers.emplace_back([&, ids] {
              try {
                while (!stop) {
                  const std::size_t i = next++;
                  if (i >= n) break;
                  auto e = make_entry(store, ca, params, i, ids);
                  std::lock_guard lock(mutex);
                  slots[i] = std::move(e);
                  ready.notify_all();
                }
              } catch (...) {
                std::lock_guard lock(mutex);
                if (!failure) failure = std::current_exception();
                stop = true;
                ready.notify_all();
              }
            });
        },
        [&](std::size_t i) {
          std::unique_lock lock(mutex);
          ready.wait(lock, [&] { return slots[i].has_value() || failure != nullptr; });
          if (failure) std::rethrow_exception(failure);
          store::PreparedEntry e = std::move(*slots[i]);
          slots[i].reset();
          lock.unlock();
          if (params.progress) params.progress(i + 1, n);
          result.not_after = e.certificate.info.not_after;
          return e;
        });
  } catch (...) {
    join();
    throw;
  }
  join();
  return result;
}

}  // namespace keysafe::ops
