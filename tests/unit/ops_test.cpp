// Unit tests of keysafe::ops: days, clock, entry names, and create + install end to end.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "keysafe/error.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/names.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ops/delete.hpp"
#include "keysafe/ops/install.hpp"
#include "keysafe/ops/inventory.hpp"
#include "keysafe/ops/key_file.hpp"
#include "keysafe/shell_word.hpp"
#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/public_key.hpp"
#include "key_test_support.hpp"
#include "store_fixture.hpp"

namespace keysafe::ops {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t k_day = 86400;
using keysafe::testing::add_ext;
using keysafe::testing::der_sha256_hex;
using keysafe::testing::error_of;
using keysafe::testing::evp_sha256_hex;
using keysafe::testing::independent_spki_sha256;
using keysafe::testing::pem_of;

Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

ossl::Req parse_request_pem(const std::string& pem) {
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return ossl::Req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
}

// A small CA made with OpenSSL's APIs: a self-signed root and certificates it signs.
class TestCa {
 public:
  explicit TestCa(std::int64_t now) : m_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")) {
    m_cert.reset(X509_new());
    X509* c = m_cert.get();
    X509_set_version(c, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("Ops Test Root CA"), -1, -1,
                               0);
    X509_set_issuer_name(c, X509_get_subject_name(c));
    ASN1_TIME_set(X509_getm_notBefore(c), static_cast<time_t>(now - 365 * k_day));
    ASN1_TIME_set(X509_getm_notAfter(c), static_cast<time_t>(now + 3650 * k_day));
    X509_set_pubkey(c, m_key.get());
    add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(c, c, NID_subject_key_identifier, "hash");
    EXPECT_GT(X509_sign(c, m_key.get(), EVP_sha256()), 0);
  }

  X509* cert() const { return m_cert.get(); }

  // A server certificate for `key`, valid from `not_before` to `not_after`.
  ossl::Cert issue(EVP_PKEY* key, const std::string& dns, std::int64_t not_before,
                   std::int64_t not_after) {
    ossl::Cert cert(X509_new());
    X509* c = cert.get();
    X509_set_version(c, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(c), ++m_serial);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(dns.c_str()), -1, -1, 0);
    X509_set_issuer_name(c, X509_get_subject_name(m_cert.get()));
    ASN1_TIME_set(X509_getm_notBefore(c), static_cast<time_t>(not_before));
    ASN1_TIME_set(X509_getm_notAfter(c), static_cast<time_t>(not_after));
    X509_set_pubkey(c, key);
    add_ext(c, m_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c, m_cert.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(c, m_cert.get(), NID_ext_key_usage, "serverAuth");
    add_ext(c, m_cert.get(), NID_authority_key_identifier, "keyid:always");
    add_ext(c, m_cert.get(), NID_subject_alt_name, ("DNS:" + dns).c_str());
    EXPECT_GT(X509_sign(c, m_key.get(), EVP_sha256()), 0);
    return cert;
  }

 private:
  ossl::PKey m_key;
  ossl::Cert m_cert;
  long m_serial = 100;
};

// ---------------------------------------------------------------------------------------------
// Pure functions

TEST(ParseDays, Accepts) {
  EXPECT_EQ(parse_days("30"), 30);
  EXPECT_EQ(parse_days("30d"), 30);
  EXPECT_EQ(parse_days("30D"), 30);
  EXPECT_EQ(parse_days("0"), 0);
  EXPECT_EQ(parse_days("0d"), 0);
  EXPECT_EQ(parse_days("36500"), 36500);
}

TEST(ParseDays, Rejects) {
  for (const char* bad : {"-1", "x", "30days", "", "d", "3 0", " 30", "30 ", "+30", "30dd",
                          "1.5", "36501", "99999999999999999999", "0x10"}) {
    const Error e = error_of([&] { (void)parse_days(bad); });
    EXPECT_EQ(e.code(), Errc::Usage) << "\"" << bad << "\"";
  }
}

// The one quoting helper behind every printed fix command (keysafe::shell_quote): plain words
// stay readable, anything else comes back from /bin/sh as the exact same word.
TEST(ShellQuote, PlainWordsStayAndTheRestSurvivesTheShell) {
  EXPECT_EQ(shell_quote("www.example.com"), "www.example.com");
  EXPECT_EQ(shell_quote("/var/lib/keysafe/keys.db"), "/var/lib/keysafe/keys.db");
  EXPECT_EQ(shell_quote("user@host:a,b+c=d%e-f_g"), "user@host:a,b+c=d%e-f_g");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("my keys.db"), "'my keys.db'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  for (const std::string word : {"", "a b", "it's", "$HOME", "`id`", "*", "~root", "a;b|c&d",
                                 "\"quoted\"", "back\\slash", "new\nline", "--store", "-"}) {
    std::FILE* sh = ::popen(("printf '%s' " + shell_quote(word)).c_str(), "r");
    ASSERT_NE(sh, nullptr);
    std::string got;
    char buf[256];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, sh)) > 0;) got.append(buf, n);
    EXPECT_EQ(::pclose(sh), 0) << word;
    EXPECT_EQ(got, word) << shell_quote(word);
  }
}

TEST(Clock, FormatRfc3339) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(1'700'000'000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(format_rfc3339(951'782'400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(format_rfc3339(4'102'444'799), "2099-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
}

TEST(Clock, NowIsNow) {
  const auto t = static_cast<std::int64_t>(std::time(nullptr));
  EXPECT_LE(std::llabs(now_unix() - t), 2);
}

TEST(Clock, DaysLeftAsAPersonCounts) {
  const std::int64_t now = 1'700'000'000;
  // Made a few seconds ago with --days 20: 20 days left, not 19.
  EXPECT_EQ(days_left(now, now + 20 * k_day - 5), 20);
  EXPECT_EQ(days_left(now, now + 20 * k_day), 20);
  EXPECT_EQ(days_left(now, now + 30 * k_day + 3 * 3600), 30);
  EXPECT_EQ(days_left(now, now + 30 * k_day - 11 * 3600), 30);
  EXPECT_EQ(days_left(now, now + 30 * k_day - 13 * 3600), 29);
  EXPECT_EQ(days_left(now, now + k_day), 1);
  EXPECT_EQ(days_left(now, now + k_day / 2), 1);
  EXPECT_EQ(days_left(now, now + k_day / 2 - 1), 0);
  EXPECT_EQ(days_left(now, now), 0);
  // Negative once past, to the nearest day too.
  EXPECT_EQ(days_left(now, now - 1), 0);
  EXPECT_EQ(days_left(now, now - k_day / 2 - 1), -1);
  EXPECT_EQ(days_left(now, now - k_day), -1);
  EXPECT_EQ(days_left(now, now - 10 * k_day), -10);
  EXPECT_EQ(days_left(now, now - 10 * k_day - 13 * 3600), -11);
}

TEST(EntryName, Valid) {
  for (const std::string& ok :
       {std::string("www.example.com"), std::string("a"), std::string("A_b-c.9"),
        std::string("9lives"), std::string(64, 'x'), std::string("_acme")}) {
    EXPECT_NO_THROW(validate_entry_name(ok)) << ok;
  }
}

TEST(EntryName, Invalid) {
  for (const std::string& bad :
       {std::string(""), std::string(65, 'x'), std::string("-a"), std::string(".a"),
        std::string("a b"), std::string("a/b"), std::string("../etc"), std::string("a*"),
        std::string("caf\xc3\xa9"), std::string("a\nb"), std::string("a:b")}) {
    const Error e = error_of([&] { validate_entry_name(bad); });
    EXPECT_EQ(e.code(), Errc::Usage) << bad;
  }
}

// One rule for entry, host (63: the role name's room) and ACME account names.
TEST(SimpleName, OneRuleWithEachLimit) {
  EXPECT_TRUE(keysafe::is_simple_name(std::string(63, 'h'), 63));
  EXPECT_FALSE(keysafe::is_simple_name(std::string(64, 'h'), 63));
  EXPECT_TRUE(keysafe::is_simple_name("le-staging_2.acct", 64));
  EXPECT_FALSE(keysafe::is_simple_name(std::string("a\0b", 3), 64));
  EXPECT_FALSE(keysafe::is_simple_name(".acct", 64));  // an account name once allowed this
  EXPECT_FALSE(keysafe::is_simple_name("acct/..", 64));
}

// ---------------------------------------------------------------------------------------------
// Create and install, in process, against a store in a fresh temporary directory

class OpsStore : public keysafe::testing::StoreFixture {
 protected:
  OpsStore() : StoreFixture(now_unix()) {}

  void SetUp() override {
    StoreFixture::SetUp();
    m_ca_file = m_dir / "root.pem";
    std::ofstream(m_ca_file) << pem_of(m_ca.cert());
  }

  CreateResult create(const std::string& name, std::vector<std::string> dns,
                      x509::KeyAlgorithm alg = x509::KeyAlgorithm::EcP256) {
    CreateParams p;
    p.name = name;
    p.dns = std::move(dns);
    p.subject = "O=Example Ltd,C=GB";
    p.algorithm = alg;
    p.now = m_now;
    prepare_create(*m_store, p);
    return create_key(*m_store, p);
  }

  // The CA's certificate for the public key in `request_pem`.
  ossl::Cert issue_for(const std::string& request_pem, const std::string& dns,
                       std::int64_t not_before, std::int64_t not_after) {
    const ossl::Req req = parse_request_pem(request_pem);
    EXPECT_TRUE(req);
    return m_ca.issue(X509_REQ_get0_pubkey(req.get()), dns, not_before, not_after);
  }

  InstallResult install_pem(const std::string& pem, bool with_ca_file = true) {
    const auto input = formats::read_input(bytes_of(pem), "issued.pem");
    InstallOptions options;
    if (with_ca_file) options.ca_file = m_ca_file;
    options.now = m_now;
    return install_certificate(*m_store, input, "issued.pem", options);
  }

  fs::path m_ca_file;
  TestCa m_ca{now_unix()};
};

// delete's policy (ops, not the command): the only copy of a key is not deleted without force.
TEST_F(OpsStore, DeleteRefusesTheOnlyCopyOfAKeyWithoutForce) {
  (void)create("pend", {"pend.example"});
  const auto pending = error_of([&] { (void)delete_entry(*m_store, "pend", false); });
  EXPECT_EQ(pending.code(), Errc::Refused);
  EXPECT_NE(pending.summary().find("its request is pending"), std::string::npos) << pending.summary();
  const auto created = create("www", {"www.example"});
  (void)install_pem(pem_of(issue_for(created.request_pem, "www.example", m_now - 60, m_now + 30 * 86400).get()));
  const auto no_backup = error_of([&] { (void)delete_entry(*m_store, "www", false); });
  EXPECT_EQ(no_backup.code(), Errc::Refused);
  EXPECT_NE(no_backup.summary().find("no verified backup"), std::string::npos) << no_backup.summary();
  EXPECT_NE(no_backup.remedy().find("keysafe backup www"), std::string::npos) << no_backup.remedy();
  EXPECT_TRUE(m_store->key_by_name("pend") && m_store->key_by_name("www"));
  EXPECT_EQ(error_of([&] { (void)delete_entry(*m_store, "nosuch", true); }).code(), Errc::NotFound);
  const auto deleted = delete_entry(*m_store, "www", true);
  EXPECT_EQ(deleted.name, "www");
  EXPECT_TRUE(deleted.had_private_key);
  EXPECT_FALSE(m_store->key_by_name("www"));
}

// passwd --add-key-file (ops): a 0600 file that unlocks the store; never over an existing path.
TEST_F(OpsStore, AddKeyFileCreatesAFileThatUnlocks) {
  const fs::path file = m_dir / "unlock.key";
  add_key_file(*m_store, file, m_now);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NO_THROW(m_store->unlock_with_key_file(read_key_file(file)));
  fs::create_symlink(m_dir / "nowhere", m_dir / "dangling.key");
  EXPECT_EQ(error_of([&] { add_key_file(*m_store, m_dir / "dangling.key", m_now); }).code(),
            Errc::AlreadyExists);
  EXPECT_EQ(error_of([&] { add_key_file(*m_store, file, m_now); }).code(), Errc::AlreadyExists);
}

TEST_F(OpsStore, PrepareCreateNormalizesAndChecks) {
  CreateParams p;
  p.name = "site";
  p.dns = {"WWW.Example.COM.", "www.example.com", "example.com"};
  p.ip = {"2001:DB8::1", "2001:db8:0::1"};
  prepare_create(*m_store, p);
  EXPECT_EQ(p.dns, (std::vector<std::string>{"www.example.com", "example.com"}));
  EXPECT_EQ(p.ip, std::vector<std::string>{"2001:db8::1"});

  CreateParams none;
  none.name = "nothing";
  EXPECT_EQ(error_of([&] { prepare_create(*m_store, none); }).code(), Errc::Usage);
  CreateParams bad_name;
  bad_name.name = "-x";
  bad_name.dns = {"x.example"};
  EXPECT_EQ(error_of([&] { prepare_create(*m_store, bad_name); }).code(), Errc::Usage);
  CreateParams bad_subject;
  bad_subject.name = "x";
  bad_subject.dns = {"x.example"};
  bad_subject.subject = "Nonsense=1";
  EXPECT_EQ(error_of([&] { prepare_create(*m_store, bad_subject); }).code(), Errc::Usage);

  (void)create("taken", {"taken.example"});
  CreateParams again;
  again.name = "taken";
  again.dns = {"other.example"};
  EXPECT_EQ(error_of([&] { prepare_create(*m_store, again); }).code(), Errc::AlreadyExists);
}

TEST_F(OpsStore, CreateKeyStoresKeyAndVerifiableRequest) {
  const CreateResult r = create("www", {"www.example.com", "example.com"});
  EXPECT_EQ(r.name, "www");
  EXPECT_EQ(r.algorithm, "ec-p256");
  EXPECT_EQ(r.subject, "CN=www.example.com,O=Example Ltd,C=GB");

  const ossl::Req req = parse_request_pem(r.request_pem);
  ASSERT_TRUE(req);
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req.get());
  EXPECT_EQ(X509_REQ_verify(req.get(), pub), 1);
  unsigned char* spki = nullptr;
  const int spki_len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req.get()), &spki);
  EXPECT_EQ(r.spki_sha256, evp_sha256_hex(spki, static_cast<std::size_t>(spki_len)));
  OPENSSL_free(spki);

  EXPECT_EQ(stored_request_pem(*m_store, "www"), r.request_pem);
  EXPECT_EQ(error_of([&] { (void)stored_request_pem(*m_store, "nope"); }).code(), Errc::NotFound);

  const auto key = m_store->key_by_name("www");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->spki_sha256, r.spki_sha256);
  // The sealed private key is the request's key.
  const SecureBytes pkcs8 = m_store->open_private_key(*key);
  const unsigned char* p = pkcs8.data();
  ossl::PKey priv(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8.size())));
  ASSERT_TRUE(priv);
  EXPECT_EQ(EVP_PKEY_eq(priv.get(), pub), 1);

  const EntryView v = show_entry(*m_store, "www", m_now);
  EXPECT_EQ(v.state, "pending");
  EXPECT_EQ(v.dns, (std::vector<std::string>{"www.example.com", "example.com"}));
  EXPECT_EQ(v.certificate_count, 0);
}

TEST_F(OpsStore, InstallEndToEnd) {
  const CreateResult r = create("shop", {"shop.example.com"});
  const ossl::Cert cert = issue_for(r.request_pem, "shop.example.com", m_now - k_day,
                                    m_now + 90 * k_day);
  // The CA's file holds the leaf and the root; the root is also named with --ca-file.
  const InstallResult res = install_pem(pem_of(cert.get()) + pem_of(m_ca.cert()));
  EXPECT_EQ(res.name, "shop");
  EXPECT_FALSE(res.already_installed);
  EXPECT_TRUE(res.became_current);
  EXPECT_FALSE(res.replaced_fingerprint.has_value());
  EXPECT_TRUE(res.chain_trusted) << res.chain_problem;
  EXPECT_TRUE(res.chain_problem.empty());
  EXPECT_EQ(res.chain_length, 1u);
  EXPECT_TRUE(res.warnings.empty()) << res.warnings.front();
  EXPECT_EQ(res.certificate.fingerprint_sha256, der_sha256_hex(cert.get()));
  EXPECT_EQ(res.certificate.spki_sha256, r.spki_sha256);

  const EntryView v = show_entry(*m_store, "shop", m_now);
  EXPECT_EQ(v.state, "installed");
  EXPECT_EQ(v.fingerprint_sha256, std::optional<std::string>(der_sha256_hex(cert.get())));
  EXPECT_EQ(v.days_left, std::optional<std::int64_t>(90));
  EXPECT_EQ(v.certificate_count, 1);
  EXPECT_EQ(v.chain_trusted, std::optional<bool>(true));
  EXPECT_EQ(v.issuer, std::optional<std::string>("CN=Ops Test Root CA"));
  const auto key = m_store->key_by_name("shop");
  ASSERT_TRUE(key.has_value());
  const auto history = m_store->certificates_of(key->id);
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(m_store->chain_of(history[0].id).size(), 1u);

  const auto expiring = list_entries(*m_store, m_now, 30);
  EXPECT_TRUE(expiring.empty());
  EXPECT_EQ(list_entries(*m_store, m_now, 90).size(), 1u);
}

TEST_F(OpsStore, InstallWithoutTrustAnchorWarns) {
  const CreateResult r = create("untrusted", {"untrusted.example"});
  const ossl::Cert cert =
      issue_for(r.request_pem, "untrusted.example", m_now - k_day, m_now + 30 * k_day);
  const InstallResult res = install_pem(pem_of(cert.get()), false);
  EXPECT_TRUE(res.became_current);
  EXPECT_FALSE(res.chain_trusted);
  EXPECT_FALSE(res.chain_problem.empty());
  ASSERT_FALSE(res.warnings.empty());
  EXPECT_NE(res.warnings.front().find("CN=Ops Test Root CA"), std::string::npos)
      << res.warnings.front();
}

TEST_F(OpsStore, CertificateOfAnotherKeyIsKeyNotFound) {
  (void)create("mine", {"mine.example"});
  ossl::PKey other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const ossl::Cert cert = m_ca.issue(other.get(), "mine.example", m_now - k_day, m_now + 30 * k_day);
  const std::string spki = independent_spki_sha256(cert.get());
  const Error e = error_of([&] { (void)install_pem(pem_of(cert.get())); });
  EXPECT_EQ(e.code(), Errc::KeyNotFound);
  EXPECT_NE(e.cause().find(spki), std::string::npos) << e.cause();
  EXPECT_NE(e.cause().find("only the public key"), std::string::npos) << e.cause();
  // The stored key made for the same name is pointed at.
  EXPECT_NE(e.cause().find("\"mine\""), std::string::npos) << e.cause();
  const auto key = m_store->key_by_name("mine");
  ASSERT_TRUE(key.has_value());
  EXPECT_TRUE(m_store->certificates_of(key->id).empty());
}

TEST_F(OpsStore, KeyNotFoundReportsTheLeafNotTheCa) {
  (void)create("leafcheck", {"leafcheck.example"});
  ossl::PKey other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const ossl::Cert cert =
      m_ca.issue(other.get(), "leafcheck.example", m_now - k_day, m_now + 30 * k_day);
  // The CA certificate comes first in the file; the diagnosis is about the end-entity one.
  const Error e =
      error_of([&] { (void)install_pem(pem_of(m_ca.cert()) + pem_of(cert.get())); });
  EXPECT_EQ(e.code(), Errc::KeyNotFound);
  EXPECT_NE(e.cause().find(independent_spki_sha256(cert.get())), std::string::npos) << e.cause();
  EXPECT_EQ(e.cause().find(independent_spki_sha256(m_ca.cert())), std::string::npos) << e.cause();
}

TEST_F(OpsStore, CertificatesOfTwoStoredKeysInOneFileAreRefused) {
  const CreateResult a = create("one", {"one.example"});
  const CreateResult b = create("two", {"two.example"});
  const ossl::Cert ca_ = issue_for(a.request_pem, "one.example", m_now - k_day, m_now + k_day * 9);
  const ossl::Cert cb = issue_for(b.request_pem, "two.example", m_now - k_day, m_now + k_day * 9);
  const Error e = error_of([&] { (void)install_pem(pem_of(ca_.get()) + pem_of(cb.get())); });
  EXPECT_EQ(e.code(), Errc::BadInput);
  for (const char* name : {"one", "two"}) {
    const auto key = m_store->key_by_name(name);
    ASSERT_TRUE(key.has_value());
    EXPECT_TRUE(m_store->certificates_of(key->id).empty()) << name;
  }
}

// `cat cert.pem fullchain.pem > bundle.pem` repeats the leaf: it is still one certificate
// of one stored key.
TEST_F(OpsStore, RepeatedLeafInTheFileIsOneCertificate) {
  const CreateResult r = create("dup", {"dup.example"});
  const ossl::Cert cert = issue_for(r.request_pem, "dup.example", m_now - k_day, m_now + 9 * k_day);
  try {
    const InstallResult res =
        install_pem(pem_of(cert.get()) + pem_of(cert.get()) + pem_of(m_ca.cert()));
    EXPECT_EQ(res.name, "dup");
    EXPECT_TRUE(res.became_current);
    EXPECT_EQ(res.certificate.fingerprint_sha256, der_sha256_hex(cert.get()));
  } catch (const Error& e) {
    ADD_FAILURE() << "refused: " << e.summary() << " / " << e.cause();
  }
}

TEST_F(OpsStore, UnrelatedCertificatesInTheFileAreNotStored) {
  const CreateResult r = create("extra", {"extra.example"});
  const ossl::Cert cert = issue_for(r.request_pem, "extra.example", m_now - k_day, m_now + 9 * k_day);
  ossl::PKey other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  const ossl::Cert stranger = m_ca.issue(other.get(), "stranger.example", m_now - k_day,
                                         m_now + 9 * k_day);
  const InstallResult res =
      install_pem(pem_of(stranger.get()) + pem_of(cert.get()) + pem_of(m_ca.cert()));
  EXPECT_EQ(res.name, "extra");
  EXPECT_TRUE(res.chain_trusted) << res.chain_problem;
  EXPECT_EQ(res.chain_length, 1u);
  bool warned = false;
  for (const auto& w : res.warnings) warned = warned || w.find("not on this") != std::string::npos;
  EXPECT_TRUE(warned);
  const auto key = m_store->key_by_name("extra");
  ASSERT_TRUE(key.has_value());
  const auto history = m_store->certificates_of(key->id);
  ASSERT_EQ(history.size(), 1u);
  const auto chain = m_store->chain_of(history[0].id);
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(chain[0], x509::certificate_der(m_ca.cert()));
}

TEST_F(OpsStore, RequestIsNotACertificate) {
  const CreateResult r = create("req", {"req.example"});
  const Error own = error_of([&] { (void)install_pem(r.request_pem); });
  EXPECT_EQ(own.code(), Errc::RequestNotCertificate);
  EXPECT_NE(own.cause().find(r.spki_sha256), std::string::npos) << own.cause();

  // A request for a key the store does not hold.
  ossl::PKey other(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ossl::Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("foreign.example"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), other.get());
  ASSERT_GT(X509_REQ_sign(req.get(), other.get(), EVP_sha256()), 0);
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  const Error foreign = error_of([&] { (void)install_pem(std::string(p, static_cast<std::size_t>(n))); });
  EXPECT_EQ(foreign.code(), Errc::RequestNotCertificate);
  EXPECT_NE(foreign.cause().find("only the public key"), std::string::npos) << foreign.cause();
}

TEST_F(OpsStore, PrivateKeyFileIsBadInput) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  const Error e =
      error_of([&] { (void)install_pem(std::string(p, static_cast<std::size_t>(n))); });
  EXPECT_EQ(e.code(), Errc::BadInput);
}

TEST_F(OpsStore, SecondInstallIsAlreadyInstalled) {
  const CreateResult r = create("twice", {"twice.example"});
  const ossl::Cert cert = issue_for(r.request_pem, "twice.example", m_now - k_day, m_now + 30 * k_day);
  const InstallResult first = install_pem(pem_of(cert.get()));
  EXPECT_FALSE(first.already_installed);
  const InstallResult second = install_pem(pem_of(cert.get()));
  EXPECT_TRUE(second.already_installed);
  EXPECT_TRUE(second.became_current);
  EXPECT_TRUE(second.chain_trusted);
  EXPECT_EQ(second.name, "twice");
  const auto key = m_store->key_by_name("twice");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(m_store->certificates_of(key->id).size(), 1u);
}

TEST_F(OpsStore, RenewalReplacesAndKeepsHistory) {
  const CreateResult r = create("renew", {"renew.example"});
  const ossl::Cert old_cert =
      issue_for(r.request_pem, "renew.example", m_now - 60 * k_day, m_now + 30 * k_day);
  const ossl::Cert new_cert =
      issue_for(r.request_pem, "renew.example", m_now - k_day, m_now + 90 * k_day);
  const InstallResult a = install_pem(pem_of(old_cert.get()));
  EXPECT_TRUE(a.became_current);
  const InstallResult b = install_pem(pem_of(new_cert.get()));
  EXPECT_FALSE(b.already_installed);
  EXPECT_TRUE(b.became_current);
  ASSERT_TRUE(b.replaced_fingerprint.has_value());
  EXPECT_EQ(*b.replaced_fingerprint, der_sha256_hex(old_cert.get()));

  const auto key = m_store->key_by_name("renew");
  ASSERT_TRUE(key.has_value());
  const auto history = m_store->certificates_of(key->id);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].fingerprint_sha256, der_sha256_hex(old_cert.get()));
  EXPECT_EQ(history[1].fingerprint_sha256, der_sha256_hex(new_cert.get()));
  const auto e = m_store->entry("renew");
  ASSERT_TRUE(e.has_value() && e->current.has_value());
  EXPECT_EQ(e->current->fingerprint_sha256, der_sha256_hex(new_cert.get()));
  EXPECT_EQ(e->certificate_count, 2);
}

TEST_F(OpsStore, OlderCertificateInstalledLaterStaysInHistory) {
  const CreateResult r = create("order", {"order.example"});
  const ossl::Cert newer =
      issue_for(r.request_pem, "order.example", m_now - k_day, m_now + 90 * k_day);
  const ossl::Cert older =
      issue_for(r.request_pem, "order.example", m_now - 60 * k_day, m_now + 30 * k_day);
  const InstallResult a = install_pem(pem_of(newer.get()));
  EXPECT_TRUE(a.became_current);
  const InstallResult b = install_pem(pem_of(older.get()));
  EXPECT_FALSE(b.already_installed);
  EXPECT_FALSE(b.became_current);
  EXPECT_FALSE(b.replaced_fingerprint.has_value());
  EXPECT_FALSE(b.warnings.empty());

  const auto e = m_store->entry("order");
  ASSERT_TRUE(e.has_value() && e->current.has_value());
  EXPECT_EQ(e->current->fingerprint_sha256, der_sha256_hex(newer.get()));
  EXPECT_EQ(e->certificate_count, 2);
}

TEST_F(OpsStore, ExpiredCertificateInstallsWithWarningAndShowsExpired) {
  const CreateResult r = create("old", {"old.example"});
  const ossl::Cert cert =
      issue_for(r.request_pem, "old.example", m_now - 100 * k_day, m_now - 10 * k_day);
  const InstallResult res = install_pem(pem_of(cert.get()));
  EXPECT_TRUE(res.became_current);
  bool warned = false;
  for (const auto& w : res.warnings) warned = warned || w.find("expired") != std::string::npos;
  EXPECT_TRUE(warned);
  const EntryView v = show_entry(*m_store, "old", m_now);
  EXPECT_EQ(v.state, "expired");
  EXPECT_EQ(v.days_left, std::optional<std::int64_t>(-10));
  EXPECT_EQ(list_entries(*m_store, m_now, 0).size(), 1u);
}

TEST_F(OpsStore, ShowUnknownNameSuggestsSimilar) {
  (void)create("www.example.com", {"www.example.com"});
  const Error e = error_of([&] { (void)show_entry(*m_store, "example", m_now); });
  EXPECT_EQ(e.code(), Errc::NotFound);
  EXPECT_NE(e.cause().find("\"www.example.com\""), std::string::npos) << e.cause();
}

TEST_F(OpsStore, Ed25519KeyEndToEnd) {
  const CreateResult r = create("ed", {"ed.example"}, x509::KeyAlgorithm::Ed25519);
  EXPECT_EQ(r.algorithm, "ed25519");
  const ossl::Cert cert = issue_for(r.request_pem, "ed.example", m_now - k_day, m_now + 30 * k_day);
  const InstallResult res = install_pem(pem_of(cert.get()));
  EXPECT_EQ(res.name, "ed");
  EXPECT_TRUE(res.chain_trusted) << res.chain_problem;
  EXPECT_EQ(res.certificate.key_algorithm, "ed25519");
}

}  // namespace
}  // namespace keysafe::ops
