// Chain building and verification with OpenSSL's verifier (RFC 5280 §6).
#include "keysafe/x509/chain.hpp"

#include <algorithm>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/names.hpp"

namespace keysafe::x509 {
namespace {

bool contains(const std::vector<X509*>& certs, const X509* cert) {
  return std::any_of(certs.begin(), certs.end(),
                     [&](const X509* c) { return X509_cmp(c, cert) == 0; });
}

// Without a verified path, follow issuer links through the supplied certificates.
std::vector<ossl::Cert> walk_issuers(X509* leaf, const std::vector<X509*>& supplied) {
  std::vector<ossl::Cert> path;
  X509* current = leaf;
  std::vector<X509*> used;
  while (X509_check_issued(current, current) != X509_V_OK) {
    X509* next = nullptr;
    for (X509* candidate : supplied)
      if (!contains(used, candidate) && X509_check_issued(candidate, current) == X509_V_OK) {
        next = candidate;
        break;
      }
    if (next == nullptr) break;
    used.push_back(next);  // a cycle cannot repeat a certificate
    path.push_back(ossl::share(next));
    current = next;
  }
  ossl::clear_errors();
  return path;
}

}  // namespace

ChainCheck check_chain(X509* leaf, const std::vector<X509*>& supplied,
                       const std::optional<std::filesystem::path>& ca_file, std::int64_t now) {
  ChainCheck result;
  ossl::TrustStore trust(X509_STORE_new());
  if (ca_file) {
    if (X509_STORE_load_file(trust.get(), ca_file->c_str()) != 1)
      ossl::fail(Errc::BadInput, "cannot read trust anchors from \"" + ca_file->string() + "\"",
                 "--ca-file needs a PEM file of one or more CA certificates",
                 "check the path, or leave --ca-file out to use the system trust store");
  } else {
    X509_STORE_set_default_paths(trust.get());
  }
  ossl::clear_errors();

  ossl::BorrowedCertStack untrusted(sk_X509_new_null());
  for (X509* c : supplied) sk_X509_push(untrusted.get(), c);

  ossl::StoreCtx ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), trust.get(), leaf, untrusted.get());
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  const int ok = X509_verify_cert(ctx.get());

  if (ok == 1) {
    result.trusted = true;
    // Keep the path members that came with the leaf; the anchor from the trust store
    // is not ours to keep unless it was supplied.
    STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx.get());
    for (int i = 1; i < sk_X509_num(path); ++i) {
      X509* c = sk_X509_value(path, i);
      if (contains(supplied, c)) result.chain.push_back(ossl::share(c));
    }
  } else {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    result.problem = X509_verify_cert_error_string(err);
    result.chain = walk_issuers(leaf, supplied);
    if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
        err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
        err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
        err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT) {
      X509* top = result.chain.empty() ? leaf : result.chain.back().get();
      if (X509_check_issued(top, top) == X509_V_OK) {
        result.untrusted_root = name_to_string(X509_get_subject_name(top));
        result.problem = "the chain ends at root " + result.untrusted_root +
                         ", which is not a trust anchor";
      } else {
        result.missing_issuer = name_to_string(X509_get_issuer_name(top));
      }
    }
  }
  ossl::clear_errors();
  const std::size_t on_path = result.chain.size();
  result.unrelated = supplied.size() >= on_path ? supplied.size() - on_path : 0;
  return result;
}

}  // namespace keysafe::x509
