// Unit tests of complete backups: payload version 3 encodes and decodes every CA role, issued
// record, deployment, setting and the fleet (signing key, hosts, assignments with reports);
// version 1 and 2 payloads are still read; and a store collected
// into a payload and restored into an empty store has the same CA roles, issued records,
// revocations, deployments and settings, with valid integrity MACs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "keysafe/backup/payload.hpp"
#include "keysafe/error.hpp"
#include "keysafe/ops/backup.hpp"
#include "keysafe/ops/ca.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/store/authorities.hpp"
#include "keysafe/store/deployments.hpp"
#include "store_fixture.hpp"

namespace keysafe::backup {
namespace {

using keysafe::testing::error_of;

std::string as_text(const SecureBytes& b) { return std::string(b.begin(), b.end()); }
SecureBytes as_bytes(std::string_view s) { return SecureBytes(s.begin(), s.end()); }

BackupPayload sample_payload() {
  BackupPayload p;
  p.created = 1'790'000'000;
  p.written_by = "keysafe test";
  p.scope = "store";
  BackupEntry e;
  e.name = "corp-root";
  e.algorithm = "ec-p256";
  e.spki_sha256 = "ab12";
  e.spki_der = Bytes{1, 2, 3};
  e.subject = "CN=Corp Root";
  e.created_at = 1'789'000'000;
  p.entries.push_back(e);
  BackupAuthority a;
  a.entry = "corp-root";
  a.spki_sha256 = "ab12";
  a.parent = "top";
  a.parent_spki_sha256 = "cd34";
  a.crl_number = 1'789'500'000;
  a.created_at = 1'789'000'001;
  a.issued.push_back({"4A01", "CN=www", "ff00", std::string("www"), 1'800'000'000,
                      1'789'100'000, 1'789'200'000, "keyCompromise"});
  a.issued.push_back({"4A02", "CN=file", "ff01", std::nullopt, 1'800'000'001, 1'789'100'001,
                      std::nullopt, ""});
  p.authorities.push_back(a);
  BackupDeployment d;
  d.entry = "www";
  d.spki_sha256 = "ef56";
  d.target_dir = "/srv/www/tls";
  d.layout = "nginx";
  d.files = {{"/srv/www/tls/fullchain.pem", "aa", {}}, {"/srv/www/tls/privkey.pem", "bb", "key"}};
  d.test_cmd = "nginx -t";
  d.reload_cmd = std::nullopt;
  d.probe = "127.0.0.1:443";
  d.sni = "www.example.test";
  d.certificate_fingerprint = "cc";
  d.deployed_at = 1'789'300'000;
  p.deployments.push_back(d);
  p.settings.push_back({"backup_dir", Bytes{'/', 'b'}});
  p.settings.push_back({"recovery_certificate", Bytes{0x30, 0x00, 0xff}});
  p.fleet_signing_key = BackupFleetSigningKey{Bytes{7, 8}, SecureBytes{9, 10, 11}, 1'789'000'100};
  p.hosts.push_back({"web1", "x25519", Bytes{4, 5}, "0405", std::nullopt, 1'789'000'200});
  BackupAssignment as;
  as.host = "web1";
  as.entry = "www";
  as.spki_sha256 = "ef56";
  as.target_dir = "/etc/nginx/keysafe/www";
  as.layout = "pem";
  as.reload_cmd = "systemctl reload nginx";
  as.assigned_at = 1'789'000'300;
  as.report = BackupHostReport{"current", std::string("cc"), std::string("cc"),
                               {{"/etc/nginx/keysafe/www/cert.pem", "dd", {}}}, std::nullopt,
                               1'789'000'400};
  p.assignments.push_back(as);
  as.entry = "mail";
  as.report.reset();
  p.assignments.push_back(as);
  p.acme_accounts.push_back({"pebble", "https://ca.test/dir", "https://ca.test/acct/1",
                             R"(["mailto:a@example.test"])", "valid", "ec-p256", "thumb",
                             SecureBytes{12, 13}, std::nullopt, 1'789'000'500});
  p.acme_accounts.push_back({"other", "https://ca2.test/dir", "https://ca2.test/acct/2", "[]",
                             "deactivated", "rsa-2048", "thumb2", SecureBytes{14},
                             std::optional<std::string>("-----BEGIN CERTIFICATE-----"), 1'789'000'600});
  p.acme_entries.push_back({"www", "ab12", "pebble", "https://ca.test/dir", "dns-01-hook",
                            R"({"hook":"/bin/true","resolver":null})", std::optional<std::string>("ISRG Root X1"),
                            std::optional<std::string>("https://ca.test/order/9"), 1'789'000'700});
  return p;
}

TEST(PayloadTest, VersionFourRoundTripsEveryRoleDeploymentSettingTheFleetAndAcme) {
  const BackupPayload in = sample_payload();
  const SecureBytes encoded = encode_payload(in);
  EXPECT_NE(as_text(encoded).find("\"version\":4"), std::string::npos);
  const BackupPayload out = decode_payload(encoded, "test");
  EXPECT_EQ(out.version, 4);
  ASSERT_EQ(out.acme_accounts.size(), 2u);
  EXPECT_EQ(out.acme_accounts[0].name, "pebble");
  EXPECT_EQ(out.acme_accounts[0].account_url, "https://ca.test/acct/1");
  EXPECT_EQ(out.acme_accounts[0].contact, R"(["mailto:a@example.test"])");
  EXPECT_EQ(out.acme_accounts[0].jwk_thumbprint, "thumb");
  EXPECT_EQ(out.acme_accounts[0].private_key_pkcs8, (SecureBytes{12, 13}));
  EXPECT_EQ(out.acme_accounts[0].directory_ca_pem, std::nullopt);
  EXPECT_EQ(out.acme_accounts[0].created_at, 1'789'000'500);
  EXPECT_EQ(out.acme_accounts[1].status, "deactivated");
  EXPECT_EQ(out.acme_accounts[1].key_algorithm, "rsa-2048");
  EXPECT_EQ(out.acme_accounts[1].directory_ca_pem, std::optional<std::string>("-----BEGIN CERTIFICATE-----"));
  ASSERT_EQ(out.acme_entries.size(), 1u);
  EXPECT_EQ(out.acme_entries[0].entry, "www");
  EXPECT_EQ(out.acme_entries[0].spki_sha256, "ab12");
  EXPECT_EQ(out.acme_entries[0].account, "pebble");
  EXPECT_EQ(out.acme_entries[0].directory_url, "https://ca.test/dir");
  EXPECT_EQ(out.acme_entries[0].challenge, "dns-01-hook");
  EXPECT_EQ(out.acme_entries[0].challenge_param, R"({"hook":"/bin/true","resolver":null})");
  EXPECT_EQ(out.acme_entries[0].preferred_chain, std::optional<std::string>("ISRG Root X1"));
  EXPECT_EQ(out.acme_entries[0].order_url, std::optional<std::string>("https://ca.test/order/9"));
  EXPECT_EQ(out.acme_entries[0].updated_at, 1'789'000'700);
  ASSERT_TRUE(out.fleet_signing_key.has_value());
  EXPECT_EQ(out.fleet_signing_key->public_key, (Bytes{7, 8}));
  EXPECT_EQ(out.fleet_signing_key->private_key_pkcs8, (SecureBytes{9, 10, 11}));
  EXPECT_EQ(out.fleet_signing_key->created_at, 1'789'000'100);
  ASSERT_EQ(out.hosts.size(), 1u);
  EXPECT_EQ(out.hosts[0].name, "web1");
  EXPECT_EQ(out.hosts[0].public_key, (Bytes{4, 5}));
  EXPECT_EQ(out.hosts[0].role, std::nullopt);
  EXPECT_EQ(out.hosts[0].created_at, 1'789'000'200);
  ASSERT_EQ(out.assignments.size(), 2u);
  const auto& as = out.assignments[0];
  EXPECT_EQ(as.host, "web1");
  EXPECT_EQ(as.entry, "www");
  EXPECT_EQ(as.target_dir, "/etc/nginx/keysafe/www");
  EXPECT_EQ(as.test_cmd, std::nullopt);
  EXPECT_EQ(as.reload_cmd, std::optional<std::string>("systemctl reload nginx"));
  EXPECT_EQ(as.assigned_at, 1'789'000'300);
  ASSERT_TRUE(as.report.has_value());
  EXPECT_EQ(as.report->deployed_fingerprint, std::optional<std::string>("cc"));
  ASSERT_EQ(as.report->files.size(), 1u);
  EXPECT_EQ(as.report->files[0].sha256, "dd");
  EXPECT_EQ(as.report->reported_at, 1'789'000'400);
  EXPECT_FALSE(out.assignments[1].report.has_value());
  EXPECT_EQ(out.scope, "store");
  ASSERT_EQ(out.authorities.size(), 1u);
  const auto& a = out.authorities[0];
  EXPECT_EQ(a.entry, "corp-root");
  EXPECT_EQ(a.spki_sha256, "ab12");
  EXPECT_EQ(a.parent, std::optional<std::string>("top"));
  EXPECT_EQ(a.parent_spki_sha256, std::optional<std::string>("cd34"));
  EXPECT_EQ(a.crl_number, 1'789'500'000);
  EXPECT_EQ(a.created_at, 1'789'000'001);
  ASSERT_EQ(a.issued.size(), 2u);
  EXPECT_EQ(a.issued[0].serial, "4A01");
  EXPECT_EQ(a.issued[0].key_name, std::optional<std::string>("www"));
  EXPECT_EQ(a.issued[0].revoked_at, std::optional<std::int64_t>(1'789'200'000));
  EXPECT_EQ(a.issued[0].revocation_reason, "keyCompromise");
  EXPECT_EQ(a.issued[1].key_name, std::nullopt);
  EXPECT_EQ(a.issued[1].revoked_at, std::nullopt);
  EXPECT_EQ(a.issued[1].not_after, 1'800'000'001);
  ASSERT_EQ(out.deployments.size(), 1u);
  const auto& d = out.deployments[0];
  EXPECT_EQ(d.entry, "www");
  EXPECT_EQ(d.target_dir, "/srv/www/tls");
  EXPECT_EQ(d.layout, "nginx");
  ASSERT_EQ(d.files.size(), 2u);
  EXPECT_EQ(d.files[1].path, "/srv/www/tls/privkey.pem");
  EXPECT_EQ(d.files[1].sha256, "bb");
  EXPECT_EQ(d.files[0].role, "");     // layouts other than "files" record no role
  EXPECT_EQ(d.files[1].role, "key");  // an adopted server's file keeps its role
  EXPECT_EQ(d.test_cmd, std::optional<std::string>("nginx -t"));
  EXPECT_EQ(d.reload_cmd, std::nullopt);
  EXPECT_EQ(d.probe, std::optional<std::string>("127.0.0.1:443"));
  EXPECT_EQ(d.sni, std::optional<std::string>("www.example.test"));
  EXPECT_EQ(d.certificate_fingerprint, "cc");
  EXPECT_EQ(d.deployed_at, 1'789'300'000);
  ASSERT_EQ(out.settings.size(), 2u);
  EXPECT_EQ(out.settings[0].key, "backup_dir");
  EXPECT_EQ(out.settings[1].value, (Bytes{0x30, 0x00, 0xff}));
}

TEST(PayloadTest, VersionOneIsReadWithoutRoles) {
  const auto v1 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":1,"created":1790000000,)"
      R"("written_by":"keysafe 0.1.0","entries":[{"name":"www","algorithm":"ec-p256",)"
      R"("spki_sha256":"ab","spki_der":"AQID","subject":"CN=www","dns":["www"],"ip":[],)"
      R"("created_at":1,"private_key_pkcs8":null,"requests":[],"certificates":[]}]})");
  const BackupPayload p = decode_payload(v1, "v1");
  EXPECT_EQ(p.version, 1);
  EXPECT_EQ(p.scope, "entries");
  ASSERT_EQ(p.entries.size(), 1u);
  EXPECT_EQ(p.entries[0].name, "www");
  EXPECT_TRUE(p.authorities.empty());
  EXPECT_TRUE(p.deployments.empty());
  EXPECT_TRUE(p.settings.empty());
}

TEST(PayloadTest, VersionTwoIsReadWithoutTheFleet) {
  const auto v2 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":2,"created":1790000000,"scope":"store",)"
      R"("entries":[],"authorities":[],"deployments":[],"settings":[]})");
  const BackupPayload p = decode_payload(v2, "v2");
  EXPECT_EQ(p.version, 2);
  EXPECT_FALSE(p.fleet_signing_key.has_value());
  EXPECT_TRUE(p.hosts.empty());
  EXPECT_TRUE(p.assignments.empty());
}

TEST(PayloadTest, VersionThreeWithoutTheFleetIsDamaged) {
  const auto v3 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":3,"created":1790000000,"scope":"store",)"
      R"("entries":[],"authorities":[],"deployments":[],"settings":[]})");
  EXPECT_EQ(error_of([&] { (void)decode_payload(v3, "v3"); }).code(), Errc::Damaged);
}

TEST(PayloadTest, VersionTwoWithoutItsSectionsIsDamaged) {
  const auto v2 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":2,"created":1790000000,"entries":[]})");
  EXPECT_EQ(error_of([&] { (void)decode_payload(v2, "v2"); }).code(), Errc::Damaged);
}

TEST(PayloadTest, VersionThreeIsReadWithoutAcme) {
  const auto v3 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":3,"created":1790000000,"scope":"store",)"
      R"("entries":[],"authorities":[],"deployments":[],"settings":[],)"
      R"("fleet":{"signing_key":null,"hosts":[],"assignments":[]}})");
  const BackupPayload p = decode_payload(v3, "v3");
  EXPECT_EQ(p.version, 3);
  EXPECT_TRUE(p.acme_accounts.empty());
  EXPECT_TRUE(p.acme_entries.empty());
}

TEST(PayloadTest, VersionFourWithoutAcmeIsDamaged) {
  const auto v4 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":4,"created":1790000000,"scope":"store",)"
      R"("entries":[],"authorities":[],"deployments":[],"settings":[],)"
      R"("fleet":{"signing_key":null,"hosts":[],"assignments":[]}})");
  EXPECT_EQ(error_of([&] { (void)decode_payload(v4, "v4"); }).code(), Errc::Damaged);
}

TEST(PayloadTest, ANewerVersionIsUnsupported) {
  const auto v5 = as_bytes(
      R"({"format":"keysafe-backup-payload","version":5,"created":1790000000,"entries":[]})");
  const auto e = error_of([&] { (void)decode_payload(v5, "v5"); });
  EXPECT_EQ(e.code(), Errc::Unsupported);
  EXPECT_NE(e.summary().find("newer keysafe"), std::string::npos) << e.summary();
}

// A store with a CA that issued two certificates (one revoked), a deployment and a setting,
// collected into a payload and restored into a second, empty store.
class CompleteRestoreTest : public keysafe::testing::StoreFixture {
 protected:
  CompleteRestoreTest() : StoreFixture(1'780'000'000) {}

  void create_entry(store::Keystore& s, const std::string& name) {
    ops::CreateParams cp;
    cp.name = name;
    cp.dns = {name + ".example.test"};
    cp.now = m_now;
    ops::prepare_create(s, cp);
    (void)ops::create_key(s, cp);
  }

  void SetUp() override {
    StoreFixture::SetUp();
    ops::CaInitParams p;
    p.name = "root";
    p.subject = "CN=Root";
    p.now = m_now;
    (void)ops::ca_init(*m_store, p);
    create_entry(*m_store, "www");
    create_entry(*m_store, "mail");
    ops::IssueOptions o;
    o.now = m_now;
    {
      const auto ca = ops::Authority::open(*m_store, "root");
      (void)ops::ca_sign_key(*m_store, ca, "www", o);
      (void)ops::ca_sign_key(*m_store, ca, "mail", o);
    }
    (void)ops::ca_revoke(*m_store, "root", "mail", std::string("keyCompromise"), m_now + 5);
    (void)ops::ca_crl(*m_store, "root", 7, m_now + 10);
    store::DeploymentRecord d;
    d.key_id = m_store->key_by_name("www")->id;
    d.target_dir = "/srv/www";
    d.layout = "nginx";
    d.files = {{"/srv/www/fullchain.pem", "aa", {}}};
    d.reload_cmd = "true";
    d.certificate_fingerprint = "ff";
    d.deployed_at = m_now + 20;
    m_store->write([&](store::Database& db) { store::save_deployment(db, d); });
    m_store->set_setting("backup_dir", as_span(std::string_view("/var/backups")));

    const std::filesystem::path second = m_dir / "second.db";
    store::Keystore::create(second, as_span(k_passphrase), crypto::KdfParams{10, 8, 1}, m_now);
    m_second.emplace(store::Keystore::open(second));
    m_second->unlock(as_span(k_passphrase));
  }
  void TearDown() override {
    m_second.reset();
    StoreFixture::TearDown();
  }

  std::optional<store::Keystore> m_second;
};

TEST_F(CompleteRestoreTest, AnEmptyStoreGetsEveryRoleDeploymentAndSetting) {
  const auto payload = ops::collect_backup(*m_store, m_store->all_keys(), m_now + 30, true);
  EXPECT_EQ(payload.authorities.size(), 1u);
  EXPECT_EQ(payload.deployments.size(), 1u);
  EXPECT_EQ(payload.settings.size(), 1u);
  const auto decoded = decode_payload(encode_payload(payload), "test");
  const auto plan = ops::plan_restore(*m_second, decoded, "test", false);
  ASSERT_EQ(plan.authorities.size(), 1u);
  EXPECT_EQ(plan.authorities[0].action, "create");
  EXPECT_TRUE(plan.needs_unlock(decoded));
  (void)ops::apply_restore(*m_second, decoded, plan, {"test.kbk", "00ff"}, m_now + 40);

  auto& a = m_store->database();
  auto& b = m_second->database();
  const auto ra = store::authorities(a);
  const auto rb = store::authorities(b);
  ASSERT_EQ(rb.size(), 1u);
  EXPECT_EQ(rb[0].name, "root");
  EXPECT_EQ(rb[0].crl_number, ra[0].crl_number);
  EXPECT_EQ(rb[0].created_at, ra[0].created_at);
  const auto ia = store::issued_by(a, ra[0].key_id);
  const auto ib = store::issued_by(b, rb[0].key_id);
  ASSERT_EQ(ib.size(), 2u);
  for (std::size_t i = 0; i < ia.size(); ++i) {
    EXPECT_EQ(ib[i].serial, ia[i].serial);
    EXPECT_EQ(ib[i].key_name, ia[i].key_name);
    EXPECT_EQ(ib[i].revoked_at, ia[i].revoked_at);
    EXPECT_EQ(ib[i].revocation_reason, ia[i].revocation_reason);
  }
  const auto db = store::deployments(b);
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(db[0].entry, "www");
  EXPECT_EQ(db[0].reload_cmd, std::optional<std::string>("true"));
  EXPECT_EQ(db[0].deployed_at, m_now + 20);
  EXPECT_EQ(m_second->setting("backup_dir"), std::optional<Bytes>(Bytes{
      '/', 'v', 'a', 'r', '/', 'b', 'a', 'c', 'k', 'u', 'p', 's'}));
  // Every restored row carries a valid integrity MAC.
  EXPECT_TRUE(m_second->tampering().empty());
  // One audit event for the whole restore.
  std::size_t restored = 0;
  for (const auto& r : m_second->audit_log())
    if (r.action == "restored") {
      ++restored;
      EXPECT_NE(r.detail.find("sha256 00ff"), std::string::npos) << r.detail;
    }
  EXPECT_EQ(restored, 1u);
  // The next CRL outnumbers the backed-up one and still revokes mail.
  const auto crl = ops::ca_crl(*m_second, "root", 7, m_now + 50);
  EXPECT_GT(crl.crl_number, ra[0].crl_number);
  EXPECT_EQ(crl.revoked, 1u);
}

TEST_F(CompleteRestoreTest, MergingAddsRevocationsAndNeverLowersTheCrlNumber) {
  auto payload = ops::collect_backup(*m_store, m_store->all_keys(), m_now + 30, true);
  // The second store has the CA at a higher CRL number, without mail's revocation.
  auto early = payload;
  early.authorities[0].crl_number = m_now + 1000;
  for (auto& r : early.authorities[0].issued) r.revoked_at.reset();
  const auto p1 = ops::plan_restore(*m_second, early, "early", false);
  (void)ops::apply_restore(*m_second, early, p1, {"early.kbk", "01"}, m_now);
  const auto plan = ops::plan_restore(*m_second, payload, "late", false);
  ASSERT_EQ(plan.authorities.size(), 1u);
  EXPECT_EQ(plan.authorities[0].action, "merge");
  EXPECT_NE(plan.authorities[0].detail.find("1 revocation(s)"), std::string::npos)
      << plan.authorities[0].detail;
  EXPECT_EQ(plan.deployments[0].action, "unchanged");
  EXPECT_EQ(plan.settings[0].action, "unchanged");
  (void)ops::apply_restore(*m_second, payload, plan, {"late.kbk", "02"}, m_now);
  const auto rb = store::authorities(m_second->database());
  EXPECT_EQ(rb[0].crl_number, m_now + 1000);
  std::size_t revoked = 0;
  for (const auto& r : store::issued_by(m_second->database(), rb[0].key_id))
    revoked += r.revoked_at ? 1 : 0;
  EXPECT_EQ(revoked, 1u);
  EXPECT_TRUE(m_second->tampering().empty());
}

TEST_F(CompleteRestoreTest, ATakenTargetAndADifferentSettingAreSkipped) {
  create_entry(*m_second, "other");
  const auto other_id = m_second->key_by_name("other")->id;
  store::DeploymentRecord d;
  d.key_id = other_id;
  d.target_dir = "/srv/www";
  d.layout = "pem";
  d.certificate_fingerprint = "00";
  m_second->write([&](store::Database& db) { store::save_deployment(db, d); });
  m_second->set_setting("backup_dir", as_span(std::string_view("/elsewhere")));
  const auto payload = ops::collect_backup(*m_store, m_store->all_keys(), m_now + 30, true);
  const auto plan = ops::plan_restore(*m_second, payload, "test", false);
  ASSERT_EQ(plan.deployments.size(), 1u);
  EXPECT_EQ(plan.deployments[0].action, "skip");
  EXPECT_NE(plan.deployments[0].detail.find("\"other\""), std::string::npos);
  EXPECT_EQ(plan.settings[0].action, "skip");
  (void)ops::apply_restore(*m_second, payload, plan, {"test.kbk", "03"}, m_now);
  const auto deployed = store::deployment_at(m_second->database(), "/srv/www");
  ASSERT_TRUE(deployed);
  EXPECT_EQ(deployed->entry, "other");
  EXPECT_EQ(m_second->setting("backup_dir"),
            std::optional<Bytes>(Bytes{'/', 'e', 'l', 's', 'e', 'w', 'h', 'e', 'r', 'e'}));
}

TEST_F(CompleteRestoreTest, ANamedBackupOfACaCarriesItsRoleButNoSettings) {
  const auto payload =
      ops::collect_backup(*m_store, ops::select_entries(*m_store, {"root"}, false), m_now);
  EXPECT_EQ(payload.scope, "entries");
  ASSERT_EQ(payload.authorities.size(), 1u);
  EXPECT_EQ(payload.authorities[0].issued.size(), 2u);
  EXPECT_TRUE(payload.settings.empty());
  EXPECT_TRUE(payload.deployments.empty());  // the root itself is deployed nowhere
}

TEST_F(CompleteRestoreTest, ARoleWhoseEntryIsNotInTheBackupIsDamaged) {
  auto payload = ops::collect_backup(*m_store, m_store->all_keys(), m_now, true);
  payload.authorities[0].entry = "missing";
  EXPECT_EQ(error_of([&] { (void)ops::plan_restore(*m_second, payload, "test", false); }).code(),
            Errc::Damaged);
}

}  // namespace
}  // namespace keysafe::backup
