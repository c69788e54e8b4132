// Unit tests of read_private_keys, check_private_key, weak_key_reason and encrypted_pkcs8_pem.
#include "keysafe/formats/private_key.hpp"

#include "key_test_support.hpp"

namespace keysafe::formats {
namespace {

using namespace keysafe::testing;

std::optional<Error> read_error(const Bytes& data, std::string_view source,
                                const std::optional<SecureBytes>& password) {
  try {
    (void)read_private_keys(data, source, password);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

// "Private-Key: (1024 bit, 2 primes)" → 1024; -1 when the row gives no size.
int manifest_bits(const ManifestRow& row) {
  const auto open = row.contents.find('(');
  if (open == std::string::npos) return -1;
  return std::atoi(row.contents.c_str() + open + 1);
}

// ---------------------------------------------------------------------------------------------
// Every keys/ row of the corpus manifest

class KeyRow : public ::testing::TestWithParam<ManifestRow> {};

TEST_P(KeyRow, MatchesManifest) {
  const ManifestRow& row = GetParam();
  const Bytes data = read_bytes(k_corpus / row.file);
  ASSERT_FALSE(data.empty());
  ERR_clear_error();
  const auto password = row.password_bytes();

  if (row.expected == "error") {
    expect_refused_as_listed(row, read_error(data, row.file, password));
    return;
  }
  if (row.expected == "either") {
    try {
      const auto keys = read_private_keys(data, row.file, password);
      EXPECT_FALSE(keys.empty());
    } catch (const Error& e) {
      SUCCEED() << "refused cleanly: " << e.summary();
    }
    return;
  }
  ASSERT_TRUE(row.expected == "ok" || row.expected == "weak") << row.expected;
  std::vector<DecodedKey> keys;
  try {
    keys = read_private_keys(data, row.file, password);
  } catch (const Error& e) {
    FAIL() << "rejected: " << errc_name(e.code()) << ": " << e.summary() << " / " << e.cause();
  }
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_FALSE(keys[0].format.empty());
  if (const int bits = manifest_bits(row); bits > 0) {
    EXPECT_EQ(EVP_PKEY_get_bits(keys[0].key.get()), bits);
  }
  const auto weak = weak_key_reason(keys[0].key.get());
  if (row.expected == "weak") {
    EXPECT_TRUE(weak.has_value()) << "a weak key was judged fine";
  } else {
    EXPECT_FALSE(weak.has_value()) << *weak;
  }
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

INSTANTIATE_TEST_SUITE_P(Manifest, KeyRow, ::testing::ValuesIn(manifest_rows("keys/")), row_name);

TEST(KeyCorpus, ManifestCoversEveryKeyFile) {
  const auto rows = manifest_rows("keys/");
  ASSERT_GE(rows.size(), 30u);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(k_corpus / "keys")) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = std::filesystem::relative(entry.path(), k_corpus).string();
    EXPECT_TRUE(std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.file == rel; }))
        << rel << " has no manifest row";
  }
}

// Every fuzz input, with and without a password: a keysafe::Error or keys, never a crash.
TEST(KeyCorpus, FuzzInputsNeverCrash) {
  std::size_t n = 0;
  for (const auto& path : fuzz_files()) {
    const Bytes data = read_bytes(path);
    for (const auto& password : {std::optional<SecureBytes>{}, std::optional(secret("password"))}) {
      try {
        (void)read_private_keys(data, path.filename().string(), password);
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
// Formats, errors and messages

TEST(ReadPrivateKeys, FormatsAreNamed) {
  const auto name = [](const char* file, std::optional<SecureBytes> pw = {}) {
    return read_private_keys(read_bytes(k_corpus / file), file, pw).at(0).format;
  };
  EXPECT_EQ(name("keys/pkcs8-plain-rsa.pem"), "PKCS#8");
  EXPECT_EQ(name("keys/pkcs8-plain-rsa.der"), "DER PKCS#8");
  EXPECT_EQ(name("keys/pkcs8-enc-ec.pem", secret("123456")), "encrypted PKCS#8");
  EXPECT_EQ(name("keys/pkcs8-enc-rsa.der", secret("foobar")), "DER encrypted PKCS#8");
  EXPECT_EQ(name("keys/sec1-ec.pem"), "SEC1 EC");
  EXPECT_EQ(name("keys/trad-dsa-1024.pem"), "traditional DSA");
  EXPECT_EQ(name("keys/trad-enc-testrsa.pem", secret("password")), "traditional encrypted PEM");
}

TEST(ReadPrivateKeys, PemAndDerOfTheSameKeyAgree) {
  const auto pem = read_private_keys(read_bytes(k_corpus / "keys/pkcs8-plain-rsa.pem"), "a", {});
  const auto der = read_private_keys(read_bytes(k_corpus / "keys/pkcs8-plain-rsa.der"), "b", {});
  EXPECT_EQ(EVP_PKEY_eq(pem.at(0).key.get(), der.at(0).key.get()), 1);
  const auto enc = read_private_keys(read_bytes(k_corpus / "keys/pkcs8-enc-rsa.pem"), "c",
                                     secret("foobar"));
  const auto enc_der = read_private_keys(read_bytes(k_corpus / "keys/pkcs8-enc-rsa.der"), "d",
                                         secret("foobar"));
  EXPECT_EQ(EVP_PKEY_eq(enc.at(0).key.get(), enc_der.at(0).key.get()), 1);
}

TEST(ReadPrivateKeys, EveryKeyBlockIsReadAndCertificatesAreSkipped) {
  const ossl::PKey a = ec_key();
  const ossl::PKey b = rsa_key(2048);
  const ossl::Cert cert = make_cert(a.get(), "both.example", false);
  const std::string pem = pem_of(cert.get()) + pem_of(a.get()) + "junk between blocks\n" +
                          pem_of(cert.get()) + pem_of(b.get());
  const auto keys = read_private_keys(as_span(pem), "bundle.pem", {});
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(EVP_PKEY_eq(keys[0].key.get(), a.get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(keys[1].key.get(), b.get()), 1);
}

TEST(ReadPrivateKeys, CertificateOnlyIsBadInput) {
  const ossl::PKey a = ec_key();
  const std::string pem = pem_of(make_cert(a.get(), "only.example", false).get());
  const auto err = read_error(Bytes(pem.begin(), pem.end()), "cert.pem", {});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::BadInput);
  EXPECT_TRUE(contains(err->summary(), "no private key")) << err->summary();
  EXPECT_TRUE(contains(err->cause(), "CERTIFICATE")) << err->cause();
}

TEST(ReadPrivateKeys, EncryptedWithoutPasswordNeedsOne) {
  for (const char* file : {"keys/pkcs8-enc-ec.pem", "keys/pkcs8-enc-rsa.der",
                           "keys/trad-enc-rsa-key1.pem"}) {
    const auto err = read_error(read_bytes(k_corpus / file), file, std::nullopt);
    ASSERT_TRUE(err) << file;
    EXPECT_EQ(err->code(), Errc::FilePassword) << file;
    EXPECT_TRUE(contains(err->summary(), "needs a password")) << err->summary();
  }
}

TEST(ReadPrivateKeys, WrongPasswordIsFilePassword) {
  for (const char* file : {"keys/pkcs8-enc-ec.pem", "keys/trad-enc-testrsa.pem",
                           "keys/pkcs8-pkcs12pbe-X_9607.pem", "keys/pem-edge/dsa.pem"}) {
    const auto err = read_error(read_bytes(k_corpus / file), file, secret("not-the-password"));
    ASSERT_TRUE(err) << file;
    EXPECT_EQ(err->code(), Errc::FilePassword) << file << ": " << err->summary();
    EXPECT_TRUE(contains(err->summary(), "wrong password")) << err->summary();
  }
}

TEST(ReadPrivateKeys, UnknownEncryptionOidIsNamed) {
  const auto err = read_error(read_bytes(k_corpus / "keys/pkcs8-bad-encryption-oid.pem"), "k.pem",
                              secret("password"));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::Unsupported);
  EXPECT_TRUE(contains(err->cause(), "0.24.97.792")) << err->cause();
  // The algorithm is judged before the password: none given, still Unsupported.
  const auto none = read_error(read_bytes(k_corpus / "keys/pkcs8-bad-encryption-oid.pem"), "k.pem",
                               std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->code(), Errc::Unsupported);
}

TEST(ReadPrivateKeys, UnknownCurveIsNamed) {
  const auto err = read_error(read_bytes(k_corpus / "keys/pkcs8-ec-with-domain-params.pem"),
                              "k.pem", std::nullopt);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::Unsupported);
  EXPECT_TRUE(contains(err->cause(), "1.3.6.1.4.1.8301.3.1.2.9.0.33")) << err->cause();
}

TEST(ReadPrivateKeys, RsaWithTinyPrimeIsInvalidNotWeak) {
  const auto err = read_error(read_bytes(k_corpus / "keys/rsa-bad-q-is-2.pem"), "q2.pem", {});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::BadInput) << err->summary();
  EXPECT_NE(err->code(), Errc::WeakKey);
  EXPECT_TRUE(contains(err->cause(), "2 bits")) << err->cause();
}

TEST(ReadPrivateKeys, OtherFilesAreBadInput) {
  for (const char* file : {"pkcs12/pyca-cert-key-aes256cbc.p12", "pkcs12/java-jks-not-pkcs12.jks",
                           "certs/dotnet-MS.cer"}) {
    const auto err = read_error(read_bytes(k_corpus / file), file, secret("x"));
    ASSERT_TRUE(err) << file;
    EXPECT_EQ(err->code(), Errc::BadInput) << file << ": " << err->summary();
  }
  const auto empty = read_error(Bytes{}, "empty.pem", {});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->code(), Errc::BadInput);
}

TEST(ReadPrivateKeys, TruncatedPemIsDamaged) {
  const std::string pem = pem_of(rsa_key(2048).get());
  Bytes data(pem.begin(), pem.begin() + static_cast<std::ptrdiff_t>(pem.size() / 2));
  const auto err = read_error(data, "half.pem", {});
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), Errc::Damaged) << err->summary();
}

// ---------------------------------------------------------------------------------------------
// weak_key_reason

TEST(WeakKeyReason, RsaBelow2048DsaAndSmallCurves) {
  EXPECT_EQ(weak_key_reason(rsa_key(1024).get()), "RSA key of 1024 bits (below 2048)");
  EXPECT_EQ(weak_key_reason(rsa_key(2048).get()), std::nullopt);
  EXPECT_EQ(weak_key_reason(ec_key().get()), std::nullopt);
  ossl::PKey p192(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-192"));
  ASSERT_TRUE(p192);
  EXPECT_EQ(weak_key_reason(p192.get()), "EC key of 192 bits (below 224)");
  ossl::PKey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(weak_key_reason(ed.get()), std::nullopt);
  const auto dsa = read_private_keys(read_bytes(k_corpus / "keys/trad-dsa-1024.pem"), "d", {});
  EXPECT_EQ(weak_key_reason(dsa.at(0).key.get()), "DSA key (DSA is deprecated)");
  // Explicit EC parameters are acceptable.
  const auto explicit_ec =
      read_private_keys(read_bytes(k_corpus / "keys/openssl-ec-explicit-params.pem"), "e", {});
  EXPECT_EQ(weak_key_reason(explicit_ec.at(0).key.get()), std::nullopt);
}

// ---------------------------------------------------------------------------------------------
// encrypted_pkcs8_pem, judged by the openssl command

TEST(EncryptedPkcs8, OpensslReadsItAndSeesPbes2Aes256Sha256) {
  const TempDir dir;
  const ossl::PKey key = ec_key();
  const std::string pem = encrypted_pkcs8_pem(key.get(), as_span("s3cret pass"));
  ASSERT_TRUE(contains(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  write_text(dir / "key.pem", pem);

  const RunResult good = run("openssl pkey -in " + (dir / "key.pem") + " -passin 'pass:s3cret pass' -noout");
  EXPECT_EQ(good.rc, 0) << good.output;
  const RunResult bad = run("openssl pkey -in " + (dir / "key.pem") + " -passin pass:wrong -noout");
  EXPECT_NE(bad.rc, 0) << bad.output;

  const RunResult asn1 = run("openssl asn1parse -in " + (dir / "key.pem"));
  ASSERT_EQ(asn1.rc, 0) << asn1.output;
  for (const char* what : {"PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"})
    EXPECT_TRUE(contains(asn1.output, what)) << what << " missing in\n" << asn1.output;
  EXPECT_TRUE(contains(asn1.output, ":0927C0")) << "600000 iterations expected\n" << asn1.output;

  const auto back = read_private_keys(as_span(pem), "key.pem", secret("s3cret pass"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].format, "encrypted PKCS#8");
  EXPECT_EQ(EVP_PKEY_eq(back[0].key.get(), key.get()), 1);
  const auto wrong = read_error(Bytes(pem.begin(), pem.end()), "key.pem", secret("wrong"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->code(), Errc::FilePassword);
}

TEST(EncryptedPkcs8, EmptyPasswordRoundTrips) {
  const ossl::PKey key = ec_key();
  const std::string pem = encrypted_pkcs8_pem(key.get(), {});
  const auto back = read_private_keys(as_span(pem), "key.pem", SecureBytes{});
  EXPECT_EQ(EVP_PKEY_eq(back.at(0).key.get(), key.get()), 1);
}

}  // namespace
}  // namespace keysafe::formats
