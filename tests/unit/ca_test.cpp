// Unit tests of local CAs: certificates and CRLs built by x509/issue and ops/ca, judged by
// OpenSSL's verifier and by reading every extension back with OpenSSL's decoders.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "keysafe/error.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/calendar.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ops/renew.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/store/deployments.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/issue.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/request.hpp"
#include "store_fixture.hpp"

namespace keysafe::ops {
namespace {

constexpr std::int64_t k_day = 86400;
using keysafe::testing::error_of;

// OpenSSL's verdict on `leaf` with `untrusted` intermediates against `anchor`, at `at`.
int verify(X509* leaf, X509* anchor, const std::vector<X509*>& untrusted, std::int64_t at,
           X509_CRL* crl = nullptr, int purpose = X509_PURPOSE_SSL_SERVER) {
  ossl::TrustStore trust(X509_STORE_new());
  X509_STORE_add_cert(trust.get(), anchor);
  if (crl != nullptr) {
    X509_STORE_add_crl(trust.get(), crl);
    X509_STORE_set_flags(trust.get(), X509_V_FLAG_CRL_CHECK);
  }
  ossl::OwnedCertStack chain(sk_X509_new_null());
  for (X509* c : untrusted) sk_X509_push(chain.get(), ossl::share(c).release());
  ossl::StoreCtx ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), trust.get(), leaf, chain.get());
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(at));
  if (purpose != 0) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  const int ok = X509_verify_cert(ctx.get());
  const int err = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return ok == 1 ? X509_V_OK : err;
}

std::string octets_hex(const ASN1_OCTET_STRING* s) {
  return s == nullptr ? "" : to_hex({ASN1_STRING_get0_data(s), static_cast<std::size_t>(ASN1_STRING_length(s))});
}

class CaTest : public keysafe::testing::StoreFixture {
 protected:
  CaTest() : StoreFixture(1'780'000'000) {}  // 2026-05-28

  CaInitResult init_root(const std::string& name, std::int64_t days = 3650) {
    CaInitParams p;
    p.name = name;
    p.days = days;
    p.subject = "CN=" + name + " Root,O=Keysafe Tests";
    p.now = m_now;
    return ca_init(*m_store, p);
  }
  // A stored key with its request for one DNS name, as `keysafe create NAME --dns DNS` makes.
  void create_entry(const std::string& name, const std::string& dns) {
    CreateParams cp;
    cp.name = name;
    cp.dns = {dns};
    cp.now = m_now;
    prepare_create(*m_store, cp);
    (void)create_key(*m_store, cp);
  }
  ossl::Req make_request(EVP_PKEY* key, const std::vector<std::string>& dns,
                         const std::vector<std::string>& ip = {}) {
    return x509::build_request(key, x509::RequestSpec{"O=Example", dns, ip});
  }
};

TEST_F(CaTest, RootCertificateIsASelfSignedCaWithCriticalConstraints) {
  const auto r = init_root("root");
  EXPECT_TRUE(r.certificate.is_ca);
  EXPECT_TRUE(r.certificate.self_issued);
  const Authority ca = Authority::open(*m_store, "root");
  X509* c = ca.certificate();
  EXPECT_EQ(verify(c, c, {}, m_now, nullptr, 0), X509_V_OK);
  int crit = -1;
  std::unique_ptr<BASIC_CONSTRAINTS, decltype(&BASIC_CONSTRAINTS_free)> bc(
      static_cast<BASIC_CONSTRAINTS*>(X509_get_ext_d2i(c, NID_basic_constraints, &crit, nullptr)),
      BASIC_CONSTRAINTS_free);
  ASSERT_TRUE(bc);
  EXPECT_TRUE(bc->ca);
  EXPECT_EQ(bc->pathlen, nullptr);
  EXPECT_EQ(crit, 1);
  EXPECT_EQ(X509_get_key_usage(c), static_cast<std::uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(c, X509_get_ext_by_NID(c, NID_key_usage, -1))), 1);
  const std::string ski = octets_hex(X509_get0_subject_key_id(c));
  EXPECT_FALSE(ski.empty());
  EXPECT_EQ(octets_hex(X509_get0_authority_key_id(c)), ski);
  EXPECT_EQ(r.certificate.not_after - m_now, 3650 * k_day);
  // The CA is an ordinary entry plus an authorities row.
  const auto key = m_store->key_by_name("root");
  ASSERT_TRUE(key && key->has_private_key && key->current_certificate_id);
  const auto rec = store::authority(m_store->database(), key->id);
  ASSERT_TRUE(rec);
  EXPECT_FALSE(rec->parent_key_id);
}

TEST_F(CaTest, LeafFromRequestHasEveryExtensionAndVerifies) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::Rsa2048);
  const auto req = make_request(key.get(), {"www.example.test", "example.test"}, {"10.0.0.7"});
  IssueOptions o;
  o.now = m_now;
  o.days = 30;
  const auto issued = ca.issue(req.get(), o);
  X509* c = issued.certificate.get();
  EXPECT_EQ(verify(c, ca.certificate(), {}, m_now), X509_V_OK);
  EXPECT_EQ(verify(c, ca.certificate(), {}, m_now + 31 * k_day), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(issued.info.not_after, m_now + 30 * k_day);
  EXPECT_EQ(issued.info.not_before, m_now - 60);
  EXPECT_EQ(issued.info.dns, (std::vector<std::string>{"www.example.test", "example.test"}));
  EXPECT_EQ(issued.info.ip, (std::vector<std::string>{"10.0.0.7"}));
  EXPECT_EQ(issued.info.subject, "CN=www.example.test,O=Example");
  EXPECT_FALSE(issued.info.is_ca);
  EXPECT_EQ(X509_get_key_usage(c),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(c), static_cast<std::uint32_t>(XKU_SSL_SERVER));
  for (int nid : {NID_basic_constraints, NID_key_usage}) {
    const int idx = X509_get_ext_by_NID(c, nid, -1);
    ASSERT_GE(idx, 0);
    EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(c, idx)), 1) << OBJ_nid2sn(nid);
  }
  EXPECT_EQ(octets_hex(X509_get0_authority_key_id(c)),
            octets_hex(X509_get0_subject_key_id(ca.certificate())));
  EXPECT_FALSE(octets_hex(X509_get0_subject_key_id(c)).empty());
  // A random positive 128-bit serial.
  const ASN1_INTEGER* serial = X509_get0_serialNumber(c);
  EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
  EXPECT_EQ(issued.info.serial_hex.size(), 32u);
}

TEST_F(CaTest, EcClientLeafHasNoKeyEnciphermentAndClientAuth) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  IssueOptions o;
  o.now = m_now;
  o.profile = x509::LeafProfile::Client;
  const auto issued = ca.issue(make_request(key.get(), {"alice.example.test"}).get(), o);
  EXPECT_EQ(X509_get_key_usage(issued.certificate.get()),
            static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(issued.certificate.get()),
            static_cast<std::uint32_t>(XKU_SSL_CLIENT));
}

TEST_F(CaTest, ManyIssuesFromOneOpenedAuthorityHaveDistinctSerials) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const auto subject = x509::parse_subject("CN=bulk.example.test");
  IssueOptions o;
  o.now = m_now;
  std::set<std::string> serials;
  std::vector<IssuedCertificate> all;
  for (int i = 0; i < 50; ++i) {
    all.push_back(ca.issue(key.get(), subject.get(), x509::AltNames{{"bulk.example.test"}, {}}, o));
    serials.insert(all.back().info.serial_hex);
    EXPECT_EQ(verify(all.back().certificate.get(), ca.certificate(), {}, m_now), X509_V_OK);
  }
  EXPECT_EQ(serials.size(), 50u);
  std::vector<const IssuedCertificate*> ptrs;
  for (const auto& c : all) ptrs.push_back(&c);
  record_issued(*m_store, ca, ptrs, std::nullopt, m_now);
  EXPECT_EQ(store::issued_count(m_store->database(), ca.key_id()), 50);
  // The same serial twice is refused.
  const IssuedCertificate* again[] = {&all.front()};
  EXPECT_EQ(error_of([&] { record_issued(*m_store, ca, again, std::nullopt, m_now); }).code(),
            Errc::AlreadyExists);
  EXPECT_EQ(store::issued_count(m_store->database(), ca.key_id()), 50);
}

TEST_F(CaTest, ValidityIsCappedAtTheCasNotAfter) {
  const auto root = init_root("root", 10);
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  IssueOptions o;
  o.now = m_now;
  o.days = 365;
  const auto issued = ca.issue(make_request(key.get(), {"a.example.test"}).get(), o);
  EXPECT_TRUE(issued.capped);
  EXPECT_EQ(issued.info.not_after, root.certificate.not_after);
}

TEST_F(CaTest, ForgedRequestIsRefused) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const ossl::PKey other = x509::generate_key(x509::KeyAlgorithm::EcP256);
  auto req = make_request(key.get(), {"a.example.test"});
  X509_REQ_set_pubkey(req.get(), other.get());  // the signature no longer matches
  IssueOptions o;
  o.now = m_now;
  const auto e = error_of([&] { (void)ca.issue(req.get(), o); });
  EXPECT_EQ(e.code(), Errc::BadInput);
  EXPECT_NE(e.summary().find("signature"), std::string::npos);
}

TEST_F(CaTest, IntermediateHasPathLenZeroAndChainsToTheRoot) {
  init_root("root");
  CaInitParams p;
  p.name = "issuing";
  p.parent = "root";
  p.now = m_now;
  p.days = 1000;
  const auto r = ca_init(*m_store, p);
  EXPECT_EQ(r.parent, "root");
  const Authority root = Authority::open(*m_store, "root");
  const Authority mid = Authority::open(*m_store, "issuing");
  ASSERT_EQ(mid.issuer_chain().size(), 2u);
  EXPECT_EQ(verify(mid.certificate(), root.certificate(), {}, m_now, nullptr, 0), X509_V_OK);
  EXPECT_EQ(X509_get_pathlen(mid.certificate()), 0);
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  IssueOptions o;
  o.now = m_now;
  const auto leaf = mid.issue(make_request(key.get(), {"deep.example.test"}).get(), o);
  EXPECT_EQ(verify(leaf.certificate.get(), root.certificate(), {mid.certificate()}, m_now),
            X509_V_OK);
  EXPECT_EQ(verify(leaf.certificate.get(), root.certificate(), {}, m_now),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  // The intermediate is recorded as issued by the root.
  EXPECT_EQ(store::issued_count(m_store->database(), root.key_id()), 1);
}

TEST_F(CaTest, CrlRevokesExactlyTheRevokedSerial) {
  init_root("root");
  create_entry("www", "www.example.test");
  create_entry("mail", "mail.example.test");
  IssueOptions o;
  o.now = m_now;
  SignResult www, mail;
  {
    const Authority ca = Authority::open(*m_store, "root");
    www = ca_sign_key(*m_store, ca, "www", o);
    mail = ca_sign_key(*m_store, ca, "mail", o);
  }
  ASSERT_TRUE(www.installed && mail.installed);
  EXPECT_TRUE(www.installed->chain_trusted);
  const auto rv = ca_revoke(*m_store, "root", "www", std::string("keyCompromise"), m_now + 10);
  EXPECT_EQ(rv.serial, www.certificate.serial_hex);
  EXPECT_EQ(rv.reason, "keyCompromise");
  EXPECT_TRUE(ca_revoke(*m_store, "root", www.certificate.serial_hex, std::nullopt, m_now + 20)
                  .already_revoked);
  EXPECT_EQ(error_of([&] { (void)ca_revoke(*m_store, "root", "00AB", std::nullopt, m_now); }).code(),
            Errc::NotFound);
  const auto crl1 = ca_crl(*m_store, "root", 7, m_now + 100);
  const auto crl2 = ca_crl(*m_store, "root", 7, m_now + 200);
  // CRL numbers rise, and are at least the time of signing (docs/CA.md).
  EXPECT_GT(crl2.crl_number, crl1.crl_number);
  EXPECT_GE(crl1.crl_number, m_now + 100);
  EXPECT_EQ(crl2.crl_number, m_now + 200);
  // Two CRLs in the same second still get distinct, rising numbers.
  EXPECT_EQ(ca_crl(*m_store, "root", 7, m_now + 200).crl_number, m_now + 201);
  EXPECT_EQ(crl2.revoked, 1u);
  const unsigned char* p = crl2.der.data();
  ossl::Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(crl2.der.size())));
  ASSERT_TRUE(crl);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  const Authority ca = Authority::open(*m_store, "root");
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.certificate())), 1);
  const auto www_cert = x509::certificate_from_der(
      m_store->certificate_der(*m_store->key_by_name("www")->current_certificate_id));
  const auto mail_cert = x509::certificate_from_der(
      m_store->certificate_der(*m_store->key_by_name("mail")->current_certificate_id));
  EXPECT_EQ(verify(www_cert.get(), ca.certificate(), {}, m_now + 300, crl.get()),
            X509_V_ERR_CERT_REVOKED);
  EXPECT_EQ(verify(mail_cert.get(), ca.certificate(), {}, m_now + 300, crl.get()), X509_V_OK);
}

TEST_F(CaTest, NotACaIsNotFound) {
  create_entry("www", "www.example.test");
  EXPECT_EQ(error_of([&] { (void)Authority::open(*m_store, "www"); }).code(), Errc::NotFound);
  EXPECT_EQ(error_of([&] { (void)Authority::open(*m_store, "nothing"); }).code(), Errc::NotFound);
}

// ---- crash atomicity: a failure in the last step leaves nothing of the earlier ones --------
// A TEMP trigger (this connection only) aborts one statement the way a full disk or a kill
// would cut the operation short: a real SQLite failure in the middle of the operation.

std::int64_t row_count(store::Keystore& s, const std::string& table) {
  auto q = s.database().prepare("SELECT count(*) FROM " + table);
  q.step();
  return q.int64(0);
}

void abort_statements(store::Keystore& s, const std::string& trigger, const std::string& on) {
  s.database().exec("CREATE TEMP TRIGGER " + trigger + " BEFORE " + on +
                    " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
}

std::ptrdiff_t audited(store::Keystore& s, std::string_view action) {
  const auto log = s.audit_log();
  return std::count_if(log.begin(), log.end(),
                       [&](const store::AuditRecord& r) { return r.action == action; });
}

TEST_F(CaTest, CaInitFailingAtItsAuthoritiesRowLeavesNoEntry) {
  abort_statements(*m_store, "no_authority", "INSERT ON authorities");
  const Error e = error_of([&] { (void)init_root("root"); });
  EXPECT_NE(e.cause().find("injected failure"), std::string::npos) << e.cause();
  EXPECT_FALSE(m_store->key_by_name("root"));
  EXPECT_EQ(row_count(*m_store, "keys"), 0);
  EXPECT_EQ(row_count(*m_store, "certificates"), 0);
  EXPECT_EQ(audited(*m_store, "ca-created"), 0);

  // Nothing half-done blocks the retry: the same name is free, and one CA results.
  m_store->database().exec("DROP TRIGGER temp.no_authority");
  (void)init_root("root");
  EXPECT_EQ(row_count(*m_store, "keys"), 1);
  EXPECT_EQ(row_count(*m_store, "certificates"), 1);
  EXPECT_EQ(row_count(*m_store, "authorities"), 1);
  EXPECT_EQ(audited(*m_store, "ca-created"), 1);
}

TEST_F(CaTest, IntermediateFailingAtItsIssuedRowLeavesNoEntry) {
  (void)init_root("root");
  abort_statements(*m_store, "no_issued", "INSERT ON issued_certificates");
  CaInitParams p;
  p.name = "sub";
  p.parent = "root";
  p.now = m_now;
  EXPECT_EQ(error_of([&] { (void)ca_init(*m_store, p); }).code(), Errc::Internal);
  EXPECT_FALSE(m_store->key_by_name("sub"));
  EXPECT_EQ(row_count(*m_store, "authorities"), 1);
  EXPECT_EQ(row_count(*m_store, "certificates"), 1);
}

TEST_F(CaTest, SignedCertificateAndItsIssuedRecordCommitTogether) {
  (void)init_root("root");
  create_entry("www", "www.example.test");
  const Authority ca = Authority::open(*m_store, "root");
  abort_statements(*m_store, "no_certificate", "INSERT ON certificates");
  IssueOptions o;
  o.now = m_now;
  EXPECT_EQ(error_of([&] { (void)ca_sign_key(*m_store, ca, "www", o); }).code(), Errc::Internal);
  EXPECT_FALSE(m_store->key_by_name("www")->current_certificate_id);
  EXPECT_TRUE(store::issued_by(m_store->database(), ca.key_id()).empty())
      << "the CA recorded a certificate that was never stored";
  EXPECT_EQ(audited(*m_store, "issued"), 0);

  m_store->database().exec("DROP TRIGGER temp.no_certificate");
  const SignResult r = ca_sign_key(*m_store, ca, "www", o);
  ASSERT_TRUE(r.installed);
  const auto issued = store::issued_by(m_store->database(), ca.key_id());
  ASSERT_EQ(issued.size(), 1u);
  EXPECT_EQ(issued.front().fingerprint_sha256, r.certificate.fingerprint_sha256);
  EXPECT_EQ(issued.front().key_name, "www");
}

class RenewAtomicity : public CaTest {
 protected:
  // "www", its certificate issued by the local CA "root": renew completes it at once.
  void SetUp() override {
    CaTest::SetUp();
    (void)init_root("root");
    create_entry("www", "www.example.test");
    IssueOptions o;
    o.now = m_now;
    (void)ca_sign_key(*m_store, Authority::open(*m_store, "root"), "www", o);
    m_www = *m_store->key_by_name("www");
    ASSERT_TRUE(m_www.current_certificate_id);
  }
  // A deployment of "www" recorded in the store (no files: nothing here deploys).
  void record_deployment() {
    store::DeploymentRecord d;
    d.key_id = m_www.id;
    d.target_dir = (m_dir / "site").string();
    d.layout = "nginx";
    d.certificate_fingerprint = m_store->certificate(*m_www.current_certificate_id)->fingerprint_sha256;
    d.deployed_at = m_now;
    m_store->write([&](store::Database& db) { store::save_deployment(db, d); });
  }
  std::vector<std::int64_t> deployed_key_ids() {
    std::vector<std::int64_t> out;
    for (const auto& d : store::deployments(m_store->database())) out.push_back(d.key_id);
    return out;
  }
  RenewResult renew_www() {
    RenewParams p;
    p.name = "www";
    p.now = m_now + k_day;
    return renew(*m_store, p);
  }
  store::KeyRecord m_www;
};

TEST_F(RenewAtomicity, NameSwapFailingLeavesTheNewCertificateUninstalled) {
  // The swap renames the old entry first: fail exactly there.
  record_deployment();
  abort_statements(*m_store, "no_rename", "UPDATE OF name ON keys");
  const std::int64_t certificates_before = row_count(*m_store, "certificates");
  const auto installs_before = audited(*m_store, "installed");
  const Error e = error_of([&] { (void)renew_www(); });
  EXPECT_NE(e.cause().find("injected failure"), std::string::npos) << e.cause();

  // The old entry is untouched: same name, same current certificate.
  const auto www = m_store->key_by_name("www");
  ASSERT_TRUE(www);
  EXPECT_EQ(www->id, m_www.id);
  EXPECT_EQ(www->current_certificate_id, m_www.current_certificate_id);
  // The pending entry (committed before issuing, as a renewal waiting for its CA) did not get
  // the certificate: it is still pending, so installing again completes the renewal.
  const auto pending = m_store->key_by_name(pending_renewal_name("www"));
  ASSERT_TRUE(pending);
  EXPECT_FALSE(pending->current_certificate_id);
  EXPECT_EQ(row_count(*m_store, "certificates"), certificates_before);
  EXPECT_EQ(audited(*m_store, "installed"), installs_before);
  EXPECT_EQ(audited(*m_store, "renewed"), 0);
  EXPECT_EQ(deployed_key_ids(), std::vector<std::int64_t>{m_www.id});
}

TEST_F(RenewAtomicity, PendingEntryFailingAtItsLinkIsNotLeftBehind) {
  abort_statements(*m_store, "no_link", "UPDATE OF renews_key_id ON keys");
  (void)error_of([&] { (void)renew_www(); });
  EXPECT_FALSE(m_store->key_by_name(pending_renewal_name("www")));
  EXPECT_EQ(row_count(*m_store, "keys"), 2);  // root and www
  EXPECT_EQ(audited(*m_store, "renewal-requested"), 0);
}

TEST_F(RenewAtomicity, CompletedRenewalSwapsNamesAndDeploymentsWithItsCertificate) {
  record_deployment();
  const RenewResult r = renew_www();
  ASSERT_TRUE(r.completed);
  const auto www = m_store->key_by_name("www");
  ASSERT_TRUE(www);
  EXPECT_NE(www->id, m_www.id);
  ASSERT_TRUE(www->current_certificate_id);
  EXPECT_EQ(m_store->certificate(*www->current_certificate_id)->fingerprint_sha256,
            r.certificate->fingerprint_sha256);
  const auto old = m_store->key_by_name(r.replaced_name);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->id, m_www.id);
  EXPECT_FALSE(m_store->key_by_name(pending_renewal_name("www")));
  // The deployment follows the name to the new key (the hook redeploys it from there).
  EXPECT_EQ(deployed_key_ids(), std::vector<std::int64_t>{www->id});
}

// ---- renew --all --due: what is due -----------------------------------------------------

TEST(RenewalDue, FewerThanDueDaysLeftUnlessTheWholeValidityIsShort) {
  // 90 days (a third is 30): the --due 30 rule as it always was.
  EXPECT_TRUE(renewal_due(0, 90 * k_day, 30, 65 * k_day));   // 25 days left
  EXPECT_FALSE(renewal_due(0, 90 * k_day, 30, 55 * k_day));  // 35 days left
  // 20 days under --due 30: due only with less than a third (6 2/3 days) left.
  EXPECT_FALSE(renewal_due(0, 20 * k_day, 30, 0));           // just issued: not due at once
  EXPECT_FALSE(renewal_due(0, 20 * k_day, 30, 13 * k_day));  // 7 days left
  EXPECT_TRUE(renewal_due(0, 20 * k_day, 30, 14 * k_day));   // 6 days left
  // 60 days, comparable to --due 30: a third (20 days), not 30.
  EXPECT_FALSE(renewal_due(0, 60 * k_day, 30, 35 * k_day));  // 25 days left
  EXPECT_TRUE(renewal_due(0, 60 * k_day, 30, 41 * k_day));   // 19 days left
  EXPECT_TRUE(renewal_due(0, 20 * k_day, 30, 21 * k_day));   // expired
}

TEST_F(CaTest, RenewAllRenewsAShortCertificateOnceNotOnEveryRun) {
  (void)init_root("root");
  (void)init_root("short-ca", 5);
  create_entry("short", "short.example.test");
  IssueOptions o;
  o.now = m_now;
  o.days = 20;
  (void)ca_sign_key(*m_store, Authority::open(*m_store, "root"), "short", o);
  const auto names = [](const RenewAllResult& r) {
    std::string out;
    for (const auto& i : r.items) out += i.name + ":" + i.status + " ";
    return out;
  };
  // 15 of its 20 days gone: due under --due 30; the expired CA is skipped, and said so.
  const std::int64_t later = m_now + 15 * k_day;
  const RenewAllResult first = renew_due(*m_store, 30, false, later);
  EXPECT_EQ(names(first), "short:renewed short-ca:skipped ");
  ASSERT_EQ(first.items.size(), 2u);
  ASSERT_TRUE(first.items[0].result);
  const auto& warnings = first.items[0].result->warnings;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("valid for 20 days, no more than --due 30"), std::string::npos)
      << warnings[0];
  // The next run renews nothing, and does not mention the superseded entry.
  const RenewAllResult second = renew_due(*m_store, 30, false, later + 60);
  EXPECT_EQ(names(second), "short-ca:skipped ");
  EXPECT_EQ(second.renewed, 0u);
}

// ---- subjectAltName: checked names, built from GENERAL_NAME objects -----------------------

GENERAL_NAME* raw_name(int type, const void* data, int len) {
  ASN1_STRING* value = type == GEN_DNS || type == GEN_EMAIL ? ASN1_IA5STRING_new() : ASN1_OCTET_STRING_new();
  ASN1_STRING_set(value, data, len);
  GENERAL_NAME* gn = GENERAL_NAME_new();
  GENERAL_NAME_set0_value(gn, type, value);
  return gn;
}
GENERAL_NAME* raw_dns(std::string_view name) {
  return raw_name(GEN_DNS, name.data(), static_cast<int>(name.size()));
}

// A request signed by `key` whose subjectAltName holds exactly `names` (freed here), made with
// OpenSSL's own calls as any tool could make it; `copies` subjectAltName extensions.
ossl::Req raw_request(EVP_PKEY* key, std::vector<GENERAL_NAME*> names, int copies = 1) {
  GENERAL_NAMES* gens = sk_GENERAL_NAME_new_null();
  for (GENERAL_NAME* gn : names) sk_GENERAL_NAME_push(gens, gn);
  ossl::Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  ossl::Name subject(X509_NAME_new());
  X509_NAME_add_entry_by_txt(subject.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("a.example.test"), -1, -1, 0);
  X509_REQ_set_subject_name(req.get(), subject.get());
  X509_REQ_set_pubkey(req.get(), key);
  STACK_OF(X509_EXTENSION)* exts = nullptr;
  for (int i = 0; i < copies; ++i)
    EXPECT_EQ(X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND), 1);
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  GENERAL_NAMES_free(gens);
  EXPECT_GT(X509_REQ_sign(req.get(), key, EVP_sha256()), 0);
  return req;
}

// The subjectAltName of `cert` read with OpenSSL only: "DNS:name" and "IP:hex" in order.
std::vector<std::string> raw_sans(X509* cert) {
  std::vector<std::string> out;
  GENERAL_NAMES* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS)
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                         static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName))));
    else if (gn->type == GEN_IPADD)
      out.push_back("IP:" + octets_hex(gn->d.iPAddress));
    else
      out.push_back("type " + std::to_string(gn->type));
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST_F(CaTest, CommaInARequestsDnsNameIsRefusedNotTurnedIntoAnIpAddress) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const auto req = raw_request(key.get(), {raw_dns("a.example.test,IP:10.9.9.9")});
  IssueOptions o;
  o.now = m_now;
  const Error e = error_of([&] { (void)ca.issue(req.get(), o, "the request \"evil.req\""); });
  EXPECT_EQ(e.code(), Errc::BadInput);
  EXPECT_NE(e.summary().find("\"a.example.test,IP:10.9.9.9\""), std::string::npos) << e.summary();
  EXPECT_NE(e.summary().find("evil.req"), std::string::npos) << e.summary();
}

TEST_F(CaTest, StoredNamesWithACommaAreRefusedBeforeSigning) {
  // What `ca sign --key` and `selfsign` do with an entry's names (they may come from an
  // imported certificate): checked, and an error instead of "DNS:a.example.test,IP:10.9.9.9".
  const Error e = error_of([] {
    (void)x509::checked_alt_names({"a.example.test,IP:10.9.9.9"}, {}, "the names of the entry \"x\"");
  });
  EXPECT_EQ(e.code(), Errc::BadInput);
  EXPECT_NE(e.summary().find("a.example.test,IP:10.9.9.9"), std::string::npos) << e.summary();
  // The builder itself checks every name again: no path turns the comma into an entry.
  EXPECT_THROW((void)x509::general_names(x509::AltNames{{"a.example.test,IP:10.9.9.9"}, {}}), Error);
  EXPECT_THROW((void)x509::general_names(x509::AltNames{{}, {"10.9.9.9,DNS:x.test"}}), Error);
}

TEST_F(CaTest, LeafSubjectAltNameHoldsExactlyTheCheckedNames) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const ossl::Name subject = x509::parse_subject("CN=www.example.test");
  IssueOptions o;
  o.now = m_now;
  const auto issued = ca.issue(key.get(), subject.get(),
                               x509::AltNames{{"www.example.test", "*.example.test", "xn--bcher-kva.example.test"},
                                              {"192.0.2.1", "2001:db8::1"}},
                               o);
  EXPECT_EQ(raw_sans(issued.certificate.get()),
            (std::vector<std::string>{"DNS:www.example.test", "DNS:*.example.test",
                                      "DNS:xn--bcher-kva.example.test", "IP:c0000201",
                                      "IP:20010db8000000000000000000000001"}));
  // From a request: rebuilt from its checked names (lowercased), in the same order.
  const auto req = raw_request(key.get(), {raw_dns("API.Example.test"),
                                           raw_name(GEN_IPADD, "\xc0\x00\x02\x09", 4)});
  const auto from_req = ca.issue(req.get(), o);
  EXPECT_EQ(raw_sans(from_req.certificate.get()),
            (std::vector<std::string>{"DNS:api.example.test", "IP:c0000209"}));
}

TEST_F(CaTest, RequestNamesKeysafeDoesNotCheckAreRefused) {
  init_root("root");
  const Authority ca = Authority::open(*m_store, "root");
  const ossl::PKey key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  IssueOptions o;
  o.now = m_now;
  const auto refused = [&](ossl::Req req, std::string_view words) {
    const Error e = error_of([&] { (void)ca.issue(req.get(), o); });
    EXPECT_EQ(e.code(), Errc::BadInput);
    EXPECT_NE(e.summary().find(words), std::string::npos) << e.summary();
  };
  refused(raw_request(key.get(), {raw_dns("ok.example.test"), raw_name(GEN_EMAIL, "a@b.test", 8)}),
          "e-mail address");
  refused(raw_request(key.get(), {raw_name(GEN_IPADD, "\x0a\x09\x09\x09\xff\xff\xff\x00", 8)}),
          "IP address");
  refused(raw_request(key.get(), {raw_dns("under_score.example.test")}), "under_score");
  refused(raw_request(key.get(), {raw_dns(std::string_view("nul\0.example.test", 17))}), "nul\\x00");
  refused(raw_request(key.get(), {raw_dns("ok.example.test")}, 2), "two subjectAltName");
}

TEST(IssueTest, SerialParsingAndReasons) {
  EXPECT_EQ(x509::serial_hex(x509::parse_serial_hex("0x0a:bc").get()), "0ABC");
  EXPECT_THROW((void)x509::parse_serial_hex("xyz"), Error);
  EXPECT_EQ(x509::parse_revocation_reason("keycompromise"), CRL_REASON_KEY_COMPROMISE);
  EXPECT_FALSE(x509::parse_revocation_reason("stolen"));
  for (int i = 0; i < 20; ++i) {
    const auto s = x509::random_serial();
    EXPECT_EQ(BN_num_bits(s.get()), 127);
  }
}

// RFC 5545 §3.1 folding: at most 75 octets per physical line, CRLF + space, never inside a
// UTF-8 sequence; unfolding (removing every CRLF + space) gives the line back.
TEST(CalendarTest, LinesFoldAt75OctetsWithoutSplittingUtf8) {
  EXPECT_EQ(ical_line("VERSION:2.0"), "VERSION:2.0\r\n");
  std::string line = "SUMMARY:";
  for (int i = 0; i < 40; ++i) line += "M\xc3\xbcnchen ";  // "München": ü is two octets
  const std::string folded = ical_line(line);
  ASSERT_GE(folded.size(), 2u);
  EXPECT_EQ(folded.substr(folded.size() - 2), "\r\n");
  std::string unfolded;
  std::size_t start = 0;
  int physical = 0;
  while (start < folded.size()) {
    const auto end = folded.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    const std::string part = folded.substr(start, end - start);
    EXPECT_LE(part.size(), 75u);
    if (physical > 0) {
      ASSERT_EQ(part.front(), ' ');
      // A continuation never starts with a UTF-8 continuation octet.
      if (part.size() > 1) {
        EXPECT_NE(static_cast<unsigned char>(part[1]) & 0xC0, 0x80);
      }
      unfolded += part.substr(1);
    } else {
      unfolded += part;
    }
    ++physical;
    start = end + 2;
  }
  EXPECT_GT(physical, 3);
  EXPECT_EQ(unfolded, line);
}

TEST(CalendarTest, TextIsEscaped) {
  EXPECT_EQ(ical_escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
}

}  // namespace
}  // namespace keysafe::ops
