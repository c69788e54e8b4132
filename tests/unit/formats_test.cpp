// Unit tests of keysafe::formats::read_input over the third-party corpus and hostile inputs.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "keysafe/error.hpp"
#include "keysafe/formats/input.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "key_test_support.hpp"

namespace keysafe::formats {
namespace {

using keysafe::testing::der_sha256_hex;

const std::filesystem::path k_corpus = std::filesystem::path(KEYSAFE_TEST_DATA) / "corpus";

Bytes read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

struct ManifestRow {
  std::string file;
  std::string kind;
  std::string expected;
  std::string contents;
};

void PrintTo(const ManifestRow& row, std::ostream* os) { *os << row.file; }

// MANIFEST.tsv rows whose file lies under one of the given directories.
std::vector<ManifestRow> manifest_rows() {
  std::vector<ManifestRow> rows;
  std::ifstream in(k_corpus / "MANIFEST.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, '\t')) fields.push_back(field);
    if (fields.size() < 9) continue;
    const std::string& file = fields[0];
    if (file.rfind("certs/", 0) == 0 || file.rfind("csr/", 0) == 0 ||
        file.rfind("pkcs7/", 0) == 0)
      rows.push_back(ManifestRow{file, fields[1], fields[3], fields[8]});
  }
  return rows;
}

// Runs read_input and reports the keysafe::Error it threw, or nothing.
std::optional<Error> read_error(const Bytes& data, std::string_view source) {
  try {
    (void)read_input(data, source);
  } catch (const Error& e) {
    return e;
  }
  return std::nullopt;
}

void expect_bad_input(const Bytes& data, std::string_view source, std::string_view mention = {}) {
  const auto err = read_error(data, source);
  ASSERT_TRUE(err.has_value()) << source << " was accepted";
  EXPECT_EQ(err->code(), Errc::BadInput) << err->summary();
  EXPECT_FALSE(err->summary().empty());
  EXPECT_FALSE(err->cause().empty());
  EXPECT_NE(err->summary().find(std::string(source)), std::string::npos)
      << "the summary should name the file: " << err->summary();
  if (!mention.empty()) {
    EXPECT_NE((err->summary() + " " + err->cause()).find(std::string(mention)), std::string::npos)
        << err->summary() << " / " << err->cause();
  }
}

// ---------------------------------------------------------------------------------------------
// The corpus, row by row

class CorpusRow : public ::testing::TestWithParam<ManifestRow> {};

TEST_P(CorpusRow, MatchesManifest) {
  const ManifestRow& row = GetParam();
  const Bytes data = read_bytes(k_corpus / row.file);
  ASSERT_FALSE(data.empty());
  ERR_clear_error();

  const bool empty_pkcs7 = row.file == "pkcs7/dotnet-empty.p7c";
  if (row.expected == "error" || empty_pkcs7) {
    expect_bad_input(data, row.file, empty_pkcs7 ? "no certificates" : "");
    EXPECT_EQ(ERR_peek_error(), 0ul) << "the OpenSSL error queue was left non-empty";
    return;
  }
  ASSERT_EQ(row.expected, "ok") << "unexpected manifest outcome";

  ParsedInput parsed;
  try {
    parsed = read_input(data, row.file);
  } catch (const Error& e) {
    FAIL() << "rejected: " << e.summary() << " / " << e.cause();
  }
  EXPECT_FALSE(parsed.format.empty());
  if (row.file.rfind("csr/", 0) == 0) {
    ASSERT_EQ(parsed.requests.size(), 1u);
    EXPECT_TRUE(parsed.certificates.empty());
    // The request's self-signature, judged by OpenSSL.
    X509_REQ* req = parsed.requests.front().get();
    EXPECT_EQ(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
  } else {
    ASSERT_GE(parsed.certificates.size(), 1u);
    EXPECT_TRUE(parsed.requests.empty());
    for (const auto& cert : parsed.certificates) {
      const auto info = x509::inspect_certificate(cert.get());
      EXPECT_EQ(info.fingerprint_sha256, der_sha256_hex(cert.get()));
    }
  }
  // Counts the manifest gives (from OpenSSL's own tools).
  if (row.contents.rfind("certs=", 0) == 0) {
    EXPECT_EQ(std::to_string(parsed.certificates.size()), row.contents.substr(6));
  }
  if (row.contents.find("Certificate=2,Pkey=1") != std::string::npos) {
    // The file holds the same certificate twice (identical SHA-1 fingerprints): one certificate.
    EXPECT_EQ(parsed.certificates.size(), 1u);
    EXPECT_EQ(parsed.private_keys, 1u);
  }
  ERR_clear_error();
}

INSTANTIATE_TEST_SUITE_P(Manifest, CorpusRow, ::testing::ValuesIn(manifest_rows()),
                         [](const ::testing::TestParamInfo<ManifestRow>& param_info) {
                           std::string n = param_info.param.file;
                           for (auto& c : n)
                             if (std::isalnum(static_cast<unsigned char>(c)) == 0) c = '_';
                           return n + "_" + std::to_string(param_info.index);
                         });

TEST(Corpus, ManifestCoversEveryFile) {
  const auto rows = manifest_rows();
  ASSERT_GE(rows.size(), 50u);
  for (const char* dir : {"certs", "csr", "pkcs7"})
    for (const auto& entry : std::filesystem::recursive_directory_iterator(k_corpus / dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string rel = std::filesystem::relative(entry.path(), k_corpus).string();
      EXPECT_TRUE(std::any_of(rows.begin(), rows.end(),
                              [&](const ManifestRow& r) { return r.file == rel; }))
          << rel << " has no manifest row";
    }
}

TEST(Corpus, DetectedFormats) {
  EXPECT_EQ(read_input(read_bytes(k_corpus / "certs/dotnet-MS.cer"), "a").format,
            "DER certificate");
  EXPECT_EQ(read_input(read_bytes(k_corpus / "certs/dotnet-MS.pem"), "a").format, "PEM");
  EXPECT_EQ(read_input(read_bytes(k_corpus / "csr/pyca-rsa_sha256.der"), "a").format,
            "DER certificate request");
  EXPECT_EQ(read_input(read_bytes(k_corpus / "pkcs7/dotnet-certchain.p7b"), "a").format,
            "DER PKCS#7");
  ERR_clear_error();
}

TEST(Corpus, DerAndPemOfTheSameCertificateAgree) {
  const auto der = read_input(read_bytes(k_corpus / "certs/dotnet-MS.cer"), "der");
  const auto pem = read_input(read_bytes(k_corpus / "certs/dotnet-MS.pem"), "pem");
  ASSERT_EQ(der.certificates.size(), 1u);
  ASSERT_EQ(pem.certificates.size(), 1u);
  EXPECT_EQ(X509_cmp(der.certificates[0].get(), pem.certificates[0].get()), 0);
  ERR_clear_error();
}

TEST(Corpus, JavaKeystoreIsNamed) {
  expect_bad_input(read_bytes(k_corpus / "pkcs12/java-jks-not-pkcs12.jks"), "store.jks", "Java");
}

// ---------------------------------------------------------------------------------------------
// Made-up inputs

TEST(ReadInput, EmptyInput) { expect_bad_input(Bytes{}, "empty.pem", "empty"); }

TEST(ReadInput, RandomBytes) {
  std::mt19937 rng(20261125);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t size : {1u, 2u, 16u, 100u, 1000u, 4096u}) {
    Bytes data(size);
    for (auto& b : data) b = static_cast<std::uint8_t>(byte(rng));
    data[0] = 0x42;  // not a DER SEQUENCE, not a JKS magic
    expect_bad_input(data, "random.bin");
  }
  ERR_clear_error();
}

TEST(ReadInput, PlainTextIsNotACertificate) {
  expect_bad_input(to_bytes("hello, this is not a certificate\n"), "notes.txt",
                   "not a certificate");
}

TEST(ReadInput, TruncatedPem) {
  const Bytes whole = read_bytes(k_corpus / "certs/pyca-cryptography.io.pem");
  const std::string text(whole.begin(), whole.end());
  // Cut in the base64 body: no END line.
  expect_bad_input(to_bytes(text.substr(0, text.size() / 2)), "half.pem");
  // Cut inside the END line.
  const auto end = text.find("-----END");
  ASSERT_NE(end, std::string::npos);
  expect_bad_input(to_bytes(text.substr(0, end + 6)), "cut-end.pem");
  // A second block cut short after a complete first one.
  expect_bad_input(to_bytes(text + text.substr(0, text.size() / 2)), "one-and-a-half.pem");
  ERR_clear_error();
}

// From 256 certificates on, PEM bundles are decoded on several threads (each helper in its own
// OpenSSL library context); what comes out must be what one pass in file order gives.
std::string repeated_bundle(const std::vector<std::string>& pems, std::size_t blocks) {
  std::string out;
  for (std::size_t i = 0; i < blocks; ++i) out += pems[i % pems.size()];
  return out;
}

std::string text_of(const std::filesystem::path& path) {
  const Bytes b = read_bytes(path);
  return std::string(b.begin(), b.end());
}

TEST(ReadInput, LargeBundleGivesEveryCertificateInFileOrder) {
  const std::vector<std::string> pems{text_of(k_corpus / "certs/pyca-cryptography.io.pem"),
                                      text_of(k_corpus / "certs/dotnet-MS.pem"),
                                      text_of(k_corpus / "certs/pyca-v1_cert.pem")};
  const auto parsed = read_input(to_bytes(repeated_bundle(pems, 300)), "big.pem");
  ASSERT_EQ(parsed.certificates.size(), 3u) << "300 blocks of 3 certificates: 3 after duplicates";
  for (std::size_t i = 0; i < pems.size(); ++i) {
    const auto one = read_input(to_bytes(pems[i]), "one.pem");
    ASSERT_EQ(one.certificates.size(), 1u);
    EXPECT_EQ(X509_cmp(parsed.certificates[i].get(), one.certificates[0].get()), 0) << i;
    // The public key decoded (in whichever context) compares equal with one decoded here.
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(parsed.certificates[i].get()),
                          X509_get0_pubkey(one.certificates[0].get())),
              1)
        << i;
  }
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

TEST(ReadInput, LargeBundleReportsTheFirstDamagedBlockAsOnePassWould) {
  const std::string good = text_of(k_corpus / "certs/dotnet-MS.pem");
  const std::string damaged = "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n";
  std::string text;
  for (int i = 1; i <= 300; ++i) text += (i == 120 || i == 250) ? damaged : good;
  expect_bad_input(to_bytes(text), "big.pem", "PEM block 120 ");
  // A damaged block before an unreadable end: the damaged block is named, as in one pass.
  expect_bad_input(to_bytes(text + good.substr(0, good.size() / 2)), "big-cut.pem",
                   "PEM block 120 ");
  // An unreadable end after good blocks only: the end is named.
  std::string clean;
  for (int i = 0; i < 300; ++i) clean += good;
  expect_bad_input(to_bytes(clean + good.substr(0, good.size() / 2)), "clean-cut.pem",
                   "PEM block 301 ");
  ERR_clear_error();
}

TEST(ReadInput, PemWithCrlfLineEndings) {
  const Bytes lf = read_bytes(k_corpus / "certs/dotnet-MS.pem");
  Bytes crlf;
  for (auto b : lf) {
    if (b == '\n') crlf.push_back('\r');
    crlf.push_back(b);
  }
  const auto a = read_input(lf, "lf.pem");
  const auto b = read_input(crlf, "crlf.pem");
  ASSERT_EQ(a.certificates.size(), 1u);
  ASSERT_EQ(b.certificates.size(), 1u);
  EXPECT_EQ(X509_cmp(a.certificates[0].get(), b.certificates[0].get()), 0);
}

TEST(ReadInput, TruncatedDer) {
  const Bytes der = read_bytes(k_corpus / "certs/dotnet-MS.cer");
  expect_bad_input(Bytes(der.begin(), der.begin() + static_cast<long>(der.size() / 2)), "half.cer");
  Bytes extra = der;
  extra.push_back(0);  // trailing garbage after a DER certificate
  expect_bad_input(extra, "extra.cer");
  ERR_clear_error();
}

TEST(ReadInput, PemWithBadBase64) {
  const std::string pem =
      "-----BEGIN CERTIFICATE-----\nMIIB!!!!not base64!!!!\n-----END CERTIFICATE-----\n";
  expect_bad_input(to_bytes(pem), "bad64.pem");
}

TEST(ReadInput, PemBlockThatDoesNotDecode) {
  // Valid base64 of bytes that are not a certificate.
  const std::string pem = "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n";
  expect_bad_input(to_bytes(pem), "junk.pem", "damaged");
}

TEST(ReadInput, UnknownPemBlock) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio.get(), key.get()), 1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  expect_bad_input(Bytes(p, p + n), "pub.pem", "PUBLIC KEY");
}

std::string key_pem(EVP_PKEY* key, bool traditional, const EVP_CIPHER* cipher) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  static char pass[] = "secret";
  int ok = 0;
  if (traditional)
    ok = PEM_write_bio_PrivateKey_traditional(bio.get(), key, cipher, nullptr, 0, nullptr, nullptr);
  else
    ok = PEM_write_bio_PrivateKey(bio.get(), key, cipher, nullptr, 0, nullptr,
                                  cipher != nullptr ? pass : nullptr);
  EXPECT_EQ(ok, 1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

TEST(ReadInput, PrivateKeyBlocksAreCounted) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(key);
  const std::string pkcs8 = key_pem(key.get(), false, nullptr);
  ASSERT_NE(pkcs8.find("BEGIN PRIVATE KEY"), std::string::npos);
  auto parsed = read_input(to_bytes(pkcs8), "key.pem");
  EXPECT_EQ(parsed.private_keys, 1u);
  EXPECT_TRUE(parsed.certificates.empty());
  EXPECT_TRUE(parsed.requests.empty());

  const std::string encrypted = key_pem(key.get(), false, EVP_aes_256_cbc());
  ASSERT_NE(encrypted.find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos);
  const std::string traditional = key_pem(key.get(), true, nullptr);
  ASSERT_NE(traditional.find("BEGIN EC PRIVATE KEY"), std::string::npos);

  const Bytes cert = read_bytes(k_corpus / "certs/dotnet-MS.pem");
  const std::string bundle = pkcs8 + std::string(cert.begin(), cert.end()) + encrypted + traditional;
  parsed = read_input(to_bytes(bundle), "bundle.pem");
  EXPECT_EQ(parsed.private_keys, 3u);
  EXPECT_EQ(parsed.certificates.size(), 1u);
  EXPECT_EQ(ERR_peek_error(), 0ul);
}

TEST(ReadInput, LegacyEncryptedPrivateKeyIsCounted) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  ASSERT_TRUE(key);
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  static unsigned char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), EVP_aes_128_cbc(), pass, 6,
                                                 nullptr, nullptr),
            1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  const std::string pem(p, static_cast<std::size_t>(n));
  ASSERT_NE(pem.find("Proc-Type: 4,ENCRYPTED"), std::string::npos);
  const auto parsed = read_input(to_bytes(pem), "legacy.pem");
  EXPECT_EQ(parsed.private_keys, 1u);
  EXPECT_TRUE(parsed.certificates.empty());
}

TEST(ReadInput, JksMagic) {
  Bytes jks = {0xFE, 0xED, 0xFE, 0xED, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
               0x00, 0x00, 0x00, 0x02, 0x00, 0x05, 'a',  'l',  'i',  'a',  's'};
  expect_bad_input(jks, "keystore.p12", "Java");
}

TEST(ReadInput, PemPkcs7WithCertificates) {
  // A certs-only SignedData built with OpenSSL (what `openssl crl2pkcs7 -nocrl` makes).
  const auto chain = read_input(read_bytes(k_corpus / "pkcs7/dotnet-certchain.p7b"), "chain.p7b");
  ASSERT_EQ(chain.certificates.size(), 3u);
  ossl::Pkcs7 p7(PKCS7_new());
  ASSERT_EQ(PKCS7_set_type(p7.get(), NID_pkcs7_signed), 1);
  ASSERT_EQ(PKCS7_content_new(p7.get(), NID_pkcs7_data), 1);
  for (const auto& c : chain.certificates) ASSERT_EQ(PKCS7_add_certificate(p7.get(), c.get()), 1);
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PKCS7(bio.get(), p7.get()), 1);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &p);
  const auto parsed = read_input(Bytes(p, p + n), "chain.p7c");
  EXPECT_EQ(parsed.format, "PEM");
  ASSERT_EQ(parsed.certificates.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(X509_cmp(parsed.certificates[i].get(), chain.certificates[i].get()), 0);
}

// Detection goes by content: a DER certificate stays DER even when a text field in it
// happens to contain a PEM marker.
TEST(ReadInput, DerCertificateContainingPemMarkerText) {
  ossl::PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ossl::Cert cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("-----BEGIN CERTIFICATE-----"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("marker.example"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  ASSERT_GT(len, 0);
  const Bytes data(der, der + len);
  OPENSSL_free(der);
  // OpenSSL itself reads these bytes as one DER certificate.
  const unsigned char* p = data.data();
  ossl::Cert independent(d2i_X509(nullptr, &p, static_cast<long>(data.size())));
  ASSERT_TRUE(independent);
  ASSERT_EQ(p, data.data() + data.size());

  try {
    const auto parsed = read_input(data, "marker.cer");
    EXPECT_EQ(parsed.format, "DER certificate");
    ASSERT_EQ(parsed.certificates.size(), 1u);
    EXPECT_EQ(X509_cmp(parsed.certificates[0].get(), cert.get()), 0);
  } catch (const Error& e) {
    ADD_FAILURE() << "a valid DER certificate was rejected: " << e.summary() << " / " << e.cause();
  }
  ERR_clear_error();
}

// Stale entries would be reported with the next, unrelated failure (Error::openssl_errors).
TEST(ReadInput, ErrorQueueIsLeftClean) {
  for (const char* file : {"certs/dotnet-MS.cer", "certs/dotnet-MS.pem", "csr/pyca-rsa_sha256.der",
                           "csr/pyca-rsa_sha256.pem", "pkcs7/dotnet-certchain.p7b",
                           "pkcs7/pyca-amazon-roots-ber.p7b"}) {
    ERR_clear_error();
    (void)read_input(read_bytes(k_corpus / file), file);
    const unsigned long stale = ERR_peek_error();
    EXPECT_EQ(stale, 0ul) << file << " left errors on the OpenSSL queue: "
                          << ERR_error_string(stale, nullptr);
  }
  ERR_clear_error();
}

// ---------------------------------------------------------------------------------------------
// Fuzz regression inputs: a clean result or a keysafe::Error, nothing else

TEST(Fuzz, EveryInputParsesOrFailsCleanly) {
  std::size_t seen = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(k_corpus / "fuzz")) {
    if (!entry.is_regular_file()) continue;
    ++seen;
    const std::string rel = std::filesystem::relative(entry.path(), k_corpus).string();
    const Bytes data = read_bytes(entry.path());
    try {
      const auto parsed = read_input(data, rel);
      EXPECT_FALSE(parsed.format.empty()) << rel;
      EXPECT_TRUE(!parsed.certificates.empty() || !parsed.requests.empty() ||
                  parsed.private_keys > 0)
          << rel << " parsed into nothing";
    } catch (const Error& e) {
      EXPECT_FALSE(e.summary().empty()) << rel;
      EXPECT_EQ(e.code(), Errc::BadInput) << rel << ": " << e.summary();
    } catch (const std::exception& e) {
      ADD_FAILURE() << rel << " threw a non-keysafe exception: " << e.what();
    } catch (...) {
      ADD_FAILURE() << rel << " threw something that is not an exception";
    }
    ERR_clear_error();
  }
  EXPECT_EQ(seen, 62u);
}

}  // namespace
}  // namespace keysafe::formats
