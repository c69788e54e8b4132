// Local certificate authorities: a CA's key and certificate are an ordinary store entry plus
// an `authorities` row. An Authority holds the opened CA key and certificate, so issuing many
// certificates unseals and parses the CA once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keysafe/ops/install.hpp"
#include "keysafe/ossl/handles.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/issue.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace keysafe::ops {

struct IssueOptions {
  x509::LeafProfile profile = x509::LeafProfile::Server;
  std::int64_t days = 90;
  std::int64_t now = 0;
  // notBefore = now - backdate, so a peer whose clock is a little behind accepts it.
  std::int64_t backdate_seconds = 60;
};

struct IssuedCertificate {
  ossl::Cert certificate;
  x509::CertificateInfo info;
  bool capped = false;  // notAfter was cut to the CA's own notAfter
};

class Authority final {
 public:
  // From an opened CA key and certificate; `chain` is the CA's own issuers, nearest first.
  Authority(std::string name, std::int64_t key_id, ossl::PKey key, ossl::Cert certificate,
            std::vector<ossl::Cert> chain);

  // Opens the stored CA `name`: one unseal of its key, one parse of its certificate and chain.
  // The store must be unlocked. Throws NotFound (no such entry, or not a CA).
  static Authority open(store::Keystore& store, std::string_view name);

  // For a PKCS#10 request: its signature must verify (else BadInput); the subject is copied
  // from it, the subjectAltName is built again from its checked DNS names and IP addresses
  // (any other entry, or a name that is not a valid host name or address, is BadInput naming
  // it and `origin`, e.g. "the request \"www.req\"").
  IssuedCertificate issue(X509_REQ* request, const IssueOptions& options,
                          std::string_view origin = "the request") const;
  // For a public key with a subject and checked names (e.g. a stored key without a request).
  IssuedCertificate issue(const EVP_PKEY* public_key, const X509_NAME* subject,
                          const x509::AltNames& names, const IssueOptions& options) const;

  const std::string& name() const noexcept { return m_name; }
  std::int64_t key_id() const noexcept { return m_key_id; }
  X509* certificate() const noexcept { return m_certificate.get(); }
  EVP_PKEY* private_key() const noexcept { return m_key.get(); }
  // The CA's certificate then its own chain: what follows an issued leaf in a chain file.
  std::vector<X509*> issuer_chain() const;

 private:
  IssuedCertificate issue_leaf(const EVP_PKEY* public_key, const X509_NAME* subject,
                               const x509::AltNames& names, const IssueOptions& options) const;

  std::string m_name;
  std::int64_t m_key_id;
  ossl::PKey m_key;
  ossl::Cert m_certificate;
  std::vector<ossl::Cert> m_chain;
  std::int64_t m_not_after;
};

// Records issued certificates (serial unique per CA) in one transaction, with an "issued"
// audit row each. `key_name` is the entry each was installed into, or none for a file.
void record_issued(store::Keystore& store, const Authority& authority,
                   std::span<const IssuedCertificate* const> issued,
                   const std::optional<std::string>& key_name, std::int64_t now);

// ---- keysafe ca init ----------------------------------------------------------------------
struct CaInitParams {
  std::string name;
  x509::KeyAlgorithm algorithm = x509::KeyAlgorithm::EcP384;
  std::int64_t days = 3650;
  std::string subject;                 // default "CN=<name>"
  std::optional<std::string> parent;   // --intermediate-of
  std::int64_t now = 0;
};
struct CaInitResult {
  std::string name;
  std::string algorithm;
  x509::CertificateInfo certificate;
  std::string parent;  // empty for a root
  bool capped = false;
};
// Checks the name, subject and parent before any expensive work (KDF, key generation).
void prepare_ca_init(store::Keystore& store, const CaInitParams& params);
// Generates the key, builds the CA certificate, stores entry + certificate + authorities row
// (and the parent's issued row) in one transaction. Needs unlock.
CaInitResult ca_init(store::Keystore& store, const CaInitParams& params);

// ---- listing and lookup -------------------------------------------------------------------
struct CaSummary {
  store::AuthorityRecord record;
  std::optional<store::CertificateRecord> certificate;
  std::int64_t issued = 0;
  std::int64_t revoked = 0;
};
std::vector<CaSummary> list_authorities(store::Keystore& store);
// The authorities row of entry `name`; NotFound when there is no such entry or it is no CA.
store::AuthorityRecord find_authority(store::Keystore& store, std::string_view name);
// The local CA that issued `cert` (issuer name and AKI match a stored CA's subject and SKI).
std::optional<store::AuthorityRecord> issuing_authority(store::Keystore& store, X509* cert);

// The CA certificate (PEM: the CA then its issuers; DER: the CA alone) for trust stores.
std::string ca_certificate_pem(store::Keystore& store, std::string_view name);
Bytes ca_certificate_der(store::Keystore& store, std::string_view name);

// ---- ca sign and selfsign ----------------------------------------------------------------
struct SignResult {
  std::string ca;  // empty for a self-signed certificate
  x509::CertificateInfo certificate;
  bool capped = false;
  // Set when the certificate's key is in the store: it was installed (as `keysafe install`).
  std::optional<InstallResult> installed;
  std::string pem;  // the certificate then the CA chain, PEM
};
// A request file's certificate; installed at once when its private key is in the store.
// `origin` names the request in errors (see Authority::issue).
SignResult ca_sign_request(store::Keystore& store, const Authority& authority, X509_REQ* request,
                           const IssueOptions& options, std::string_view origin = "the request");
// For stored entry `key_name`: its newest request, else its public key, subject and names.
SignResult ca_sign_key(store::Keystore& store, const Authority& authority,
                       std::string_view key_name, const IssueOptions& options);
// A self-signed end-entity certificate for stored entry `name`, installed. Needs unlock.
SignResult selfsign(store::Keystore& store, std::string_view name, const IssueOptions& options);

// ---- revoke and CRL -----------------------------------------------------------------------
struct RevokeResult {
  std::string ca;
  std::string serial;
  std::string subject;
  std::optional<std::string> key_name;
  std::string reason;
  bool already_revoked = false;
};
// `what` is a serial (hex) or an entry name whose newest certificate from this CA is revoked.
RevokeResult ca_revoke(store::Keystore& store, std::string_view ca, std::string_view what,
                       std::optional<std::string> reason, std::int64_t now);

struct CrlResult {
  std::string ca;
  std::int64_t crl_number = 0;
  std::size_t revoked = 0;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;
  std::string pem;
  Bytes der;
};
// Signs a CRL listing every serial this CA has revoked (expired ones included), valid for
// `days`, under the CA's next CRL number. Needs unlock.
CrlResult ca_crl(store::Keystore& store, std::string_view ca, std::int64_t days, std::int64_t now);

}  // namespace keysafe::ops
