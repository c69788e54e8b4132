// Local CAs: init, issuing (request or stored key), selfsign, revoke, CRL, listing and export.
#include "keysafe/ops/ca.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"

namespace keysafe::ops {
namespace {

constexpr std::int64_t k_day = 86400;

[[noreturn]] void not_a_ca(std::string_view name, bool exists) {
  if (exists)
    throw Error(Errc::NotFound, "the entry \"" + std::string(name) + "\" is not a local CA",
                "it has no row in the store's authorities table",
                "see the local CAs with: keysafe ca list; make one with: keysafe ca init NAME");
  throw Error(Errc::NotFound, "no local CA named \"" + std::string(name) + "\"",
              "the store has no entry of that name",
              "see the local CAs with: keysafe ca list; make one with: keysafe ca init NAME");
}

// The trust anchor of a chain, written to a private temporary file for the chain check of
// `install` (which reads anchors from a file), removed when this goes out of scope.
class AnchorFile final {
 public:
  explicit AnchorFile(X509* anchor) {
    std::string templ = (std::filesystem::temp_directory_path() / "keysafe-anchor-XXXXXX").string();
    const int fd = ::mkstemp(templ.data());
    if (fd < 0) throw Error(Errc::Io, "cannot create a temporary file in " + templ);
    ::close(fd);
    m_path = templ;
    std::ofstream out(m_path, std::ios::binary | std::ios::trunc);
    out << x509::certificate_pem(anchor);
    if (!out) throw Error(Errc::Io, "cannot write the temporary file " + m_path.string());
  }
  ~AnchorFile() {
    std::error_code ec;
    std::filesystem::remove(m_path, ec);
  }
  AnchorFile(const AnchorFile&) = delete;
  AnchorFile& operator=(const AnchorFile&) = delete;
  const std::filesystem::path& path() const noexcept { return m_path; }

 private:
  std::filesystem::path m_path;
};

// Installs a leaf through the one install path (matching, chain check, audit, renewal swap),
// anchored at the top of `issuers` (or the leaf itself when self-signed).
// `record` (the CA's record of issuing it) commits in the same transaction as the certificate.
InstallResult install_issued(store::Keystore& store, X509* leaf,
                             const std::vector<X509*>& issuers, std::string_view source,
                             std::int64_t now, std::function<void()> record = {}) {
  formats::ParsedInput input;
  input.format = "issued by keysafe";
  input.certificates.push_back(ossl::share(leaf));
  for (X509* c : issuers) input.certificates.push_back(ossl::share(c));
  AnchorFile anchor(issuers.empty() ? leaf : issuers.back());
  InstallOptions options;
  options.ca_file = anchor.path();
  options.now = now;
  options.in_same_transaction = std::move(record);
  return install_certificate(store, input, source, options);
}

std::string pem_chain(X509* leaf, const std::vector<X509*>& issuers) {
  std::string pem = x509::certificate_pem(leaf);
  for (X509* c : issuers) pem += x509::certificate_pem(c);
  return pem;
}

ossl::Cert current_certificate(store::Keystore& store, const store::KeyRecord& key) {
  if (!key.current_certificate_id)
    throw Error(Errc::StoreDamaged, "the CA \"" + key.name + "\" has no certificate",
                "its entry has no current certificate", "restore the CA from a backup");
  return x509::certificate_from_der(store.certificate_der(*key.current_certificate_id));
}

}  // namespace

// ---- Authority ----------------------------------------------------------------------------

Authority::Authority(std::string name, std::int64_t key_id, ossl::PKey key,
                     ossl::Cert certificate, std::vector<ossl::Cert> chain)
    : m_name(std::move(name)),
      m_key_id(key_id),
      m_key(std::move(key)),
      m_certificate(std::move(certificate)),
      m_chain(std::move(chain)),
      m_not_after(x509::inspect_certificate(m_certificate.get()).not_after) {
  if (!x509::certificate_matches_key(m_certificate.get(), m_key.get()))
    throw Error(Errc::KeyCertMismatch,
                "the key of the CA \"" + m_name + "\" does not match its certificate");
}

Authority Authority::open(store::Keystore& store, std::string_view name) {
  const auto key = store.key_by_name(name);
  if (!key) not_a_ca(name, false);
  if (!store::authority(store.database(), key->id)) not_a_ca(name, true);
  ossl::Cert cert = current_certificate(store, *key);
  std::vector<ossl::Cert> chain;
  for (const auto& der : store.chain_of(*key->current_certificate_id))
    chain.push_back(x509::certificate_from_der(der));
  ossl::PKey pkey = x509::private_key_from_pkcs8(store.open_private_key(*key));
  return Authority(key->name, key->id, std::move(pkey), std::move(cert), std::move(chain));
}

std::vector<X509*> Authority::issuer_chain() const {
  std::vector<X509*> out{m_certificate.get()};
  for (const auto& c : m_chain) out.push_back(c.get());
  return out;
}

IssuedCertificate Authority::issue(X509_REQ* request, const IssueOptions& options,
                                   std::string_view origin) const {
  if (!x509::request_signature_valid(request))
    throw Error(Errc::BadInput, "the request's signature does not verify",
                "a request is signed with the private key of the public key it carries; this one "
                "was altered or damaged after it was made",
                "make the request again on the machine that holds the key");
  const EVP_PKEY* pub = X509_REQ_get0_pubkey(request);
  if (pub == nullptr) ossl::fail(Errc::BadInput, "the request's public key cannot be read");
  const x509::AltNames names = x509::request_alt_names(request, origin);
  return issue_leaf(pub, X509_REQ_get_subject_name(request), names, options);
}

IssuedCertificate Authority::issue(const EVP_PKEY* public_key, const X509_NAME* subject,
                                   const x509::AltNames& names, const IssueOptions& options) const {
  return issue_leaf(public_key, subject, names, options);
}

IssuedCertificate Authority::issue_leaf(const EVP_PKEY* public_key, const X509_NAME* subject,
                                        const x509::AltNames& names,
                                        const IssueOptions& options) const {
  if (X509_NAME_entry_count(subject) == 0 && names.empty())
    throw Error(Errc::BadInput, "the request names no subject and no subjectAltName",
                "a certificate must name what it is for (RFC 5280 §4.1.2.6)",
                "make a request with a name, e.g. keysafe create NAME --dns NAME");
  if (options.days <= 0 || options.days > 36500)
    throw Error(Errc::Usage, "--days must be between 1 and 36500",
                std::to_string(options.days) + " was given", "for example: --days 90");
  if (m_not_after <= options.now)
    throw Error(Errc::Refused, "the CA \"" + m_name + "\" has expired",
                "its certificate was valid until " + format_rfc3339(m_not_after),
                "make a new CA with: keysafe ca init NAME");
  IssuedCertificate out;
  x509::Validity validity{options.now - options.backdate_seconds,
                          options.now + options.days * k_day};
  if (validity.not_after > m_not_after) {
    validity.not_after = m_not_after;  // a certificate cannot outlive its issuer
    out.capped = true;
  }
  const auto serial = x509::random_serial();
  x509::LeafSpec spec;
  spec.public_key = public_key;
  spec.subject = subject;
  spec.alt_names = names;
  spec.profile = options.profile;
  spec.validity = validity;
  spec.serial = serial.get();
  out.certificate = x509::build_leaf_certificate(m_certificate.get(), m_key.get(), spec);
  out.info = x509::inspect_certificate(out.certificate.get());
  return out;
}

void record_issued(store::Keystore& store, const Authority& authority,
                   std::span<const IssuedCertificate* const> issued,
                   const std::optional<std::string>& key_name, std::int64_t now) {
  for (const auto* c : issued)
    store.record("issued", authority.name(),
                 "serial " + c->info.serial_hex + " for " + c->info.subject +
                     (key_name ? " (entry \"" + *key_name + "\")" : std::string(" (to a file)")));
  store.write([&](store::Database& db) {
    for (const auto* c : issued) {
      store::IssuedRecord r;
      r.authority_key_id = authority.key_id();
      r.serial = c->info.serial_hex;
      r.subject = c->info.subject;
      r.fingerprint_sha256 = c->info.fingerprint_sha256;
      r.key_name = key_name;
      r.not_after = c->info.not_after;
      r.issued_at = now;
      store::insert_issued(db, r);
    }
  });
}

// ---- ca init ------------------------------------------------------------------------------

void prepare_ca_init(store::Keystore& store, const CaInitParams& params) {
  validate_entry_name(params.name);
  if (params.days <= 0 || params.days > 36500)
    throw Error(Errc::Usage, "--days must be between 1 and 36500",
                std::to_string(params.days) + " was given", "for example: --days 3650");
  if (!params.subject.empty()) (void)x509::parse_subject(params.subject);
  if (store.key_by_name(params.name))
    throw Error(Errc::AlreadyExists, "the name \"" + params.name + "\" is already in use",
                "an entry of that name exists",
                "choose another name, or see it with: keysafe show " + params.name);
  if (params.parent) (void)find_authority(store, *params.parent);
}

CaInitResult ca_init(store::Keystore& store, const CaInitParams& params) {
  prepare_ca_init(store, params);
  const std::string subject_text = params.subject.empty() ? "CN=" + params.name : params.subject;
  const ossl::Name subject = x509::parse_subject(subject_text);
  if (X509_NAME_entry_count(subject.get()) == 0)
    throw Error(Errc::Usage, "a CA needs a subject", "--subject was empty",
                "for example: --subject \"CN=Example Internal Root,O=Example Ltd\"");
  std::optional<Authority> parent;
  if (params.parent) parent.emplace(Authority::open(store, *params.parent));

  const ossl::PKey key = x509::generate_key(params.algorithm);
  CaInitResult result;
  x509::Validity validity{params.now - 60, params.now + params.days * k_day};
  if (parent) {
    const auto parent_not_after = x509::inspect_certificate(parent->certificate()).not_after;
    if (parent_not_after <= params.now)
      throw Error(Errc::Refused, "the CA \"" + parent->name() + "\" has expired",
                  "its certificate was valid until " + format_rfc3339(parent_not_after),
                  "make a new root with: keysafe ca init NAME");
    if (validity.not_after > parent_not_after) {
      validity.not_after = parent_not_after;
      result.capped = true;
    }
  }
  const auto serial = x509::random_serial();
  // An intermediate issues end-entity certificates only (pathLenConstraint 0).
  const ossl::Cert cert = x509::build_ca_certificate(
      key.get(), subject.get(), validity, serial.get(), parent ? parent->certificate() : nullptr,
      parent ? parent->private_key() : nullptr,
      parent ? std::optional<int>(0) : std::nullopt);
  result.name = params.name;
  result.algorithm = std::string(x509::key_algorithm_name(params.algorithm));
  result.certificate = x509::inspect_certificate(cert.get());
  if (parent) result.parent = parent->name();

  store::NewKey row;
  row.name = params.name;
  row.algorithm = result.algorithm;
  row.spki_der = result.certificate.spki;
  row.subject = result.certificate.subject;
  row.now = params.now;
  store.record("ca-created", params.name,
               std::string(parent ? "intermediate CA under \"" + parent->name() + "\"" : "root CA") +
                   ", " + result.algorithm + ", " + result.certificate.subject + ", valid until " +
                   format_rfc3339(result.certificate.not_after));
  store::NewCertificate crow;
  crow.der = x509::certificate_der(cert.get());
  crow.info = result.certificate;
  if (parent)
    for (X509* c : parent->issuer_chain()) crow.chain.push_back(x509::certificate_der(c));
  // Anchored at a local root made by this store: trusted by construction.
  crow.chain_trusted = true;
  crow.now = params.now;
  // One transaction: a CA is its key, its certificate and its authorities row together, never
  // a plain entry that an interrupted init left behind.
  store.write([&](store::Database& db) {
    const std::int64_t key_id = store.add_key(row, x509::private_key_to_pkcs8(key.get()));
    store.add_certificate(key_id, crow, true);
    store::insert_authority(db, key_id,
                            parent ? std::optional<std::int64_t>(parent->key_id()) : std::nullopt,
                            params.now);
    if (parent) {
      store::IssuedRecord r;
      r.authority_key_id = parent->key_id();
      r.serial = result.certificate.serial_hex;
      r.subject = result.certificate.subject;
      r.fingerprint_sha256 = result.certificate.fingerprint_sha256;
      r.key_name = params.name;
      r.not_after = result.certificate.not_after;
      r.issued_at = params.now;
      store::insert_issued(db, r);
    }
  });
  return result;
}

// ---- listing and lookup -------------------------------------------------------------------

std::vector<CaSummary> list_authorities(store::Keystore& store) {
  std::vector<CaSummary> out;
  for (auto& rec : store::authorities(store.database())) {
    CaSummary s;
    s.record = rec;
    if (auto key = store.key_by_name(rec.name); key && key->current_certificate_id)
      s.certificate = store.certificate(*key->current_certificate_id);
    const auto issued = store::issued_by(store.database(), rec.key_id);
    s.issued = static_cast<std::int64_t>(issued.size());
    s.revoked = std::count_if(issued.begin(), issued.end(),
                              [](const store::IssuedRecord& r) { return r.revoked_at.has_value(); });
    out.push_back(std::move(s));
  }
  return out;
}

store::AuthorityRecord find_authority(store::Keystore& store, std::string_view name) {
  const auto key = store.key_by_name(name);
  if (!key) not_a_ca(name, false);
  auto rec = store::authority(store.database(), key->id);
  if (!rec) not_a_ca(name, true);
  return *rec;
}

std::optional<store::AuthorityRecord> issuing_authority(store::Keystore& store, X509* cert) {
  for (auto& rec : store::authorities(store.database())) {
    const auto key = store.key_by_name(rec.name);
    if (!key || !key->current_certificate_id) continue;
    const ossl::Cert ca = x509::certificate_from_der(store.certificate_der(*key->current_certificate_id));
    // Issuer name = CA subject, AKI = CA SKI, and the CA's key verifies the signature.
    const bool issued = X509_check_issued(ca.get(), cert) == X509_V_OK &&
                        X509_verify(cert, X509_get0_pubkey(ca.get())) == 1;
    ossl::clear_errors();
    if (issued) return rec;
  }
  return std::nullopt;
}

std::string ca_certificate_pem(store::Keystore& store, std::string_view name) {
  const auto rec = find_authority(store, name);
  const auto key = store.key_by_name(rec.name);
  std::string pem = x509::certificate_pem(current_certificate(store, *key).get());
  for (const auto& der : store.chain_of(*key->current_certificate_id))
    pem += x509::certificate_pem(x509::certificate_from_der(der).get());
  return pem;
}

Bytes ca_certificate_der(store::Keystore& store, std::string_view name) {
  const auto rec = find_authority(store, name);
  const auto key = store.key_by_name(rec.name);
  return store.certificate_der(*key->current_certificate_id);
}

// ---- ca sign and selfsign -----------------------------------------------------------------

SignResult ca_sign_request(store::Keystore& store, const Authority& authority, X509_REQ* request,
                           const IssueOptions& options, std::string_view origin) {
  IssuedCertificate issued = authority.issue(request, options, origin);
  SignResult result;
  result.ca = authority.name();
  result.certificate = issued.info;
  result.capped = issued.capped;
  result.pem = pem_chain(issued.certificate.get(), authority.issuer_chain());
  const auto key = store.key_by_spki(issued.info.spki_sha256);
  const bool install = key && key->has_private_key;
  const IssuedCertificate* one[] = {&issued};
  const auto record = [&] {
    record_issued(store, authority, one,
                  install ? std::optional<std::string>(key->name) : std::nullopt, options.now);
  };
  if (install)
    result.installed = install_issued(store, issued.certificate.get(), authority.issuer_chain(),
                                      "the certificate issued by \"" + authority.name() + "\"",
                                      options.now, record);
  else
    record();
  return result;
}

namespace {
struct StoredSubject {
  ossl::Req request;  // the newest stored request, when the entry has one
  std::string origin;  // names the request in errors
  ossl::PKey public_key;
  ossl::Name subject;
  x509::AltNames names;  // checked again: the store row may come from an imported certificate
};

StoredSubject stored_subject(store::Keystore& store, const store::KeyRecord& key) {
  StoredSubject s;
  if (auto der = store.latest_request(key.id)) {
    s.request = x509::request_from_der(*der);
    s.origin = "the stored request of \"" + key.name + "\"";
    return s;
  }
  const unsigned char* p = key.spki_der.data();
  s.public_key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(key.spki_der.size())));
  if (!s.public_key) ossl::fail(Errc::StoreDamaged, "the public key of \"" + key.name + "\" does not decode");
  s.subject = x509::parse_subject(key.subject);
  s.names = x509::checked_alt_names(key.dns, key.ip, "the names of the entry \"" + key.name + "\"");
  return s;
}

store::KeyRecord stored_key(store::Keystore& store, std::string_view name) {
  auto key = store.key_by_name(name);
  if (!key)
    throw Error(Errc::NotFound, "no entry named \"" + std::string(name) + "\"",
                "the store has no entry of that name", "see every entry with: keysafe list");
  if (!key->has_private_key)
    throw Error(Errc::NotFound, "the entry \"" + key->name + "\" has no private key",
                "it holds a certificate only, so a new certificate for it could not be used",
                "import its key with: keysafe import KEY-FILE");
  return *key;
}
}  // namespace

SignResult ca_sign_key(store::Keystore& store, const Authority& authority,
                       std::string_view key_name, const IssueOptions& options) {
  const auto key = stored_key(store, key_name);
  if (key.id == authority.key_id())
    throw Error(Errc::Usage, "a CA cannot sign its own key as an end entity",
                "\"" + key.name + "\" is the CA itself", "name another entry with --key");
  const StoredSubject s = stored_subject(store, key);
  IssuedCertificate issued =
      s.request ? authority.issue(s.request.get(), options, s.origin)
                : authority.issue(s.public_key.get(), s.subject.get(), s.names, options);
  if (issued.info.spki_sha256 != key.spki_sha256)
    throw Error(Errc::StoreDamaged, "the stored request of \"" + key.name +
                                        "\" is for another public key",
                "its public key does not match the entry's key", "run: keysafe check");
  SignResult result;
  result.ca = authority.name();
  result.certificate = issued.info;
  result.capped = issued.capped;
  result.pem = pem_chain(issued.certificate.get(), authority.issuer_chain());
  const IssuedCertificate* one[] = {&issued};
  result.installed = install_issued(
      store, issued.certificate.get(), authority.issuer_chain(),
      "the certificate issued by \"" + authority.name() + "\"", options.now,
      [&] { record_issued(store, authority, one, key.name, options.now); });
  return result;
}

SignResult selfsign(store::Keystore& store, std::string_view name, const IssueOptions& options) {
  const auto key = stored_key(store, name);
  if (store::authority(store.database(), key.id))
    throw Error(Errc::Usage, "\"" + key.name + "\" is a local CA",
                "a CA's certificate is made by keysafe ca init", "selfsign an ordinary entry");
  if (options.days <= 0 || options.days > 36500)
    throw Error(Errc::Usage, "--days must be between 1 and 36500",
                std::to_string(options.days) + " was given", "for example: --days 365");
  const StoredSubject s = stored_subject(store, key);
  ossl::PKey private_key = x509::private_key_from_pkcs8(store.open_private_key(key));
  const x509::AltNames names =
      s.request ? x509::request_alt_names(s.request.get(), s.origin) : s.names;
  const X509_NAME* subject =
      s.request ? X509_REQ_get_subject_name(s.request.get()) : s.subject.get();
  const auto serial = x509::random_serial();
  x509::LeafSpec spec;
  spec.public_key = private_key.get();
  spec.subject = subject;
  spec.alt_names = names;
  spec.profile = options.profile;
  spec.validity = {options.now - options.backdate_seconds, options.now + options.days * k_day};
  spec.serial = serial.get();
  const ossl::Cert cert = x509::build_leaf_certificate(nullptr, private_key.get(), spec);
  SignResult result;
  result.certificate = x509::inspect_certificate(cert.get());
  result.pem = x509::certificate_pem(cert.get());
  result.installed = install_issued(store, cert.get(), {}, "the self-signed certificate", options.now);
  return result;
}

// ---- revoke and CRL -----------------------------------------------------------------------

RevokeResult ca_revoke(store::Keystore& store, std::string_view ca, std::string_view what,
                       std::optional<std::string> reason, std::int64_t now) {
  const auto rec = find_authority(store, ca);
  std::string reason_name = "unspecified";
  if (reason) {
    const auto code = x509::parse_revocation_reason(*reason);
    if (!code || *code == CRL_REASON_REMOVE_FROM_CRL) {
      std::string names;
      for (const auto& n : x509::revocation_reason_names())
        if (n != "removeFromCRL") names += (names.empty() ? "" : ", ") + n;
      throw Error(Errc::Usage, "\"" + *reason + "\" is not a revocation reason",
                  "RFC 5280 §5.3.1 reasons: " + names, "for example: --reason keyCompromise");
    }
    reason_name = x509::revocation_reason_name(*code);
  }
  const auto issued = store::issued_by(store.database(), rec.key_id);
  const store::IssuedRecord* target = nullptr;
  if (auto entry = store.key_by_name(what)) {
    // An entry name: its current certificate, which this CA must have issued.
    std::optional<store::CertificateRecord> current;
    if (entry->current_certificate_id) current = store.certificate(*entry->current_certificate_id);
    for (const auto& r : issued)
      if (current && r.fingerprint_sha256 == current->fingerprint_sha256) target = &r;
    if (target == nullptr)
      throw Error(Errc::NotFound,
                  "the current certificate of \"" + entry->name + "\" was not issued by \"" +
                      rec.name + "\"",
                  current ? "its issuer is " + current->issuer : "the entry has no certificate",
                  "revoke by serial: keysafe ca revoke " + rec.name +
                      " SERIAL (see: keysafe ca list --issued " + rec.name + ")");
  } else {
    const std::string serial = x509::serial_hex(x509::parse_serial_hex(what).get());
    for (const auto& r : issued)
      if (r.serial == serial) target = &r;
    if (target == nullptr)
      throw Error(Errc::NotFound,
                  "\"" + rec.name + "\" has issued no certificate with serial " + serial,
                  "neither an entry of that name nor an issued serial matches \"" +
                      std::string(what) + "\"",
                  "see what it issued with: keysafe ca list --issued " + rec.name);
  }
  RevokeResult result;
  result.ca = rec.name;
  result.serial = target->serial;
  result.subject = target->subject;
  result.key_name = target->key_name;
  if (target->revoked_at) {
    result.already_revoked = true;
    result.reason = target->revocation_reason;
    return result;
  }
  result.reason = reason_name;
  store.record("revoked", rec.name,
               "serial " + target->serial + " (" + target->subject + "), reason " + reason_name);
  store.write([&](store::Database& db) {
    store::mark_revoked(db, rec.key_id, target->serial, now, reason_name);
  });
  return result;
}

CrlResult ca_crl(store::Keystore& store, std::string_view ca, std::int64_t days, std::int64_t now) {
  if (days <= 0 || days > 3650)
    throw Error(Errc::Usage, "--days must be between 1 and 3650", std::to_string(days) + " was given",
                "for example: --days 30");
  const Authority authority = Authority::open(store, ca);
  std::vector<x509::RevokedSerial> revoked;
  for (const auto& r : store::issued_by(store.database(), authority.key_id()))
    if (r.revoked_at)
      revoked.push_back({r.serial, *r.revoked_at, x509::parse_revocation_reason(r.revocation_reason)});
  CrlResult result;
  result.ca = authority.name();
  result.revoked = revoked.size();
  result.this_update = now;
  result.next_update = now + days * k_day;
  store.record("crl-published", authority.name(),
               std::to_string(revoked.size()) + " revoked serial(s), next update " +
                   format_rfc3339(result.next_update));
  store.write([&](store::Database& db) {
    result.crl_number = store::next_crl_number(db, authority.key_id(), now);
    const ossl::Crl crl = x509::build_crl(authority.certificate(), authority.private_key(), revoked,
                                          result.crl_number, result.this_update,
                                          result.next_update);
    result.pem = x509::crl_pem(crl.get());
    result.der = x509::crl_der(crl.get());
  });
  return result;
}

}  // namespace keysafe::ops
