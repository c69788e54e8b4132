// Bulk issuance: key, request and certificate on worker threads, one transaction for the store.
//
// Work a naive pipeline repeats is done once or skipped: the CA key is opened and its names
// and identifiers read once; a request built here is not encoded, re-parsed and re-verified
// before signing (its subject and public key are taken from the objects in memory); the stored
// columns are taken from what was just built instead of decoding the certificate again.
#include "keysafe/ops/bulk_issue.hpp"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "keysafe/ops/create.hpp"
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

// What every certificate shares: the CA, its names and the chain above the new leaves.
struct Issuer {
  std::string name;
  ossl::PKey key;
  ossl::Cert cert;
  std::string subject;  // RFC 2253, for the issuer column
  std::vector<Bytes> chain;
  bool chain_trusted = false;
  std::string chain_problem;
  std::optional<std::int64_t> authority_key_id;
};

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ossl::Extension ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    ossl::fail(Errc::Crypto, std::string("adding the extension ") + OBJ_nid2sn(nid) + " failed");
}

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

  // The certificate, from the request's subject and the key in memory.
  ossl::Cert cert(X509_new());
  if (!cert) ossl::fail(Errc::Crypto, "allocating a certificate failed");
  X509_set_version(cert.get(), X509_VERSION_3);
  std::uint8_t serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) ossl::fail(Errc::Crypto, "no random serial");
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x01);  // positive, 16 bytes (RFC 5280 §4.1.2.2)
  {
    ossl::BigNum bn(BN_bin2bn(serial, sizeof serial, nullptr));
    if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr)
      ossl::fail(Errc::Crypto, "setting the serial number failed");
  }
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  X509_set_subject_name(cert.get(), subject);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get()));
  time_t not_before = static_cast<time_t>(p.now);
  time_t not_after = static_cast<time_t>(p.now + std::int64_t{p.days} * 86400);
  if (X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &not_before) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, 0, &not_after) == nullptr)
    ossl::fail(Errc::Crypto, "setting the validity failed");
  X509_set_pubkey(cert.get(), key.get());
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.cert.get(), cert.get(), nullptr, nullptr, 0);
  add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), &ctx, NID_subject_alt_name, ("DNS:" + dns).c_str());
  add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid,issuer");
  if (X509_sign(cert.get(), ca.key.get(), x509::signing_digest(ca.key.get())) <= 0)
    ossl::fail(Errc::Crypto, "signing certificate " + name + " failed");

  // The rows, from what was just built.
  e.key.name = name;
  e.key.algorithm = std::string(x509::key_algorithm_name(x509::KeyAlgorithm::EcP256));
  e.key.spki_der = x509::spki_der(req.get());  // the encoding the request already holds
  e.key.subject = x509::name_to_string(subject);
  e.key.dns = {dns};
  e.key.request_der = x509::request_der(req.get());
  e.key.now = p.now;
  auto& c = e.certificate;
  c.der = x509::certificate_der(cert.get());
  c.info.subject = e.key.subject;
  c.info.issuer = ca.subject;
  c.info.serial_hex = to_hex(serial);
  std::transform(c.info.serial_hex.begin(), c.info.serial_hex.end(), c.info.serial_hex.begin(),
                 [](char ch) { return static_cast<char>(std::toupper(static_cast<unsigned char>(ch))); });
  c.info.not_before = p.now;
  c.info.not_after = static_cast<std::int64_t>(not_after);
  c.info.dns = {dns};
  c.info.fingerprint_sha256 = to_hex(sha256(c.der));
  c.info.spki = e.key.spki_der;
  c.info.spki_sha256 = x509::spki_sha256_hex(e.key.spki_der);
  c.info.key_algorithm = e.key.algorithm;
  c.chain = ca.chain;
  c.chain_trusted = ca.chain_trusted;
  c.chain_problem = ca.chain_problem;
  c.now = p.now;
  e.sealed_private_key =
      store.seal_private_key(e.key_id, c.info.spki_sha256, x509::private_key_to_pkcs8(key.get()));
  ossl::clear_errors();
  return e;
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
  // The CA: opened once for all certificates.
  Issuer ca;
  ca.name = params.ca;
  const auto ca_key = store.key_by_name(params.ca);
  if (!ca_key || !ca_key->current_certificate_id)
    throw Error(Errc::NotFound, "no CA entry named \"" + params.ca + "\"");
  ca.key = x509::private_key_from_pkcs8(store.open_private_key(*ca_key));
  ca.cert = x509::certificate_from_der(store.certificate_der(*ca_key->current_certificate_id));
  if (!x509::certificate_matches_key(ca.cert.get(), ca.key.get()))
    throw Error(Errc::StoreDamaged, "the CA \"" + params.ca + "\" does not match its certificate");
  ca.subject = x509::name_to_string(X509_get_subject_name(ca.cert.get()));
  ca.chain.push_back(x509::certificate_der(ca.cert.get()));
  for (auto& der : store.chain_of(*ca_key->current_certificate_id)) ca.chain.push_back(std::move(der));
  // The local CA is the trust anchor of what it issues when its chain ends at a root.
  const auto top = x509::certificate_from_der(ca.chain.back());
  ca.chain_trusted = X509_check_issued(top.get(), top.get()) == X509_V_OK;
  ossl::clear_errors();
  if (!ca.chain_trusted)
    ca.chain_problem = "issued by the local CA \"" + params.ca + "\" whose root is not in the store";
  {
    auto q = store.database().prepare("SELECT 1 FROM authorities WHERE key_id = ?");
    q.bind(1, ca_key->id);
    if (q.step()) ca.authority_key_id = ca_key->id;
  }

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
