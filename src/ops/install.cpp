// keysafe install: the leaf is whichever certificate's public key a stored key holds.
#include "keysafe/ops/install.hpp"

#include <algorithm>

#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/shell_word.hpp"
#include "keysafe/ops/rename.hpp"
#include "keysafe/ops/renew.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/chain.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {
namespace {

std::string join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

[[noreturn]] void request_given(store::Keystore& store, const formats::ParsedInput& input,
                                std::string_view source) {
  const auto info = x509::inspect_request(input.requests.front().get());
  const auto key = store.key_by_spki(info.spki_sha256);
  const std::string src = "\"" + std::string(source) + "\"";
  if (key && key->has_private_key)
    throw Error(Errc::RequestNotCertificate, src + " is a certificate request, not a certificate",
                "it asks a CA to certify the public key SHA-256 " + info.spki_sha256 +
                    " (subject " + info.subject + "); its private key is in this store as \"" +
                    key->name + "\"",
                "send the request to your CA, then install the certificate it returns: "
                "keysafe install CERTIFICATE-FILE");
  throw Error(Errc::RequestNotCertificate, src + " is a certificate request, not a certificate",
              "it asks a CA to certify the public key SHA-256 " + info.spki_sha256 +
                  " (subject " + info.subject +
                  "), and no key in this store holds that public key's private key; a request "
                  "holds only the public key, never the private key",
              "if the key that made this request is elsewhere, import it: keysafe import KEY-FILE; "
              "otherwise make a new key and request: keysafe create NAME --dns NAME.., and send "
              "that request to the CA");
}

[[noreturn]] void no_matching_key(store::Keystore& store, X509* leaf, std::string_view source) {
  const auto info = x509::inspect_certificate(leaf);
  std::string cause = "the certificate's public key (SHA-256 " + info.spki_sha256 +
                      ")\nbelongs to no key in \"" + store.path().string() +
                      "\";\na certificate request (.req) holds only the public key, never the "
                      "private key,\nso the certificate cannot be used without the key that made "
                      "its request";
  // Point at a stored key made for the same names: the usual cause is a re-created request.
  std::vector<std::string> names = info.dns;
  if (auto cn = x509::common_name(X509_get_subject_name(leaf))) names.push_back(*cn);
  for (const auto& key : store.all_keys()) {
    const bool same_names = std::any_of(names.begin(), names.end(), [&](const std::string& d) {
      return std::find(key.dns.begin(), key.dns.end(), d) != key.dns.end();
    });
    if (same_names)
      cause += ";\nthe stored key \"" + key.name + "\" was made for " + join(key.dns) +
               " but has another public key\n(SHA-256 " + key.spki_sha256 +
               "): this certificate was issued for a different request";
  }
  // The re-key command runs as printed: a name no entry has, and every name of the certificate.
  std::string create = "NAME --dns NAME";
  const std::string base = names.empty() ? std::string() : entry_name_from(names.front());
  if (!base.empty()) {
    create = free_entry_name(store, base);
    for (const auto& d : info.dns) create += " --dns " + shell_quote(d);
    for (const auto& ip : info.ip) create += " --ip " + ip;
    if (info.dns.empty() && info.ip.empty()) create += " --dns " + shell_quote(names.front());
  }
  throw Error(Errc::KeyNotFound,
              "no private key in this keystore matches \"" + std::string(source) + "\"", cause,
              "restore the key from its backup, then install again:\n"
              "  keysafe restore BACKUP-FILE && keysafe install " + shell_quote(source) +
                  "\nif no backup holds the key, re-key (new key and request) and have the CA "
                  "issue a new certificate:\n  keysafe create " + create);
}

// What an untrusted chain lacks, as a warning: the root in the file that is no trust anchor,
// or the certificate that is missing.
void warn_about_chain(const x509::ChainCheck& chain, std::vector<std::string>& warnings) {
  if (!chain.trusted) {
    std::string w = "the chain does not reach a trusted root: " + chain.problem;
    if (!chain.untrusted_root.empty())
      w += "; add --ca-file naming the root's certificate if you trust it (keysafe install "
           "FULLCHAIN-FILE --ca-file ROOT.pem)";
    else if (!chain.missing_issuer.empty())
      w += "; missing: the certificate of \"" + chain.missing_issuer +
           "\" (add the CA's intermediate/root to the file, or name the root with --ca-file)";
    warnings.push_back(w);
  }
  if (chain.unrelated > 0)
    warnings.push_back(std::to_string(chain.unrelated) +
                       " certificate(s) in the file are not on this certificate's chain "
                       "and were not stored");
}

// An installed certificate given again with chain certificates or --ca-file: its chain is
// judged again (with the chain stored before as material too) and the new verdict kept.
void recheck_chain(store::Keystore& store, const store::KeyRecord& key,
                   const store::CertificateRecord& existing, X509* leaf,
                   const std::vector<X509*>& others, const InstallOptions& options,
                   InstallResult& result) {
  const std::vector<Bytes> stored_chain = store.chain_of(existing.id);
  std::vector<ossl::Cert> stored;
  for (const auto& der : stored_chain) stored.push_back(x509::certificate_from_der(der));
  std::vector<X509*> supplied = others;
  for (const auto& c : stored)
    if (std::none_of(supplied.begin(), supplied.end(),
                     [&](X509* s) { return X509_cmp(s, c.get()) == 0; }))
      supplied.push_back(c.get());
  auto chain = x509::check_chain(leaf, supplied, options.ca_file, options.now);
  // Only the file's certificates can be "not on the chain": the stored ones were on it.
  chain.unrelated = std::min(chain.unrelated, others.size());
  std::vector<Bytes> ders;
  for (const auto& c : chain.chain) ders.push_back(x509::certificate_der(c.get()));
  result.chain_trusted = chain.trusted;
  result.chain_problem = chain.problem;
  result.chain_length = ders.size();
  warn_about_chain(chain, result.warnings);
  if (chain.trusted == existing.chain_trusted && chain.problem == existing.chain_problem &&
      ders == stored_chain)
    return;
  result.chain_rechecked = true;
  result.previous_chain_trusted = existing.chain_trusted;
  result.previous_chain_problem = existing.chain_problem;
  store.record("chain-checked", key.name,
               "certificate serial " + existing.serial + ": chain " +
                   (chain.trusted ? std::string("verified to a trusted root")
                                  : "not verified: " + chain.problem) +
                   ", " + std::to_string(ders.size()) + " issuer certificate(s) (was: " +
                   (existing.chain_trusted ? std::string("verified")
                                           : "not verified: " + existing.chain_problem) +
                   ")");
  store.replace_chain(existing.id, ders, chain.trusted, chain.problem);
}

}  // namespace

bool install_needs_unlock(store::Keystore& store, const formats::ParsedInput& input) {
  for (const auto& c : input.certificates) {
    const auto k = store.key_by_spki(x509::inspect_certificate(c.get()).spki_sha256);
    if (k && k->has_private_key && !k->current_certificate_id &&
        store::renews_key_id(store.database(), k->id))
      return true;
  }
  return false;
}

InstallResult install_certificate(store::Keystore& store, const formats::ParsedInput& input,
                                  std::string_view source, const InstallOptions& options) {
  const std::string src = "\"" + std::string(source) + "\"";
  if (input.certificates.empty() && !input.requests.empty()) request_given(store, input, source);
  if (input.certificates.empty()) {
    if (input.private_keys > 0)
      throw Error(Errc::BadInput, src + " holds a private key but no certificate",
                  "install takes the certificate a CA returned for a request made by keysafe",
                  "to bring an existing key into the store use: keysafe import " +
                      shell_quote(source));
    throw Error(Errc::BadInput, src + " holds no certificate",
                "the file contains nothing keysafe install can use",
                "give the certificate file the CA sent (PEM, DER, or .p7b/.p7c)");
  }

  // Find the certificate(s) whose public key has a stored private key.
  X509* leaf = nullptr;
  std::optional<store::KeyRecord> key;
  std::vector<X509*> others;
  // A certificate that issued another one in the file is on the chain, even when its key is
  // stored too (a local CA's certificate after the leaf it issued).
  const auto issues_another_in_file = [&](X509* c) {
    const bool issues = std::any_of(
        input.certificates.begin(), input.certificates.end(), [&](const ossl::Cert& o) {
          return o.get() != c && X509_check_issued(c, o.get()) == X509_V_OK;
        });
    ossl::clear_errors();
    return issues;
  };
  for (const auto& c : input.certificates) {
    const auto info = x509::inspect_certificate(c.get());
    auto k = store.key_by_spki(info.spki_sha256);
    if (k && k->has_private_key && input.certificates.size() > 1 && issues_another_in_file(c.get())) {
      others.push_back(c.get());
    } else if (k && k->has_private_key) {
      if (leaf != nullptr)
        throw Error(Errc::BadInput, src + " holds certificates for more than one stored key",
                    "both \"" + key->name + "\" and \"" + k->name + "\" match a certificate in it",
                    "install each certificate from its own file");
      leaf = c.get();
      key = std::move(k);
    } else {
      others.push_back(c.get());
    }
  }
  if (leaf == nullptr) {
    // Report on the end-entity certificate: one that issues none of the others.
    X509* candidate = input.certificates.front().get();
    for (const auto& c : input.certificates) {
      const bool issues_another = std::any_of(
          input.certificates.begin(), input.certificates.end(), [&](const ossl::Cert& o) {
            return o.get() != c.get() && X509_check_issued(c.get(), o.get()) == X509_V_OK;
          });
      if (!issues_another && X509_check_ca(c.get()) == 0) {
        candidate = c.get();
        break;
      }
    }
    no_matching_key(store, candidate, source);
  }

  InstallResult result;
  result.name = key->name;
  result.certificate = x509::inspect_certificate(leaf);
  const auto& cert = result.certificate;

  if (auto existing = store.certificate_by_fingerprint(cert.fingerprint_sha256)) {
    result.already_installed = true;
    result.became_current = key->current_certificate_id == existing->id;
    result.chain_trusted = existing->chain_trusted;
    result.chain_problem = existing->chain_problem;
    result.chain_length = store.chain_of(existing->id).size();
    // New chain material or trust anchors: the chain is judged again (check's fix for an
    // untrusted chain is exactly this).
    if (options.ca_file || !others.empty())
      recheck_chain(store, *key, *existing, leaf, others, options, result);
    if (options.in_same_transaction)
      store.write([&](store::Database&) { options.in_same_transaction(); });
    return result;
  }

  const auto chain = x509::check_chain(leaf, others, options.ca_file, options.now);
  result.chain_trusted = chain.trusted;
  result.chain_problem = chain.problem;
  result.chain_length = chain.chain.size();
  warn_about_chain(chain, result.warnings);
  if (cert.not_after < options.now)
    result.warnings.push_back("the certificate expired on " + format_rfc3339(cert.not_after));
  else if (cert.not_before > options.now)
    result.warnings.push_back("the certificate is not valid before " +
                              format_rfc3339(cert.not_before));

  // The newest certificate (latest notBefore) is current; an older one goes to history.
  bool make_current = true;
  if (key->current_certificate_id) {
    const auto current = store.certificate(*key->current_certificate_id);
    if (current && current->not_before > cert.not_before) {
      make_current = false;
      result.warnings.push_back("a newer certificate (valid from " +
                                format_rfc3339(current->not_before) +
                                ") stays current; this one was kept in the history");
    } else if (current) {
      result.replaced_fingerprint = current->fingerprint_sha256;
    }
  }

  store::NewCertificate row;
  row.der = x509::certificate_der(leaf);
  row.info = cert;
  for (const auto& c : chain.chain) row.chain.push_back(x509::certificate_der(c.get()));
  row.chain_trusted = chain.trusted;
  row.chain_problem = chain.problem;
  row.now = options.now;
  store.record("installed", key->name,
               "certificate serial " + cert.serial_hex + ", sha-256 " + cert.fingerprint_sha256);
  // One transaction for the certificate and, when it is the first certificate of a pending
  // renewal, the new entry taking over the old name: no crash leaves the one without the other.
  // A key imported alone got a made-up name: with its first certificate it takes the
  // certificate's name (a pending renewal takes the old entry's name instead, below).
  std::optional<std::string> adopted;
  if (make_current && !store::renews_key_id(store.database(), key->id))
    adopted = name_from_certificate(store, *key, leaf);
  if (adopted)
    store.record("renamed", *adopted,
                 "was \"" + key->name + "\" (a name made up at import), now its certificate's name");
  std::optional<RenewalSwap> swap;
  store.write([&](store::Database& db) {
    store.add_certificate(key->id, row, make_current);
    if (adopted) {
      store::rename_key(db, key->id, *adopted);
      result.name = *adopted;
      result.renamed_from = key->name;
    }
    if (options.in_same_transaction) options.in_same_transaction();
    if (make_current && !key->current_certificate_id)
      swap = swap_in_renewal(store, key->id, options.now);
  });
  result.became_current = make_current;
  if (swap) {
    result.name = swap->name;
    result.replaced_entry = swap->replaced_name;
    result.renewal_hook = after_renewal(store, swap->event(options.now));
  }
  return result;
}

}  // namespace keysafe::ops
