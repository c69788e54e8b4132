// Unit tests of read_pkcs12/write_pkcs12: the corpus, fuzz inputs, and peer tools as judges.
#include "keysafe/formats/pkcs12.hpp"

#include "key_test_support.hpp"
#include "keysafe/formats/private_key.hpp"

namespace keysafe::formats {
namespace {

using namespace keysafe::testing;

constexpr const char* k_password = "Test-Pass_42";

std::optional<Error> read_error(const Bytes& data, std::string_view source,
                                const std::optional<SecureBytes>& password) {
  try {
    (void)read_pkcs12(data, source, password);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

Pkcs12Contents read_ok(const Bytes& data, std::string_view source,
                       const std::optional<SecureBytes>& password) {
  try {
    return read_pkcs12(data, source, password);
  } catch (const Error& e) {
    ADD_FAILURE() << "rejected: " << errc_name(e.code()) << ": " << e.summary() << " / "
                  << e.cause();
    return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Every pkcs12/ row of the corpus manifest

class Pkcs12Row : public ::testing::TestWithParam<ManifestRow> {};

TEST_P(Pkcs12Row, MatchesManifest) {
  const ManifestRow& row = GetParam();
  const Bytes data = read_bytes(k_corpus / row.file);
  ASSERT_FALSE(data.empty());
  ERR_clear_error();
  const auto password = row.password_bytes();

  if (row.expected == "error") {
    expect_refused_as_listed(row, read_error(data, row.file, password));
    return;
  }
  ASSERT_TRUE(row.expected == "ok" || row.expected == "weak") << row.expected;
  const Pkcs12Contents contents = read_ok(data, row.file, password);
  EXPECT_EQ(static_cast<int>(contents.keys.size()), row.count("keys")) << row.contents;
  EXPECT_EQ(static_cast<int>(contents.certs.size()), row.count("certs")) << row.contents;
  bool weak = false;
  for (const auto& key : contents.keys) weak = weak || weak_key_reason(key.key.get()).has_value();
  EXPECT_EQ(weak, row.expected == "weak");
  const bool no_mac = contains(row.note, "NO MAC");
  EXPECT_EQ(contents.mac_present, !no_mac);
  EXPECT_EQ(std::count(contents.warnings.begin(), contents.warnings.end(),
                       "integrity could not be checked (no MAC)"),
            no_mac ? 1 : 0);
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

INSTANTIATE_TEST_SUITE_P(Manifest, Pkcs12Row, ::testing::ValuesIn(manifest_rows("pkcs12/")),
                         row_name);

TEST(Pkcs12Corpus, ManifestCoversEveryFile) {
  const auto rows = manifest_rows("pkcs12/");
  ASSERT_GE(rows.size(), 30u);
  for (const auto& entry : std::filesystem::directory_iterator(k_corpus / "pkcs12")) {
    const std::string rel = std::filesystem::relative(entry.path(), k_corpus).string();
    EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.file == rel; }))
        << rel << " has no manifest row";
  }
}

// Every fuzz input, with no password, an empty one and a real one: never a crash.
TEST(Pkcs12Corpus, FuzzInputsNeverCrash) {
  std::size_t n = 0;
  for (const auto& path : fuzz_files()) {
    const Bytes data = read_bytes(path);
    (void)looks_like_pkcs12(data);
    for (const auto& password : {std::optional<SecureBytes>{}, std::optional(SecureBytes{}),
                                 std::optional(secret("password"))}) {
      try {
        (void)read_pkcs12(data, path.filename().string(), password);
      } catch (const Error& e) {
        EXPECT_FALSE(e.summary().empty());
      }
      EXPECT_EQ(ERR_peek_error(), 0ul) << path;
      ERR_clear_error();
    }
    ++n;
  }
  EXPECT_GE(n, 60u);
}

// ---------------------------------------------------------------------------------------------
// Particular corpus files

TEST(ReadPkcs12, FriendlyNamesAreUtf8) {
  const auto c = read_ok(read_bytes(k_corpus / "pkcs12/pyca-name-unicode-no-pwd.p12"), "u", {});
  ASSERT_EQ(c.keys.size(), 1u);
  ASSERT_EQ(c.certs.size(), 3u);
  // U+263A needs three UTF-8 bytes as the last character: OpenSSL 3.0's own
  // PKCS12_get_friendlyname fails on exactly that.
  EXPECT_EQ(c.keys[0].friendly_name, "\u263A");
  EXPECT_EQ(c.certs[0].friendly_name, "\u263A");
  EXPECT_EQ(c.certs[1].friendly_name, "\u00E4");
  EXPECT_EQ(c.certs[2].friendly_name, "\u00E7");
  EXPECT_FALSE(c.keys[0].local_key_id.empty());
  EXPECT_EQ(c.keys[0].local_key_id, c.certs[0].local_key_id);

  const auto named = read_ok(read_bytes(k_corpus / "pkcs12/pyca-name-all-pwd.p12"), "n",
                             secret("password"));
  ASSERT_EQ(named.certs.size(), 3u);
  EXPECT_EQ(named.keys.at(0).friendly_name, "name");
  EXPECT_EQ(named.certs[0].friendly_name, "name");
  EXPECT_EQ(named.certs[1].friendly_name, "name2");
  EXPECT_EQ(named.certs[2].friendly_name, "name3");
}

TEST(ReadPkcs12, MacAlgorithmIsReported) {
  EXPECT_EQ(read_ok(read_bytes(k_corpus / "pkcs12/sslmate-example_com_aescbc128.p12"), "s",
                    secret("rHyQTJsubhfxcpH5JttyilHE6BBsNoZp"))
                .mac_algorithm,
            "sha256");
  EXPECT_EQ(read_ok(read_bytes(k_corpus / "pkcs12/nist-pkits-ValidCertificatePathTest1EE.p12"),
                    "n", secret("password"))
                .mac_algorithm,
            "sha1");
}

TEST(ReadPkcs12, NullOnlyMacFilesOpenWithAnEmptyPasswordToo) {
  // Windows computes the MAC over an absent password; a user who types "" means the same.
  for (const char* file : {"pkcs12/windows-azure-tools.p12", "pkcs12/pyca-no-password.p12"}) {
    const auto c = read_ok(read_bytes(k_corpus / file), file, SecureBytes{});
    EXPECT_EQ(c.keys.size(), 1u) << file;
  }
}

TEST(ReadPkcs12, MissingPasswordSaysSo) {
  const auto err = read_error(read_bytes(k_corpus / "pkcs12/pyca-cert-key-aes256cbc.p12"), "f.p12",
                              std::nullopt);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::FilePassword);
  EXPECT_TRUE(contains(err->summary(), "needs a password")) << err->summary();
}

TEST(ReadPkcs12, WrongPasswordSaysSo) {
  const auto err = read_error(read_bytes(k_corpus / "pkcs12/windows-My.pfx"), "my.pfx",
                              secret("1234"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::FilePassword);
  EXPECT_TRUE(contains(err->summary(), "wrong password")) << err->summary();
  EXPECT_EQ(err->summary().find("\"my.pfx\""), 0u) << err->summary();
}

TEST(ReadPkcs12, Pbmac1IsAnUnsupportedMacNotAWrongPassword) {
  for (const char* password : {"1234", "not-it"}) {
    const auto err = read_error(read_bytes(k_corpus / "pkcs12/rfc9579-a1-pbmac1-sha256.p12"),
                                "p.p12", secret(password));
    ASSERT_TRUE(err);
    EXPECT_EQ(err->code(), Errc::Unsupported);
    EXPECT_TRUE(contains(err->summary(), "unsupported MAC algorithm")) << err->summary();
    EXPECT_TRUE(contains(err->summary() + err->cause(), "PBMAC1"));
    EXPECT_TRUE(contains(err->cause(), "OpenSSL 3.0")) << err->cause();
  }
}

TEST(ReadPkcs12, GostIsNamed) {
  const auto err = read_error(read_bytes(k_corpus / "pkcs12/bc-gost.p12"), "g.p12", secret("1"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::Unsupported);
  EXPECT_TRUE(contains(err->cause(), "GOST")) << err->cause();
}

TEST(ReadPkcs12, JavaKeystoreIsNamedWithTheConversion) {
  const auto err = read_error(read_bytes(k_corpus / "pkcs12/java-jks-not-pkcs12.jks"), "s.jks",
                              secret("jkstest"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::BadInput);
  EXPECT_TRUE(contains(err->summary(), "JKS")) << err->summary();
  EXPECT_TRUE(contains(err->remedy(), "keytool -importkeystore")) << err->remedy();
  EXPECT_TRUE(contains(err->remedy(), "-deststoretype PKCS12")) << err->remedy();
}

TEST(ReadPkcs12, OtherKindsOfFileAreBadInput) {
  for (const char* file : {"keys/pkcs8-plain-rsa.pem", "keys/pkcs8-plain-rsa.der",
                           "certs/dotnet-MS.cer"}) {
    const auto err = read_error(read_bytes(k_corpus / file), file, secret("x"));
    ASSERT_TRUE(err) << file;
    EXPECT_EQ(err->code(), Errc::BadInput) << file << ": " << err->summary();
  }
  const auto empty = read_error(Bytes{}, "e.p12", {});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->code(), Errc::BadInput);
}

TEST(ReadPkcs12, TruncatedIsDamaged) {
  Bytes data = read_bytes(k_corpus / "pkcs12/nist-pkits-ValidCertificatePathTest1EE.p12");
  ASSERT_GT(data.size(), 100u);
  data.erase(data.end() - 40, data.end());
  const auto err = read_error(data, "cut.p12", secret("password"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::Damaged) << err->summary();
}

TEST(LooksLikePkcs12, DetectsPfxOnly) {
  EXPECT_TRUE(looks_like_pkcs12(read_bytes(k_corpus / "pkcs12/windows-My.pfx")));
  EXPECT_TRUE(looks_like_pkcs12(read_bytes(k_corpus / "pkcs12/bc-ber-indefinite-length.p12")));
  EXPECT_FALSE(looks_like_pkcs12(read_bytes(k_corpus / "pkcs12/java-jks-not-pkcs12.jks")));
  EXPECT_FALSE(looks_like_pkcs12(read_bytes(k_corpus / "keys/pkcs8-plain-rsa.der")));
  EXPECT_FALSE(looks_like_pkcs12(Bytes{}));
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

// A file with two keys in two shrouded bags: PKCS12_parse would return only one.
TEST(ReadPkcs12, EveryKeyIsReturned) {
  const ossl::PKey a = ec_key();
  const ossl::PKey b = ec_key();
  STACK_OF(PKCS12_SAFEBAG)* raw_bags = nullptr;
  ASSERT_NE(PKCS12_add_key_ex(&raw_bags, a.get(), 0, 2048, NID_aes_256_cbc, k_password, nullptr,
                              nullptr),
            nullptr);
  ASSERT_NE(PKCS12_add_key_ex(&raw_bags, b.get(), 0, 2048, NID_aes_256_cbc, k_password, nullptr,
                              nullptr),
            nullptr);
  const ossl::OwnedSafeBagStack bags(raw_bags);
  STACK_OF(PKCS7)* raw_safes = nullptr;
  ASSERT_EQ(PKCS12_add_safe_ex(&raw_safes, bags.get(), -1, 0, nullptr, nullptr, nullptr), 1);
  const ossl::OwnedPkcs7Stack safes(raw_safes);
  const ossl::Pkcs12 p12(PKCS12_add_safes_ex(safes.get(), 0, nullptr, nullptr));
  ASSERT_TRUE(p12);
  ASSERT_EQ(PKCS12_set_mac(p12.get(), k_password, -1, nullptr, 0, 2048, EVP_sha256()), 1);
  unsigned char* der = nullptr;
  const int n = i2d_PKCS12(p12.get(), &der);
  const Bytes data(der, der + n);
  OPENSSL_free(der);

  const auto c = read_ok(data, "two.p12", secret(k_password));
  ASSERT_EQ(c.keys.size(), 2u);
  EXPECT_EQ(EVP_PKEY_eq(c.keys[0].key.get(), a.get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(c.keys[1].key.get(), b.get()), 1);
  EXPECT_TRUE(c.certs.empty());
}

// ---------------------------------------------------------------------------------------------
// write_pkcs12, read back and judged by peer tools

struct Material {
  ossl::PKey ca_key;
  ossl::Cert ca;
  ossl::PKey key;
  ossl::Cert cert;
};

Material make_material(bool rsa) {
  Material m;
  m.ca_key = ec_key();
  m.ca = make_cert(m.ca_key.get(), "Test CA", true);
  m.key = rsa ? rsa_key(2048) : ec_key();
  m.cert = make_cert(m.key.get(), "www.example.test", false, m.ca.get(), m.ca_key.get());
  return m;
}

Bytes write(const Material& m, Pkcs12Profile profile, std::string_view name = "web1",
            std::string_view password = k_password) {
  return write_pkcs12(m.key.get(), m.cert.get(), {m.ca.get()}, name, as_span(password), profile);
}

struct ProfileCase {
  Pkcs12Profile profile;
  bool rsa;
};

class Written : public ::testing::TestWithParam<ProfileCase> {
 protected:
  void SetUp() override {
    material = make_material(GetParam().rsa);
    data = write(material, GetParam().profile);
    write_bytes(dir.path() / "out.p12", data);
  }
  bool modern() const { return GetParam().profile == Pkcs12Profile::Modern; }
  std::string file() const { return dir / "out.p12"; }

  TempDir dir;
  Material material;
  Bytes data;
};

TEST_P(Written, ReadsBackTheSameKeyAndCertificates) {
  const auto c = read_ok(data, "out.p12", secret(k_password));
  ASSERT_EQ(c.keys.size(), 1u);
  ASSERT_EQ(c.certs.size(), 2u);
  EXPECT_EQ(EVP_PKEY_eq(c.keys[0].key.get(), material.key.get()), 1);
  EXPECT_EQ(X509_cmp(c.certs[0].cert.get(), material.cert.get()), 0);
  EXPECT_EQ(X509_cmp(c.certs[1].cert.get(), material.ca.get()), 0);
  EXPECT_EQ(c.keys[0].friendly_name, "web1");
  EXPECT_EQ(c.certs[0].friendly_name, "web1");
  EXPECT_EQ(c.keys[0].local_key_id.size(), 20u);  // SHA-1 of the certificate
  EXPECT_EQ(c.keys[0].local_key_id, c.certs[0].local_key_id);
  EXPECT_TRUE(c.certs[1].local_key_id.empty());
  EXPECT_TRUE(c.mac_present);
  EXPECT_EQ(c.mac_algorithm, modern() ? "sha256" : "sha1");
  EXPECT_TRUE(c.warnings.empty());

  const auto wrong = read_error(data, "out.p12", secret("Test-Pass_43"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->code(), Errc::FilePassword);
}

TEST_P(Written, OpensslReportsTheProfileAlgorithms) {
  // Compat must open without -legacy: no RC2 anywhere.
  const RunResult r = run("openssl pkcs12 -in " + file() + " -passin pass:" + k_password +
                          " -nodes -info -out /dev/null");
  ASSERT_EQ(r.rc, 0) << r.output;
  if (modern()) {
    EXPECT_TRUE(contains(r.output, "MAC: sha256, Iteration 100000")) << r.output;
    EXPECT_TRUE(contains(r.output, "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, "
                                   "Iteration 100000, PRF hmacWithSHA256"))
        << r.output;
    EXPECT_TRUE(contains(r.output, "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration "
                                   "100000, PRF hmacWithSHA256"))
        << r.output;
  } else {
    EXPECT_TRUE(contains(r.output, "MAC: sha1, Iteration 10000")) << r.output;
    EXPECT_TRUE(contains(r.output,
                         "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 10000"))
        << r.output;
    EXPECT_TRUE(contains(r.output,
                         "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 10000"))
        << r.output;
  }
  EXPECT_FALSE(contains(r.output, "RC2")) << r.output;
  EXPECT_TRUE(contains(r.output, "salt length: 16")) << r.output;
}

TEST_P(Written, KeytoolListsThePrivateKeyEntry) {
  KEYSAFE_REQUIRE_TOOL("keytool", "openjdk-17-jre-headless");
  const RunResult r = run("keytool -list -keystore " + file() + " -storetype PKCS12 -storepass " +
                          k_password);
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "PrivateKeyEntry")) << r.output;
  EXPECT_TRUE(contains(r.output, "web1")) << r.output;
}

TEST_P(Written, GnutlsCerttoolReadsIt) {
  KEYSAFE_REQUIRE_TOOL("certtool", "gnutls-bin");
  const RunResult r = run("certtool --p12-info --inder --infile " + file() + " --password " +
                          k_password);
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "web1")) << r.output;
}

TEST_P(Written, NssPk12utilImportsIt) {
  KEYSAFE_REQUIRE_TOOL("pk12util", "libnss3-tools");
  const std::string db = "sql:" + dir.path().string();
  const RunResult init = run("certutil -N -d " + db + " --empty-password");
  ASSERT_EQ(init.rc, 0) << init.output;
  const RunResult r =
      run("pk12util -i " + file() + " -d " + db + " -W " + k_password + " -K ''");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "PKCS12 IMPORT SUCCESSFUL")) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Profiles, Written,
                         ::testing::Values(ProfileCase{Pkcs12Profile::Modern, false},
                                           ProfileCase{Pkcs12Profile::Modern, true},
                                           ProfileCase{Pkcs12Profile::Compat, false},
                                           ProfileCase{Pkcs12Profile::Compat, true}),
                         [](const ::testing::TestParamInfo<ProfileCase>& param_info) {
                           const ProfileCase& c = param_info.param;
                           return std::string(c.profile == Pkcs12Profile::Modern ? "Modern"
                                                                                 : "Compat") +
                                  (c.rsa ? "Rsa" : "Ec");
                         });

TEST(WritePkcs12, KeyOnlyAndUnicodeNameAndEmptyPassword) {
  const ossl::PKey key = ec_key();
  const Bytes data = write_pkcs12(key.get(), nullptr, {}, "clé \u263A", {}, Pkcs12Profile::Modern);
  for (const auto& password : {std::optional<SecureBytes>{}, std::optional(SecureBytes{})}) {
    const auto c = read_ok(data, "k.p12", password);
    ASSERT_EQ(c.keys.size(), 1u);
    EXPECT_TRUE(c.certs.empty());
    EXPECT_EQ(EVP_PKEY_eq(c.keys[0].key.get(), key.get()), 1);
    EXPECT_EQ(c.keys[0].friendly_name, "clé \u263A");
    EXPECT_EQ(c.keys[0].local_key_id.size(), 20u);
  }
}

TEST(WritePkcs12, NonAsciiPasswordRoundTrips) {
  const Material m = make_material(false);
  const Bytes data = write(m, Pkcs12Profile::Compat, "web1", "p\u00E4ss\u263A");
  const auto c = read_ok(data, "u.p12", secret("p\u00E4ss\u263A"));
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(c.keys[0].key.get(), m.key.get()), 1);
}

TEST(WritePkcs12, RefusesMismatchAndNulPassword) {
  const Material m = make_material(false);
  const ossl::PKey other = ec_key();
  try {
    (void)write_pkcs12(other.get(), m.cert.get(), {}, "x", as_span("pw"), Pkcs12Profile::Modern);
    ADD_FAILURE() << "a key with someone else's certificate was written";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::KeyCertMismatch);
  }
  const std::string nul("a\0b", 3);
  try {
    (void)write_pkcs12(m.key.get(), m.cert.get(), {}, "x", as_span(nul), Pkcs12Profile::Modern);
    ADD_FAILURE() << "a password with NUL was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::Usage);
  }
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

// ---------------------------------------------------------------------------------------------
// PKCS#12 files made by peer tools, read by read_pkcs12

class PeerMade : public ::testing::Test {
 protected:
  void SetUp() override {
    material = make_material(false);
    write_text(dir / "key.pem", pem_of(material.key.get()));
    write_text(dir / "cert.pem", pem_of(material.cert.get()));
    write_text(dir / "chain.pem", pem_of(material.cert.get()) + pem_of(material.ca.get()));
  }
  // Reads `file` and checks it holds material.key (and its certificate when `with_cert`).
  void expect_our_key(const std::string& file, bool with_cert = true) {
    const auto c = read_ok(read_bytes(file), file, secret(k_password));
    ASSERT_EQ(c.keys.size(), 1u);
    EXPECT_EQ(EVP_PKEY_eq(c.keys[0].key.get(), material.key.get()), 1);
    if (with_cert) {
      ASSERT_GE(c.certs.size(), 1u);
      EXPECT_EQ(X509_cmp(c.certs[0].cert.get(), material.cert.get()), 0);
    }
  }

  TempDir dir;
  Material material;
};

TEST_F(PeerMade, OpensslExportDefault) {
  const RunResult r = run("openssl pkcs12 -export -inkey " + (dir / "key.pem") + " -in " +
                          (dir / "chain.pem") + " -name web1 -passout pass:" + k_password +
                          " -out " + (dir / "o.p12"));
  ASSERT_EQ(r.rc, 0) << r.output;
  expect_our_key(dir / "o.p12");
}

TEST_F(PeerMade, OpensslExportLegacyRc2) {
  const RunResult r = run("openssl pkcs12 -export -legacy -inkey " + (dir / "key.pem") + " -in " +
                          (dir / "chain.pem") + " -name web1 -passout pass:" + k_password +
                          " -out " + (dir / "o.p12"));
  ASSERT_EQ(r.rc, 0) << r.output;
  const RunResult info = run("openssl pkcs12 -legacy -in " + (dir / "o.p12") + " -passin pass:" +
                             k_password + " -info -noout");
  ASSERT_TRUE(contains(info.output, "pbeWithSHA1And40BitRC2-CBC")) << info.output;
  expect_our_key(dir / "o.p12");
}

TEST_F(PeerMade, KeytoolGenkeypair) {
  KEYSAFE_REQUIRE_TOOL("keytool", "openjdk-17-jre-headless");
  const std::string store = dir / "kt.p12";
  const RunResult gen = run("keytool -genkeypair -alias kt -keyalg EC -groupname secp256r1 "
                            "-dname CN=kt.example.test -validity 30 -storetype PKCS12 -keystore " +
                            store + " -storepass " + k_password + " -keypass " + k_password);
  ASSERT_EQ(gen.rc, 0) << gen.output;
  const RunResult exp = run("keytool -exportcert -rfc -alias kt -keystore " + store +
                            " -storetype PKCS12 -storepass " + k_password + " -file " +
                            (dir / "kt.pem"));
  ASSERT_EQ(exp.rc, 0) << exp.output;
  const ossl::Cert cert = read_pem_cert(dir / "kt.pem");
  ASSERT_TRUE(cert);
  const auto c = read_ok(read_bytes(store), store, secret(k_password));
  ASSERT_EQ(c.keys.size(), 1u);
  EXPECT_EQ(EVP_PKEY_eq(c.keys[0].key.get(), X509_get0_pubkey(cert.get())), 1);
  EXPECT_EQ(c.keys[0].friendly_name, "kt");
  ASSERT_EQ(c.certs.size(), 1u);
  EXPECT_EQ(X509_cmp(c.certs[0].cert.get(), cert.get()), 0);
}

TEST_F(PeerMade, GnutlsCerttoolToP12) {
  KEYSAFE_REQUIRE_TOOL("certtool", "gnutls-bin");
  const RunResult r = run("certtool --to-p12 --load-privkey " + (dir / "key.pem") +
                          " --load-certificate " + (dir / "cert.pem") +
                          " --p12-name web1 --password " + k_password + " --outder --outfile " +
                          (dir / "g.p12"));
  ASSERT_EQ(r.rc, 0) << r.output;
  expect_our_key(dir / "g.p12");
}

TEST_F(PeerMade, NssPk12utilExport) {
  KEYSAFE_REQUIRE_TOOL("pk12util", "libnss3-tools");
  const std::string db = "sql:" + dir.path().string();
  ASSERT_EQ(run("certutil -N -d " + db + " --empty-password").rc, 0);
  // Into NSS from an openssl-made file (a peer), then out again with pk12util -o.
  const RunResult exp = run("openssl pkcs12 -export -inkey " + (dir / "key.pem") + " -in " +
                            (dir / "cert.pem") + " -name web1 -passout pass:" + k_password +
                            " -out " + (dir / "in.p12"));
  ASSERT_EQ(exp.rc, 0) << exp.output;
  const RunResult imp = run("pk12util -i " + (dir / "in.p12") + " -d " + db + " -W " +
                            k_password + " -K ''");
  ASSERT_EQ(imp.rc, 0) << imp.output;
  const RunResult out = run("pk12util -o " + (dir / "nss.p12") + " -n web1 -d " + db + " -W " +
                            k_password + " -K ''");
  ASSERT_EQ(out.rc, 0) << out.output;
  expect_our_key(dir / "nss.p12");
}

}  // namespace
}  // namespace keysafe::formats
