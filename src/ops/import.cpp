// Import: content detection, pairing by SubjectPublicKeyInfo, naming, and the merge plan.
#include "keysafe/ops/import.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "keysafe/formats/input.hpp"
#include "keysafe/formats/pkcs12.hpp"
#include "keysafe/formats/private_key.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/ops/rename.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"

namespace keysafe::ops {
namespace {

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Entry names are [A-Za-z0-9._-]; anything else becomes '-'.
std::string sanitize_name(std::string_view raw) {
  std::string n;
  for (char c : raw)
    n += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-')
             ? c
             : '-';
  while (!n.empty() && (n.front() == '-' || n.front() == '.')) n.erase(n.begin());
  if (n.size() > 56) n.resize(56);
  return n;
}

// Names in use: those of this import, and the store's (all read at once for a large file,
// else asked one by one).
struct TakenNames {
  std::unordered_set<std::string> names;
  bool store_loaded = false;
};

std::string unique_name(store::Keystore& store, const std::string& base, TakenNames& taken) {
  const auto used = [&](const std::string& n) {
    return taken.names.contains(n) || (!taken.store_loaded && store.key_by_name(n).has_value());
  };
  if (!used(base)) return base;
  for (int i = 2;; ++i)
    if (!used(base + "-" + std::to_string(i))) return base + "-" + std::to_string(i);
}

std::string name_for(const X509* cert, const std::string& friendly, const std::string& fallback) {
  if (!friendly.empty()) {
    auto n = sanitize_name(friendly);
    if (!n.empty()) return n;
  }
  if (cert != nullptr)
    if (auto cn = x509::common_name(X509_get_subject_name(cert))) {
      auto n = sanitize_name(*cn);
      if (!n.empty()) return n;
    }
  return fallback;
}

store::NewCertificate incoming_certificate(X509* cert, const x509::CertificateInfo& info,
                                           const std::vector<ossl::Cert>& chain, std::int64_t now) {
  store::NewCertificate c;
  c.der = x509::certificate_der(cert);
  c.info = info;
  for (const auto& x : chain) c.chain.push_back(x509::certificate_der(x.get()));
  c.chain_trusted = false;
  c.chain_problem = "not checked at import";
  c.now = now;
  return c;
}

// The certificates of a file by subject name (hash of its canonical form, as X509_check_issued
// compares), so finding an issuer does not scan the whole file: bundles hold tens of thousands.
using SubjectIndex = std::unordered_multimap<unsigned long, std::size_t>;
unsigned long name_hash(const X509_NAME* name) {
  int ok = 0;
  const unsigned long h = X509_NAME_hash_ex(name, nullptr, nullptr, &ok);
  return ok == 1 ? h : 0;
}
SubjectIndex index_subjects(const std::vector<NamedCert>& pool) {
  SubjectIndex index;
  index.reserve(pool.size());
  for (std::size_t i = 0; i < pool.size(); ++i)
    index.emplace(name_hash(X509_get_subject_name(pool[i].cert.get())), i);
  return index;
}

// Issuer path of `leaf` through `pool` (leaf excluded), stopping at a self-issued certificate
// or when no issuer is found; a cycle cannot repeat a certificate. Of several issuers, the one
// first in the file.
std::vector<std::size_t> issuer_path(X509* leaf, const std::vector<NamedCert>& pool,
                                     const SubjectIndex& index) {
  std::vector<std::size_t> path;
  X509* current = leaf;
  while (X509_check_issued(current, current) != X509_V_OK) {
    std::optional<std::size_t> next;
    const auto [first, last] = index.equal_range(name_hash(X509_get_issuer_name(current)));
    for (auto it = first; it != last; ++it)
      if (const std::size_t i = it->second;
          (!next || i < *next) && pool[i].cert.get() != current && pool[i].cert.get() != leaf &&
          std::find(path.begin(), path.end(), i) == path.end() &&
          X509_check_issued(pool[i].cert.get(), current) == X509_V_OK)
        next = i;
    if (!next) break;
    path.push_back(*next);
    current = pool[*next].cert.get();
  }
  ossl::clear_errors();
  return path;
}

}  // namespace

ImportContents read_import_file(std::span<const std::uint8_t> data, std::string_view source,
                                const std::optional<SecureBytes>& password) {
  ImportContents out;
  if (formats::looks_like_pkcs12(data)) {
    auto p12 = formats::read_pkcs12(data, source, password);
    out.format = "PKCS#12";
    for (auto& k : p12.keys)
      out.keys.push_back({std::move(k.key), std::move(k.friendly_name), std::move(k.local_key_id)});
    for (auto& c : p12.certs)
      out.certs.push_back(
          {std::move(c.cert), std::move(c.friendly_name), std::move(c.local_key_id)});
    out.warnings = std::move(p12.warnings);
    if (out.keys.empty() && out.certs.empty())
      throw Error(Errc::BadInput, in_quotes(source) + " is a PKCS#12 file with nothing in it",
                  "it holds no key and no certificate", "export it again from its source");
    return out;
  }
  // PEM or DER: certificates, PKCS#7 bundles and private keys.
  formats::ParsedInput parsed;
  bool certificates_read = false;
  try {
    parsed = formats::read_input(data, source);
    certificates_read = true;
  } catch (const Error& e) {
    // DER that is not a certificate may be a DER private key; anything else is the real error.
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    if (text.find("-----BEGIN ") != std::string_view::npos) throw;
    try {
      auto keys = formats::read_private_keys(data, source, password);
      out.format = "DER private key";
      for (auto& k : keys) out.keys.push_back({std::move(k.key), {}, {}});
      return out;
    } catch (const Error& key_error) {
      if (key_error.code() == Errc::FilePassword || key_error.code() == Errc::Unsupported) throw;
      throw e;
    }
  }
  if (certificates_read && !parsed.requests.empty() && parsed.certificates.empty() &&
      parsed.private_keys == 0)
    throw Error(Errc::BadInput, in_quotes(source) + " is a certificate request",
                "a request holds only a public key: there is nothing to import",
                "send it to a CA, then install the certificate: keysafe install CERT-FILE");
  out.format = parsed.format;
  if (parsed.private_keys > 0) {
    auto keys = formats::read_private_keys(data, source, password);
    for (auto& k : keys) out.keys.push_back({std::move(k.key), {}, {}});
  }
  for (auto& c : parsed.certificates) out.certs.push_back({std::move(c), {}, {}});
  return out;
}

ImportPlan plan_import(store::Keystore& store, ImportContents& contents, std::string_view source,
                       const ImportOptions& options) {
  ImportPlan plan;
  // One entry per key or certificate at most: reserved so a large bundle never moves them.
  plan.entries.reserve(contents.keys.size() + contents.certs.size());
  plan.items.reserve(contents.keys.size() + contents.certs.size());
  plan.warnings = contents.warnings;
  TakenNames taken;
  // A large file: the store's names at once rather than one query per certificate.
  if (contents.certs.size() + contents.keys.size() > 64) {
    for (auto& n : store.key_names()) taken.names.insert(std::move(n));
    taken.store_loaded = true;
  }
  std::vector<bool> cert_used(contents.certs.size(), false);
  // Each certificate is inspected once (the columns it will be stored with).
  std::vector<x509::CertificateInfo> infos;
  infos.reserve(contents.certs.size());
  for (const auto& c : contents.certs) {
    infos.push_back(x509::inspect_certificate(c.cert.get()));
    if (options.progress) options.progress(infos.size(), contents.certs.size());
  }
  std::vector<std::string> cert_spki;
  for (const auto& info : infos) cert_spki.push_back(info.spki_sha256);
  const SubjectIndex subjects = index_subjects(contents.certs);
  // Stored keys of the file's certificates, found with one prepared statement.
  const auto stored_keys = store.keys_by_spki(cert_spki);

  if (options.name) validate_entry_name(*options.name);
  if (options.name && contents.keys.size() > 1)
    throw Error(Errc::Usage,
                "--name names one entry, but " + in_quotes(source) + " holds " +
                    std::to_string(contents.keys.size()) + " keys",
                "each key becomes its own entry", "leave --name out: names come from the file");

  for (auto& k : contents.keys) {
    formats::check_private_key(k.key.get(), source);
    if (auto weak = formats::weak_key_reason(k.key.get())) {
      if (!options.allow_weak)
        throw Error(Errc::WeakKey, in_quotes(source) + " holds a weak key: " + *weak,
                    "keys weaker than RSA-2048, and DSA keys, can be broken or are deprecated; "
                    "nothing was imported",
                    "replace the key (keysafe create), or import it anyway with --allow-weak");
      plan.warnings.push_back("imported a weak key (" + *weak + ") because of --allow-weak");
    }
    const Bytes spki = x509::spki_der(k.key.get());
    const std::string hash = x509::spki_sha256_hex(spki);
    // The certificate of this key, if the file has it.
    std::optional<std::size_t> leaf;  // the newest certificate of this key in the file
    for (std::size_t i = 0; i < contents.certs.size(); ++i)
      if (cert_spki[i] == hash &&
          (!leaf || ASN1_TIME_compare(X509_get0_notBefore(contents.certs[*leaf].cert.get()),
                                      X509_get0_notBefore(contents.certs[i].cert.get())) < 0))
        leaf = i;
    ossl::clear_errors();
    if (!leaf) {
      // A key and a certificate side by side that do not belong together is an error, not
      // two unrelated imports: the certificate paired by localKeyId, or the only leaf.
      for (std::size_t i = 0; i < contents.certs.size(); ++i) {
        const bool paired_by_id =
            !k.local_key_id.empty() && k.local_key_id == contents.certs[i].local_key_id;
        const bool only_leaf =
            contents.keys.size() == 1 && X509_check_ca(contents.certs[i].cert.get()) == 0 &&
            std::count_if(contents.certs.begin(), contents.certs.end(),
                          [](const NamedCert& c) { return X509_check_ca(c.cert.get()) == 0; }) == 1;
        if (paired_by_id || only_leaf)
          throw Error(
              Errc::KeyCertMismatch,
              "the key in " + in_quotes(source) + " does not match the certificate beside it",
              "the key's public key is SHA-256 " + hash + ", the certificate's (" +
                  x509::name_to_string(X509_get_subject_name(contents.certs[i].cert.get())) +
                  ") is " + cert_spki[i] + "; nothing was imported",
              "find the key that belongs to this certificate, or import them separately");
      }
    }
    const auto existing = store.key_by_spki(hash);
    store::IncomingEntry in;
    std::string name;
    if (existing) {
      name = existing->name;
    } else if (options.name) {
      name = *options.name;
      if (store.key_by_name(name))
        throw Error(Errc::AlreadyExists, "the name " + in_quotes(name) + " is already in use",
                    "another entry has it", "choose another --name");
    } else {
      name = unique_name(store,
                         name_for(leaf ? contents.certs[*leaf].cert.get() : nullptr,
                                  k.friendly_name, "key-" + hash.substr(0, 12)),
                         taken);
    }
    taken.names.insert(name);
    in.key.name = name;
    in.key.algorithm = x509::describe_key(k.key.get());
    in.key.spki_der = spki;
    in.key.now = options.now;
    in.pkcs8 = x509::private_key_to_pkcs8(k.key.get());
    ImportItem item;
    item.name = name;
    item.private_key = true;
    if (leaf) {
      X509* cert = contents.certs[*leaf].cert.get();
      const auto& info = infos[*leaf];
      in.key.subject = info.subject;
      in.key.dns = info.dns;
      in.key.ip = info.ip;
      std::vector<ossl::Cert> chain;
      for (auto i : issuer_path(cert, contents.certs, subjects)) {
        chain.push_back(ossl::share(contents.certs[i].cert.get()));
        cert_used[i] = true;
      }
      for (std::size_t i = 0; i < contents.certs.size(); ++i)
        if (cert_spki[i] == hash) {
          cert_used[i] = true;
          in.certificates.push_back(
              {incoming_certificate(contents.certs[i].cert.get(), infos[i], chain, options.now),
               i == *leaf});
        }
      item.certificates = in.certificates.size();
    } else {
      in.key.subject = "";
    }
    if (existing) {
      item.action = existing->has_private_key
                        ? (in.certificates.empty() ? "unchanged" : "add-certificates")
                        : "add-key";
      item.detail = existing->has_private_key
                        ? "the store already holds this key"
                        : "pairs with the certificate-only entry " + in_quotes(name);
    } else {
      item.action = "create";
      item.detail = leaf ? "key with its certificate" : "key without a certificate";
    }
    plan.needs_unlock = plan.needs_unlock || !existing || !existing->has_private_key;
    plan.items.push_back(item);
    plan.entries.push_back(std::move(in));
  }

  // Certificates not used by a key in the file: pair with a stored key, else keep alone.
  for (std::size_t i = 0; i < contents.certs.size(); ++i) {
    if (cert_used[i]) continue;
    X509* cert = contents.certs[i].cert.get();
    const auto& info = infos[i];
    std::vector<ossl::Cert> chain;
    for (auto j : issuer_path(cert, contents.certs, subjects))
      chain.push_back(ossl::share(contents.certs[j].cert.get()));
    store::IncomingEntry in;
    ImportItem item;
    item.certificates = 1;
    const auto& existing = stored_keys[i];
    // A key imported alone got a made-up name: with its certificate here, it takes the
    // certificate's name.
    std::optional<std::string> adopted;
    if (existing && existing->has_private_key && !existing->current_certificate_id &&
        is_generated_name(*existing)) {
      adopted = name_from_certificate(store, *existing, cert);
      if (adopted) {
        adopted = unique_name(store, *adopted, taken);
        plan.renames.emplace_back(existing->name, *adopted);
      }
    }
    if (existing && adopted) {
      in.key.name = existing->name;
      item.action = "add-certificates";
      item.detail = "pairs with the stored key " + in_quotes(existing->name) +
                    ", which takes the certificate's name";
    } else if (existing) {
      in.key.name = existing->name;
      item.action = store.certificate_by_fingerprint(info.fingerprint_sha256) ? "unchanged"
                                                                              : "add-certificates";
      item.detail = existing->has_private_key
                        ? "pairs with the stored key " + in_quotes(existing->name)
                        : "another certificate of " + in_quotes(existing->name);
    } else {
      const bool by_name = options.name && contents.keys.empty() &&
                           std::count(cert_used.begin(), cert_used.end(), false) == 1;
      in.key.name = by_name ? *options.name
                            : unique_name(store,
                                          name_for(cert, contents.certs[i].friendly_name,
                                                   "cert-" + info.fingerprint_sha256.substr(0, 12)),
                                          taken);
      item.action = "create";
      item.detail =
          info.is_ca ? "CA certificate, no key (no-key)" : "certificate without its key (no-key)";
    }
    taken.names.insert(in.key.name);
    item.name = adopted ? *adopted : in.key.name;
    if (adopted) taken.names.insert(*adopted);
    in.key.algorithm = info.key_algorithm;
    in.key.spki_der = info.spki;
    in.key.subject = info.subject;
    in.key.dns = info.dns;
    in.key.ip = info.ip;
    in.key.now = options.now;
    in.certificates.push_back({incoming_certificate(cert, info, chain, options.now), true});
    plan.items.push_back(item);
    plan.entries.push_back(std::move(in));
  }
  if (plan.entries.empty())
    throw Error(Errc::BadInput, in_quotes(source) + " holds nothing to import",
                "no private key and no certificate was found", "check the file");
  return plan;
}

void rename_paired_keys(store::Keystore& store, const ImportPlan& plan) {
  if (plan.renames.empty()) return;
  for (const auto& [from, to] : plan.renames)
    store.record("renamed", to, "was \"" + from + "\" (a name made up at import), now its "
                                "certificate's name");
  store.write([&](store::Database& db) {
    for (const auto& [from, to] : plan.renames)
      if (auto key = store.key_by_name(from)) store::rename_key(db, key->id, to);
  });
}

}  // namespace keysafe::ops
