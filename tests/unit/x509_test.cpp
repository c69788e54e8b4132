// Unit tests of keysafe::x509: keys, requests, names, certificate inspection and chains.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "keysafe/error.hpp"
#include "keysafe/x509/certificate_info.hpp"
#include "keysafe/x509/chain.hpp"
#include "keysafe/x509/key_algorithm.hpp"
#include "keysafe/x509/names.hpp"
#include "keysafe/x509/public_key.hpp"
#include "keysafe/x509/request.hpp"
#include "key_test_support.hpp"

namespace keysafe::x509 {

// gtest names parameters by this (ADL finds it next to KeyAlgorithm).
void PrintTo(KeyAlgorithm alg, std::ostream* os) { *os << key_algorithm_name(alg); }

namespace {

using keysafe::testing::der_sha256_hex;
using keysafe::testing::evp_sha256_hex;
using keysafe::testing::independent_spki_sha256;

const std::filesystem::path k_corpus = std::filesystem::path(KEYSAFE_TEST_DATA) / "corpus";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

ossl::Cert load_cert(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  ossl::Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  ossl::Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(cert) << "cannot load " << path;
  return cert;
}

ossl::PKey load_key(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  ossl::Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  ossl::PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  EXPECT_TRUE(key) << "cannot load " << path;
  return key;
}

// The request's subjectAltName read with OpenSSL only: DNS names and raw IP bytes.
struct RawSans {
  std::vector<std::string> dns;
  std::vector<std::string> ip_bytes;
};

RawSans request_sans(X509_REQ* req) {
  RawSans out;
  STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
  if (exts == nullptr) return out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS)
      out.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                           static_cast<std::size_t>(ASN1_STRING_length(gn->d.dNSName)));
    else if (gn->type == GEN_IPADD)
      out.ip_bytes.emplace_back(
          reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.iPAddress)),
          static_cast<std::size_t>(ASN1_STRING_length(gn->d.iPAddress)));
  }
  GENERAL_NAMES_free(names);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  return out;
}

std::string ip_bytes(int family, const char* text) {
  unsigned char buf[16] = {};
  EXPECT_EQ(inet_pton(family, text, buf), 1);
  return std::string(reinterpret_cast<const char*>(buf), family == AF_INET ? 4u : 16u);
}

// Subject entries as (short name, value) pairs, in DER order, read with OpenSSL only.
std::vector<std::pair<std::string, std::string>> name_entries(const X509_NAME* name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const ASN1_STRING* s = X509_NAME_ENTRY_get_data(e);
    out.emplace_back(OBJ_nid2sn(nid),
                     std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<std::size_t>(ASN1_STRING_length(s))));
  }
  return out;
}

Errc error_code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no keysafe::Error thrown";
  return Errc::Internal;
}

constexpr KeyAlgorithm k_all_algorithms[] = {KeyAlgorithm::EcP256,  KeyAlgorithm::EcP384,
                                             KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa3072,
                                             KeyAlgorithm::Rsa4096, KeyAlgorithm::Ed25519};

// One key per algorithm, made on first use and shared by the tests (RSA-4096 is slow to make).
const ossl::PKey& key_for(KeyAlgorithm alg) {
  static std::array<ossl::PKey, std::size(k_all_algorithms)> keys;
  ossl::PKey& key = keys[static_cast<std::size_t>(alg)];
  if (!key) key = generate_key(alg);
  return key;
}

// ---------------------------------------------------------------------------------------------
// Key algorithms

TEST(KeyAlgorithm, NamesRoundTrip) {
  ASSERT_EQ(key_algorithm_names().size(), 6u);
  for (KeyAlgorithm alg : k_all_algorithms) {
    const auto name = key_algorithm_name(alg);
    const auto parsed = parse_key_algorithm(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, alg);
  }
  EXPECT_FALSE(parse_key_algorithm("rsa-1024").has_value());
  EXPECT_FALSE(parse_key_algorithm("EC-P256").has_value());
  EXPECT_FALSE(parse_key_algorithm("").has_value());
}

TEST(KeyAlgorithm, GeneratedKeysDescribeThemselvesByTheirName) {
  for (KeyAlgorithm alg : k_all_algorithms) {
    const auto& key = key_for(alg);
    ASSERT_TRUE(key);
    EXPECT_EQ(describe_key(key.get()), key_algorithm_name(alg));
  }
}

TEST(KeyAlgorithm, GeneratedKeysHaveTheRightTypeAndSize) {
  // Judged with OpenSSL directly, not with describe_key.
  EXPECT_EQ(EVP_PKEY_get_base_id(key_for(KeyAlgorithm::EcP256).get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key_for(KeyAlgorithm::EcP256).get()), 256);
  EXPECT_EQ(EVP_PKEY_get_bits(key_for(KeyAlgorithm::EcP384).get()), 384);
  EXPECT_EQ(EVP_PKEY_get_base_id(key_for(KeyAlgorithm::Rsa2048).get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key_for(KeyAlgorithm::Rsa2048).get()), 2048);
  EXPECT_EQ(EVP_PKEY_get_bits(key_for(KeyAlgorithm::Rsa3072).get()), 3072);
  EXPECT_EQ(EVP_PKEY_get_bits(key_for(KeyAlgorithm::Rsa4096).get()), 4096);
  EXPECT_EQ(EVP_PKEY_get_base_id(key_for(KeyAlgorithm::Ed25519).get()), EVP_PKEY_ED25519);
}

TEST(KeyAlgorithm, SigningDigest) {
  EXPECT_EQ(signing_digest(key_for(KeyAlgorithm::EcP256).get()), EVP_sha256());
  EXPECT_EQ(signing_digest(key_for(KeyAlgorithm::EcP384).get()), EVP_sha384());
  EXPECT_EQ(signing_digest(key_for(KeyAlgorithm::Rsa2048).get()), EVP_sha256());
  EXPECT_EQ(signing_digest(key_for(KeyAlgorithm::Rsa3072).get()), EVP_sha256());
  EXPECT_EQ(signing_digest(key_for(KeyAlgorithm::Rsa4096).get()), EVP_sha256());
  EXPECT_EQ(signing_digest(key_for(KeyAlgorithm::Ed25519).get()), nullptr);
}

TEST(KeyAlgorithm, DescribesForeignKeys) {
  ossl::PKey k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  ASSERT_TRUE(k1);
  EXPECT_EQ(describe_key(k1.get()), "ec-secp256k1");
  ossl::PKey k2(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  ASSERT_TRUE(k2);
  EXPECT_EQ(describe_key(k2.get()), "ec-p521");
  ossl::PKey k3(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
  ASSERT_TRUE(k3);
  EXPECT_EQ(describe_key(k3.get()), "ed448");
  ossl::PKeyCtx pss_ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
  ASSERT_TRUE(pss_ctx);
  ASSERT_EQ(EVP_PKEY_keygen_init(pss_ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_keygen_bits(pss_ctx.get(), 2048), 1);
  EVP_PKEY* pss = nullptr;
  ASSERT_EQ(EVP_PKEY_generate(pss_ctx.get(), &pss), 1);
  ossl::PKey k4(pss);
  EXPECT_EQ(describe_key(k4.get()), "rsa-pss-2048");
}

// ---------------------------------------------------------------------------------------------
// Requests

class BuildRequest : public ::testing::TestWithParam<KeyAlgorithm> {};

TEST_P(BuildRequest, VerifiesAndCarriesSubjectAndNames) {
  const auto& key = key_for(GetParam());
  RequestSpec spec;
  spec.subject = "O=Example Ltd,C=GB";
  spec.dns = {"www.example.com", "example.com", "*.example.org"};
  spec.ip = {"192.0.2.10", "2001:db8::10"};
  const ossl::Req req = build_request(key.get(), spec);
  ASSERT_TRUE(req);

  // Signature, judged by OpenSSL with the key we hold.
  EXPECT_EQ(X509_REQ_verify(req.get(), key.get()), 1);
  EXPECT_TRUE(request_signature_valid(req.get()));

  // Subject: C, O, CN in DER order, so RFC 4514 order reads CN first.
  const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
  const std::vector<std::pair<std::string, std::string>> expected_entries = {
      {"C", "GB"}, {"O", "Example Ltd"}, {"CN", "www.example.com"}};
  EXPECT_EQ(name_entries(subject), expected_entries);
  EXPECT_EQ(name_to_string(subject), "CN=www.example.com,O=Example Ltd,C=GB");

  // subjectAltName, read with OpenSSL only.
  const RawSans sans = request_sans(req.get());
  EXPECT_EQ(sans.dns, spec.dns);
  ASSERT_EQ(sans.ip_bytes.size(), 2u);
  EXPECT_EQ(sans.ip_bytes[0], ip_bytes(AF_INET, "192.0.2.10"));
  EXPECT_EQ(sans.ip_bytes[1], ip_bytes(AF_INET6, "2001:db8::10"));

  // The public key in the request is ours.
  EXPECT_EQ(EVP_PKEY_eq(X509_REQ_get0_pubkey(req.get()), key.get()), 1);

  const RequestInfo info = inspect_request(req.get());
  EXPECT_EQ(info.subject, "CN=www.example.com,O=Example Ltd,C=GB");
  EXPECT_EQ(info.dns, spec.dns);
  const std::vector<std::string> expected_ip = {"192.0.2.10", "2001:db8::10"};
  EXPECT_EQ(info.ip, expected_ip);
  EXPECT_EQ(info.spki, spki_der(key.get()));
  EXPECT_EQ(info.spki_sha256, evp_sha256_hex(info.spki.data(), info.spki.size()));
}

TEST_P(BuildRequest, FlippedSignatureByteFailsVerification) {
  const auto& key = key_for(GetParam());
  const ossl::Req req = build_request(key.get(), RequestSpec{"", {"www.example.com"}, {}});
  Bytes der = request_der(req.get());
  const ASN1_BIT_STRING* sig = nullptr;
  const X509_ALGOR* alg = nullptr;
  X509_REQ_get0_signature(req.get(), &sig, &alg);
  ASSERT_NE(sig, nullptr);
  const auto sig_len = static_cast<std::size_t>(ASN1_STRING_length(sig));
  ASSERT_GT(sig_len, 8u);
  // The signature BIT STRING ends the DER encoding: flip a byte in its middle.
  der[der.size() - sig_len / 2] ^= 0x01;
  const unsigned char* p = der.data();
  ossl::Req damaged(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(damaged);
  EXPECT_FALSE(request_signature_valid(damaged.get()));
  EXPECT_NE(X509_REQ_verify(damaged.get(), key.get()), 1);  // the independent judge agrees
  ERR_clear_error();
  // The undamaged encoding still verifies after a DER round trip.
  const Bytes good = request_der(req.get());
  const ossl::Req again = request_from_der(good);
  EXPECT_TRUE(request_signature_valid(again.get()));
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, BuildRequest, ::testing::ValuesIn(k_all_algorithms),
                         [](const ::testing::TestParamInfo<KeyAlgorithm>& param_info) {
                           std::string n(key_algorithm_name(param_info.param));
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(Request, IpOnlyRequestUsesTheFirstIpAsCommonName) {
  const auto& key = key_for(KeyAlgorithm::EcP256);
  const ossl::Req req = build_request(key.get(), RequestSpec{"", {}, {"192.0.2.7", "::1"}});
  EXPECT_EQ(X509_REQ_verify(req.get(), key.get()), 1);
  const std::vector<std::pair<std::string, std::string>> expected = {{"CN", "192.0.2.7"}};
  EXPECT_EQ(name_entries(X509_REQ_get_subject_name(req.get())), expected);
  const RawSans sans = request_sans(req.get());
  EXPECT_TRUE(sans.dns.empty());
  ASSERT_EQ(sans.ip_bytes.size(), 2u);
  EXPECT_EQ(sans.ip_bytes[0], ip_bytes(AF_INET, "192.0.2.7"));
  EXPECT_EQ(sans.ip_bytes[1], ip_bytes(AF_INET6, "::1"));
}

TEST(Request, CommonNameIsTheFirstNameThatFitsIn64Characters) {
  // RFC 5280 ub-common-name is 64; a longer first name stays in the subjectAltName only.
  const auto& key = key_for(KeyAlgorithm::EcP256);
  const std::string long_name = std::string(60, 'a') + ".example.com";
  ASSERT_GT(long_name.size(), 64u);
  const ossl::Req req =
      build_request(key.get(), RequestSpec{"", {long_name, "short.example"}, {}});
  const std::vector<std::pair<std::string, std::string>> expected = {{"CN", "short.example"}};
  EXPECT_EQ(name_entries(X509_REQ_get_subject_name(req.get())), expected);
  EXPECT_EQ(request_sans(req.get()).dns, (std::vector<std::string>{long_name, "short.example"}));
}

TEST(Request, GivenCommonNameIsKept) {
  const auto& key = key_for(KeyAlgorithm::EcP256);
  const ossl::Req req =
      build_request(key.get(), RequestSpec{"CN=Custom Name,O=Org", {"www.example.com"}, {}});
  const std::vector<std::pair<std::string, std::string>> expected = {{"O", "Org"},
                                                                     {"CN", "Custom Name"}};
  EXPECT_EQ(name_entries(X509_REQ_get_subject_name(req.get())), expected);
  EXPECT_EQ(request_sans(req.get()).dns, std::vector<std::string>{"www.example.com"});
}

TEST(Request, SubjectCommonNameWithoutAltNames) {
  const auto& key = key_for(KeyAlgorithm::EcP256);
  const ossl::Req req = build_request(key.get(), RequestSpec{"CN=internal,O=Org", {}, {}});
  EXPECT_EQ(X509_REQ_verify(req.get(), key.get()), 1);
  EXPECT_EQ(name_to_string(X509_REQ_get_subject_name(req.get())), "CN=internal,O=Org");
  const RawSans sans = request_sans(req.get());
  EXPECT_TRUE(sans.dns.empty());
  EXPECT_TRUE(sans.ip_bytes.empty());
}

// No DNS name, no IP and no CN in the subject: there is nothing to name the request by.
// That must be reported as a keysafe::Error, not crash (run in a child process).
TEST(RequestDeathTest, NoNamesAtAllIsAnErrorNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const ossl::PKey key = generate_key(KeyAlgorithm::EcP256);
        try {
          (void)build_request(key.get(), RequestSpec{"O=Example Ltd", {}, {}});
        } catch (const Error&) {
          std::_Exit(0);
        }
        std::_Exit(3);  // a request without any name was built
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Request, PemAndDerRoundTrip) {
  const auto& key = key_for(KeyAlgorithm::Ed25519);
  const ossl::Req req = build_request(key.get(), RequestSpec{"", {"a.example"}, {}});
  const std::string pem = request_pem(req.get());
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u);
  ossl::Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::Req parsed(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(request_der(parsed.get()), request_der(req.get()));
}

TEST(Request, RequestFromDerRejectsGarbageAndTrailingBytes) {
  const auto& key = key_for(KeyAlgorithm::EcP256);
  const ossl::Req req = build_request(key.get(), RequestSpec{"", {"a.example"}, {}});
  Bytes der = request_der(req.get());
  der.push_back(0);
  EXPECT_EQ(error_code_of([&] { (void)request_from_der(der); }), Errc::StoreDamaged);
  const Bytes garbage = {0x30, 0x03, 0x01, 0x02, 0x03};
  EXPECT_EQ(error_code_of([&] { (void)request_from_der(garbage); }), Errc::StoreDamaged);
  ERR_clear_error();
}

// ---------------------------------------------------------------------------------------------
// Names

TEST(Names, NormalizeDnsName) {
  EXPECT_EQ(normalize_dns_name("WWW.Example.COM"), "www.example.com");
  EXPECT_EQ(normalize_dns_name("www.example.com."), "www.example.com");
  EXPECT_EQ(normalize_dns_name("*.Example.com"), "*.example.com");
  EXPECT_EQ(normalize_dns_name("localhost"), "localhost");
  EXPECT_EQ(normalize_dns_name("a-b.example"), "a-b.example");
  EXPECT_EQ(normalize_dns_name(std::string(63, 'a') + ".com"), std::string(63, 'a') + ".com");
}

TEST(Names, NormalizeDnsNameRejectsInvalidNames) {
  const std::vector<std::string> bad = {
      "",
      ".",
      "a..b",
      "-a.com",
      "a-.com",
      "a.-b.com",
      std::string(64, 'a') + ".com",
      "www.*.example.com",
      "*",
      "*.",
      "**.example.com",
      "w*.example.com",
      "example.*",
      "a b.com",
      "a/b.com",
      "exa$mple.com",
      ".example.com",
      "example.com..",
      "_acme.example.com",
      "a_b.example.com",
      "192.0.2.1",
  };
  for (const auto& name : bad) {
    try {
      (void)normalize_dns_name(name);
      ADD_FAILURE() << "accepted \"" << name << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::Usage) << name;
      EXPECT_FALSE(e.summary().empty());
      EXPECT_FALSE(e.cause().empty());
    }
  }
}

TEST(Names, NormalizeDnsNameRejectsOverlongNames) {
  std::string name;
  while (name.size() < 254) name += "abcdefghi.";
  name.pop_back();  // no trailing dot: more than 253 characters
  ASSERT_GT(name.size(), 253u);
  EXPECT_EQ(error_code_of([&] { (void)normalize_dns_name(name); }), Errc::Usage);
}

TEST(Names, NormalizeIp) {
  EXPECT_EQ(normalize_ip("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(normalize_ip("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
  EXPECT_EQ(normalize_ip("2001:0db8:0000:0000:0000:0000:0000:0010"), "2001:db8::10");
  EXPECT_EQ(normalize_ip("::1"), "::1");
  EXPECT_EQ(normalize_ip("0:0:0:0:0:0:0:0"), "::");
  for (const char* bad : {"1.2.3", "1.2.3.4.5", "256.1.1.1", "", "example.com", "1.2.3.4/24",
                          "2001:db8:::1", " 1.2.3.4", "gggg::1"}) {
    try {
      (void)normalize_ip(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::Usage) << bad;
    }
  }
}

TEST(Names, ParseSubjectOrderAndEscapes) {
  const ossl::Name name = parse_subject("O=Example Ltd,C=GB");
  const std::vector<std::pair<std::string, std::string>> expected = {{"C", "GB"},
                                                                     {"O", "Example Ltd"}};
  EXPECT_EQ(name_entries(name.get()), expected);
  EXPECT_EQ(name_to_string(name.get()), "O=Example Ltd,C=GB");

  const ossl::Name escaped = parse_subject("O=Example\\, Ltd , C = GB");
  const std::vector<std::pair<std::string, std::string>> expected_escaped = {
      {"C", "GB"}, {"O", "Example, Ltd"}};
  EXPECT_EQ(name_entries(escaped.get()), expected_escaped);

  const ossl::Name empty = parse_subject("");
  EXPECT_EQ(X509_NAME_entry_count(empty.get()), 0);
}

TEST(Names, ParseSubjectErrorsAreUsage) {
  for (const char* bad : {"XYZZY=foo", "O=Example,Bogus=1", "O", "O=Example,C", "O=", "O= ,C=GB",
                          "O=a,,C=GB", "O=a,", ",O=a", "C=GBR"}) {
    try {
      (void)parse_subject(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::Usage) << bad;
      EXPECT_FALSE(e.cause().empty()) << bad;
    }
  }
  ERR_clear_error();
}

TEST(Names, CommonName) {
  const ossl::Name name = parse_subject("CN=host.example,O=Org");
  EXPECT_EQ(common_name(name.get()), std::optional<std::string>("host.example"));
  const ossl::Name none = parse_subject("O=Org");
  EXPECT_FALSE(common_name(none.get()).has_value());
}

// ---------------------------------------------------------------------------------------------
// Certificates from the third-party corpus

TEST(InspectCertificate, PycaCryptographyIo) {
  const ossl::Cert cert = load_cert(k_corpus / "certs/pyca-cryptography.io.pem");
  ASSERT_TRUE(cert);
  const CertificateInfo info = inspect_certificate(cert.get());
  EXPECT_NE(info.subject.find("CN=www.cryptography.io"), std::string::npos) << info.subject;
  EXPECT_NE(info.issuer.find("CN=RapidSSL SHA256 CA - G3"), std::string::npos) << info.issuer;
  const std::vector<std::string> expected_dns = {"www.cryptography.io", "cryptography.io"};
  EXPECT_EQ(info.dns, expected_dns);
  EXPECT_TRUE(info.ip.empty());
  EXPECT_EQ(info.fingerprint_sha256, der_sha256_hex(cert.get()));
  EXPECT_EQ(info.spki_sha256, independent_spki_sha256(cert.get()));
  EXPECT_EQ(info.spki_sha256, evp_sha256_hex(info.spki.data(), info.spki.size()));
  EXPECT_EQ(info.key_algorithm, "rsa-4096");  // openssl x509 -text: 4096 bit
  EXPECT_FALSE(info.is_ca);
  EXPECT_FALSE(info.self_issued);

  // Serial: uppercase hex without separators, equal to OpenSSL's own rendering.
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr);
  char* hex = BN_bn2hex(bn);
  EXPECT_EQ(info.serial_hex, std::string(hex));
  OPENSSL_free(hex);
  BN_free(bn);
  for (char c : info.serial_hex) EXPECT_TRUE(std::isdigit(c) || (c >= 'A' && c <= 'F'));

  // Validity: the Unix times match the certificate's ASN.1 times exactly.
  time_t t = static_cast<time_t>(info.not_after);
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(cert.get()), &t), -1);  // notAfter <= t
  t -= 1;
  EXPECT_EQ(X509_cmp_time(X509_get0_notAfter(cert.get()), &t), 1);  // notAfter > t - 1
  t = static_cast<time_t>(info.not_before);
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(cert.get()), &t), -1);
  t -= 1;
  EXPECT_EQ(X509_cmp_time(X509_get0_notBefore(cert.get()), &t), 1);
  EXPECT_LT(info.not_before, info.not_after);
}

TEST(InspectCertificate, FingerprintsOfSeveralCorpusCertificates) {
  for (const char* file :
       {"certs/pyca-ed25519-rfc8410.pem", "certs/pyca-v1_cert.pem", "certs/openssl-cyrillic.pem",
        "certs/openssl-ee-rsa-768.pem", "certs/dotnet-MS.pem", "pairs/ed25519-match/cert.pem",
        "chains/openssl-verify-01-ee-cert/trusted-root-cert.pem"}) {
    SCOPED_TRACE(file);
    const ossl::Cert cert = load_cert(k_corpus / file);
    ASSERT_TRUE(cert);
    const CertificateInfo info = inspect_certificate(cert.get());
    EXPECT_EQ(info.fingerprint_sha256, der_sha256_hex(cert.get()));
    EXPECT_EQ(info.spki_sha256, independent_spki_sha256(cert.get()));
    EXPECT_EQ(info.fingerprint_sha256.size(), 64u);
    EXPECT_FALSE(info.subject.empty());
  }
}

TEST(InspectCertificate, KeyAlgorithmsAndCaFlags) {
  // RFC 8410's example certificate carries an X25519 key, signed with Ed25519.
  const ossl::Cert x25519 = load_cert(k_corpus / "certs/pyca-ed25519-rfc8410.pem");
  std::string x_name = inspect_certificate(x25519.get()).key_algorithm;
  for (auto& c : x_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(x_name, "x25519");
  const ossl::Cert ed = load_cert(k_corpus / "pairs/ed25519-match/cert.pem");
  EXPECT_EQ(inspect_certificate(ed.get()).key_algorithm, "ed25519");
  const ossl::Cert weak = load_cert(k_corpus / "certs/openssl-ee-rsa-768.pem");
  EXPECT_EQ(inspect_certificate(weak.get()).key_algorithm, "rsa-768");
  const ossl::Cert unsupported =
      load_cert(k_corpus / "certs/pyca-unsupported_subject_public_key_info.pem");
  ASSERT_TRUE(unsupported);
  EXPECT_EQ(inspect_certificate(unsupported.get()).key_algorithm.rfind("unsupported:", 0), 0u);
  ERR_clear_error();

  const ossl::Cert root = load_cert(k_corpus / "chains/openssl-verify-01-ee-cert/trusted-root-cert.pem");
  const CertificateInfo root_info = inspect_certificate(root.get());
  EXPECT_TRUE(root_info.is_ca);
  EXPECT_TRUE(root_info.self_issued);
  EXPECT_EQ(root_info.subject, "CN=Root CA");
  EXPECT_EQ(root_info.issuer, "CN=Root CA");
  const ossl::Cert leaf = load_cert(k_corpus / "chains/openssl-verify-01-ee-cert/leaf-ee-cert.pem");
  const CertificateInfo leaf_info = inspect_certificate(leaf.get());
  EXPECT_FALSE(leaf_info.is_ca);
  EXPECT_FALSE(leaf_info.self_issued);
}

// The schema (src/store/schema.cpp) defines is_ca as "1 when basicConstraints CA is set".
// A self-signed v1 certificate (what `openssl x509 -req -signkey` makes for a web server)
// has no basicConstraints at all.
TEST(InspectCertificate, SelfSignedV1LeafIsNotACa) {
  const auto& key = key_for(KeyAlgorithm::EcP256);
  ossl::Cert cert(X509_new());
  ASSERT_EQ(X509_set_version(cert.get(), X509_VERSION_1), 1);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 5);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("www.example.com"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  ASSERT_EQ(X509_get_ext_by_NID(cert.get(), NID_basic_constraints, -1), -1);

  const CertificateInfo info = inspect_certificate(cert.get());
  EXPECT_TRUE(info.self_issued);
  EXPECT_FALSE(info.is_ca) << "no basicConstraints, yet recorded as a CA";
}

TEST(InspectCertificate, UnicodeSubjectIsKeptAsUtf8) {
  const ossl::Cert cert = load_cert(k_corpus / "certs/openssl-cyrillic.pem");
  const CertificateInfo info = inspect_certificate(cert.get());
  // "Москва" in UTF-8, not escaped as \D0\9C...
  EXPECT_NE(info.subject.find("L=\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"),
            std::string::npos)
      << info.subject;
}

TEST(CertificateDer, RoundTripAndPem) {
  const ossl::Cert cert = load_cert(k_corpus / "certs/pyca-cryptography.io.pem");
  const Bytes der = certificate_der(cert.get());
  const ossl::Cert again = certificate_from_der(der);
  EXPECT_EQ(X509_cmp(cert.get(), again.get()), 0);
  const std::string pem = certificate_pem(cert.get());
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  Bytes trailing = der;
  trailing.push_back(0);
  EXPECT_EQ(error_code_of([&] { (void)certificate_from_der(trailing); }), Errc::StoreDamaged);
  ERR_clear_error();
}

// ---------------------------------------------------------------------------------------------
// Keys and certificates

TEST(PublicKey, CorpusPairsMatchOrNot) {
  struct Case {
    const char* dir;
    bool matches;
  };
  for (const Case& c : {Case{"servercert-serverkey", true}, Case{"ed25519-match", true},
                        Case{"servercert-wrongkey", false}, Case{"alt1cert-alt2key", false}}) {
    SCOPED_TRACE(c.dir);
    const auto dir = k_corpus / "pairs" / c.dir;
    const ossl::Cert cert = load_cert(dir / "cert.pem");
    const ossl::PKey key = load_key(dir / "key.pem");
    ASSERT_TRUE(cert);
    ASSERT_TRUE(key);
    EXPECT_EQ(certificate_matches_key(cert.get(), key.get()), c.matches);
    // OpenSSL's own judgement agrees with the corpus.
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()) == 1, c.matches);
    ERR_clear_error();
  }
}

TEST(PublicKey, SpkiOfKeyCertAndRequestAgree) {
  const ossl::Cert cert = load_cert(k_corpus / "pairs/servercert-serverkey/cert.pem");
  const ossl::PKey key = load_key(k_corpus / "pairs/servercert-serverkey/key.pem");
  EXPECT_EQ(spki_der(cert.get()), spki_der(key.get()));
  EXPECT_EQ(spki_sha256_hex(spki_der(cert.get())), independent_spki_sha256(cert.get()));
  const ossl::Req req = build_request(key.get(), RequestSpec{"", {"server.example"}, {}});
  EXPECT_EQ(spki_der(req.get()), spki_der(key.get()));
}

TEST(PublicKey, Pkcs8RoundTrip) {
  for (KeyAlgorithm alg : k_all_algorithms) {
    SCOPED_TRACE(std::string(key_algorithm_name(alg)));
    const auto& key = key_for(alg);
    const SecureBytes pkcs8 = private_key_to_pkcs8(key.get());
    ASSERT_FALSE(pkcs8.empty());
    const ossl::PKey back = private_key_from_pkcs8(pkcs8);
    ASSERT_TRUE(back);
    EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
    // An independent decoder reads the same PKCS#8.
    const unsigned char* p = pkcs8.data();
    ossl::PKey independent(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8.size())));
    ASSERT_TRUE(independent);
    EXPECT_EQ(EVP_PKEY_eq(independent.get(), key.get()), 1);
  }
}

TEST(PublicKey, Pkcs8OfCorpusKeyRoundTrips) {
  const ossl::PKey key = load_key(k_corpus / "pairs/ed25519-match/key.pem");
  const ossl::PKey back = private_key_from_pkcs8(private_key_to_pkcs8(key.get()));
  EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
}

TEST(PublicKey, Pkcs8FromGarbageIsStoreDamaged) {
  const Bytes garbage = {0x30, 0x05, 0x02, 0x01, 0x00, 0x05, 0x00};
  EXPECT_EQ(error_code_of([&] { (void)private_key_from_pkcs8(garbage); }), Errc::StoreDamaged);
  SecureBytes pkcs8 = private_key_to_pkcs8(key_for(KeyAlgorithm::EcP256).get());
  pkcs8.push_back(0);
  EXPECT_EQ(error_code_of([&] { (void)private_key_from_pkcs8(pkcs8); }), Errc::StoreDamaged);
  ERR_clear_error();
}

// ---------------------------------------------------------------------------------------------
// Chains

TEST(CheckChain, ThreeLevelChainTrustedWithItsRoot) {
  const auto dir = k_corpus / "chains/openssl-verify-01-ee-cert";
  const ossl::Cert leaf = load_cert(dir / "leaf-ee-cert.pem");
  const ossl::Cert ca = load_cert(dir / "untrusted-ca-cert.pem");
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  // case.json: leaf, untrusted intermediate, trusted root (the anchor, given as the CA file).
  const ChainCheck check = check_chain(leaf.get(), {ca.get()}, dir / "trusted-root-cert.pem", now);
  EXPECT_TRUE(check.trusted) << check.problem;
  EXPECT_TRUE(check.problem.empty());
  ASSERT_EQ(check.chain.size(), 1u);  // the intermediate; the anchor was not supplied
  EXPECT_EQ(X509_cmp(check.chain[0].get(), ca.get()), 0);
  EXPECT_EQ(check.unrelated, 0u);
  EXPECT_TRUE(check.missing_issuer.empty());
}

TEST(CheckChain, UnrelatedSuppliedCertificatesAreCounted) {
  const auto dir = k_corpus / "chains/openssl-verify-01-ee-cert";
  const ossl::Cert leaf = load_cert(dir / "leaf-ee-cert.pem");
  const ossl::Cert ca = load_cert(dir / "untrusted-ca-cert.pem");
  const ossl::Cert other = load_cert(k_corpus / "certs/pyca-cryptography.io.pem");
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const ChainCheck check =
      check_chain(leaf.get(), {other.get(), ca.get()}, dir / "trusted-root-cert.pem", now);
  EXPECT_TRUE(check.trusted) << check.problem;
  EXPECT_EQ(check.chain.size(), 1u);
  EXPECT_EQ(check.unrelated, 1u);
}

TEST(CheckChain, WithoutAnchorIsNotTrusted) {
  const auto dir = k_corpus / "chains/openssl-verify-10-ee-cert";
  const ossl::Cert leaf = load_cert(dir / "leaf-ee-cert.pem");
  const ossl::Cert ca = load_cert(dir / "untrusted-ca-cert.pem");
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  const ChainCheck check = check_chain(leaf.get(), {ca.get()}, std::nullopt, now);
  EXPECT_FALSE(check.trusted);
  EXPECT_FALSE(check.problem.empty());
  // The path through the supplied intermediate is still reported, and the missing root named.
  ASSERT_EQ(check.chain.size(), 1u);
  EXPECT_EQ(X509_cmp(check.chain[0].get(), ca.get()), 0);
  EXPECT_EQ(check.missing_issuer, "CN=Root CA");
}

TEST(CheckChain, WrongAnchorIsNotTrusted) {
  const auto dir = k_corpus / "chains/openssl-verify-10-ee-cert";
  const ossl::Cert leaf = load_cert(dir / "leaf-ee-cert.pem");
  const ossl::Cert ca = load_cert(dir / "untrusted-ca-cert.pem");
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  // A CA file holding an unrelated self-signed certificate.
  const ChainCheck check = check_chain(
      leaf.get(), {ca.get()}, k_corpus / "certs/pyca-cryptography.io.pem", now);
  EXPECT_FALSE(check.trusted);
  EXPECT_FALSE(check.problem.empty());
}

TEST(CheckChain, VerificationTimeIsTheGivenNow) {
  const auto dir = k_corpus / "chains/openssl-verify-01-ee-cert";
  const ossl::Cert leaf = load_cert(dir / "leaf-ee-cert.pem");
  const ossl::Cert ca = load_cert(dir / "untrusted-ca-cert.pem");
  // The leaf's notAfter, read with OpenSSL: one day later the chain is expired.
  struct tm tm {};
  ASSERT_EQ(ASN1_TIME_to_tm(X509_get0_notAfter(leaf.get()), &tm), 1);
  const std::int64_t not_after = static_cast<std::int64_t>(timegm(&tm));
  const ChainCheck later =
      check_chain(leaf.get(), {ca.get()}, dir / "trusted-root-cert.pem", not_after + 86400);
  EXPECT_FALSE(later.trusted);
  EXPECT_NE(later.problem.find("expired"), std::string::npos) << later.problem;
  ASSERT_EQ(ASN1_TIME_to_tm(X509_get0_notBefore(leaf.get()), &tm), 1);
  const std::int64_t not_before = static_cast<std::int64_t>(timegm(&tm));
  const ChainCheck earlier =
      check_chain(leaf.get(), {ca.get()}, dir / "trusted-root-cert.pem", not_before - 86400);
  EXPECT_FALSE(earlier.trusted);
  EXPECT_NE(earlier.problem.find("not yet valid"), std::string::npos) << earlier.problem;
}

TEST(CheckChain, UnreadableCaFileIsBadInput) {
  const auto dir = k_corpus / "chains/openssl-verify-01-ee-cert";
  const ossl::Cert leaf = load_cert(dir / "leaf-ee-cert.pem");
  try {
    (void)check_chain(leaf.get(), {}, dir / "no-such-file.pem", 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::BadInput);
  }
  ERR_clear_error();
}

// Memory OpenSSL allocates for the caller is taken over by the handle catalogue (src/ossl):
// copied, then freed (ASan's leak checker in CI sees a missed free).
TEST(OsslTake, CopiesAndFreesWhatOpenSslAllocated) {
  EXPECT_TRUE(ossl::take_bytes(nullptr, -1).empty());
  EXPECT_TRUE(ossl::take_secret(nullptr, 0).empty());
  EXPECT_EQ(ossl::take_string(nullptr), "");
  auto* bytes = static_cast<unsigned char*>(OPENSSL_malloc(3));
  std::copy_n("abc", 3, bytes);
  EXPECT_EQ(ossl::take_bytes(bytes, 3), (Bytes{'a', 'b', 'c'}));
  auto* secret = static_cast<unsigned char*>(OPENSSL_malloc(2));
  std::copy_n("xy", 2, secret);
  EXPECT_EQ(ossl::take_secret(secret, 2), (SecureBytes{'x', 'y'}));
  EXPECT_EQ(ossl::take_string(OPENSSL_strdup("serial")), "serial");
}

// A key derived by hashing (the key-file KEK) is written into a cleansing buffer directly.
TEST(OsslTake, Sha256SecretIsSecureBytesAndTheSameDigest) {
  static_assert(std::is_same_v<decltype(sha256_secret(std::span<const std::uint8_t>())), SecureBytes>);
  const auto data = as_span("keysafe-key-file-kek-v1");
  const SecureBytes k = sha256_secret(data);
  EXPECT_EQ(Bytes(k.begin(), k.end()), sha256(data));
}

TEST(Names, PrintableNameEscapesControlBytes) {
  EXPECT_EQ(printable_name("a.example.test,IP:10.9.9.9"), "a.example.test,IP:10.9.9.9");
  EXPECT_EQ(printable_name(std::string_view("a\0b\n\\", 5)), "a\\x00b\\x0a\\x5c");
}

}  // namespace
}  // namespace keysafe::x509
