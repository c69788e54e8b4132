// keysafe adopt certbot's readers: certbot's renewal configuration (configobj read with inih,
// and what inih would read differently refused), its account JWK made into a key, the account
// directory of a server URL, and certbot's live/ -> archive/ link form.
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <functional>

#include "keysafe/acme/jws.hpp"
#include "keysafe/adopt/certbot.hpp"
#include "keysafe/deploy/file_set.hpp"
#include "keysafe/error.hpp"
#include "keysafe/x509/key_algorithm.hpp"

using keysafe::Errc;
using keysafe::Error;
using namespace keysafe::adopt;

namespace {

Errc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Errc::Internal;
}

// certbot 2.1.0's file for `certbot certonly --standalone --http-01-port 35055` (verbatim but
// for the paths).
constexpr const char* k_standalone = R"(# renew_before_expiry = 30 days
version = 2.1.0
archive_dir = /etc/letsencrypt/archive/www.example.test
cert = /etc/letsencrypt/live/www.example.test/cert.pem
privkey = /etc/letsencrypt/live/www.example.test/privkey.pem
chain = /etc/letsencrypt/live/www.example.test/chain.pem
fullchain = /etc/letsencrypt/live/www.example.test/fullchain.pem

# Options used in the renewal process
[renewalparams]
account = df2324f29676110c63c885b35809d8be
http01_port = 35055
config_dir = /etc/letsencrypt
server = https://127.0.0.1:14000/dir
authenticator = standalone
key_type = ecdsa
)";

constexpr const char* k_webroot = R"(version = 1.21.0
cert = /etc/letsencrypt/live/example.com/cert.pem
[renewalparams]
account = 0123456789abcdef0123456789abcdef
authenticator = webroot
webroot_path = /var/www/html, /srv/other,
server = "https://acme-v02.api.letsencrypt.org/directory"
key_type = 'rsa'   # a configobj comment
[[webroot_map]]
example.com = /var/www/html
www.example.com = /var/www/html
)";

}  // namespace

TEST(CertbotConf, ReadsWhatCertbotWrites) {
  const auto c = parse_certbot_renewal(k_standalone, "www.example.test.conf");
  EXPECT_EQ(c.top.at("version"), "2.1.0");
  EXPECT_EQ(c.top.at("fullchain"), "/etc/letsencrypt/live/www.example.test/fullchain.pem");
  EXPECT_EQ(c.params.at("authenticator"), "standalone");
  EXPECT_EQ(c.params.at("http01_port"), "35055");
  EXPECT_EQ(c.params.at("server"), "https://127.0.0.1:14000/dir");
  EXPECT_EQ(c.params.at("account"), "df2324f29676110c63c885b35809d8be");
  EXPECT_TRUE(c.webroot_map.empty());
}

TEST(CertbotConf, WebrootMapSubsectionQuotesListsAndComments) {
  const auto c = parse_certbot_renewal(k_webroot, "example.com.conf");
  EXPECT_EQ(c.params.at("server"), "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(c.params.at("key_type"), "rsa");
  ASSERT_EQ(c.webroot_map.size(), 2u);
  EXPECT_EQ(c.webroot_map.at("www.example.com"), "/var/www/html");
  EXPECT_EQ(c.params.count("example.com"), 0u) << "the subsection's keys stay in the subsection";
  EXPECT_EQ(certbot_list(c.params.at("webroot_path")), (std::vector<std::string>{"/var/www/html", "/srv/other"}));
  EXPECT_EQ(certbot_list("/var/www/html,"), (std::vector<std::string>{"/var/www/html"}));
  EXPECT_EQ(certbot_list("'a b', \"c\""), (std::vector<std::string>{"a b", "c"}));
}

TEST(CertbotConf, UnknownSectionsAreNotedNotRead) {
  const auto c = parse_certbot_renewal("[renewalparams]\nauthenticator = webroot\n[other]\nx = 1\n", "f");
  EXPECT_EQ(c.ignored, (std::vector<std::string>{"other"}));
  EXPECT_EQ(c.params.count("x"), 0u);
}

TEST(CertbotConf, RefusesWhatInihReadsDifferently) {
  const auto refused = [](const std::string& text) {
    return code_of([&] { (void)parse_certbot_renewal(text, "f.conf"); });
  };
  EXPECT_EQ(refused("[renewalparams]\nwebroot_path = " + std::string(190, 'a') + "\n"), Errc::BadInput)
      << "a line longer than inih reads";
  EXPECT_EQ(refused("[renewalparams]\nwebroot_path = /srv/a ;b\n"), Errc::BadInput) << "\" ;\": inih cuts";
  EXPECT_EQ(refused("[renewalparams]\nauthenticator = webroot\n  continued\n"), Errc::BadInput)
      << "an indented line: inih appends it";
  EXPECT_EQ(refused("[renewalparams]\nserver = a\nserver = b\n"), Errc::BadInput) << "a key twice";
  EXPECT_EQ(refused("[renewalparams]\nthis is not a pair\n"), Errc::BadInput) << "inih's own error";
  EXPECT_EQ(refused(std::string("a = b\0c\n", 8)), Errc::BadInput) << "a NUL byte";
  EXPECT_EQ(refused(std::string(70 * 1024, '#')), Errc::BadInput) << "larger than 64 KiB";
  try {
    (void)parse_certbot_renewal("[renewalparams]\nx = 1\nnot a pair\n", "f.conf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.summary().find("\"f.conf\" line 3"), std::string::npos) << e.summary();
  }
}

TEST(CertbotConf, AccountDirectoryOfTheServer) {
  EXPECT_EQ(certbot_account_subdir("https://acme-v02.api.letsencrypt.org/directory"),
            "acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(certbot_account_subdir("https://127.0.0.1:14000/dir"), "127.0.0.1:14000/dir");
  EXPECT_EQ(code_of([] { (void)certbot_account_subdir("https://ca.example/../../etc"); }), Errc::BadInput);
  EXPECT_EQ(code_of([] { (void)certbot_account_subdir("https://ca.example//x"); }), Errc::BadInput);
  EXPECT_EQ(code_of([] { (void)certbot_account_subdir("http://ca.example/dir"); }), Errc::BadInput);
}

TEST(CertbotLink, OnlyCertbotsOwnLinkForm) {
  using keysafe::deploy::is_certbot_link;
  EXPECT_TRUE(is_certbot_link("../../archive/a.example/cert1.pem", "a.example", "cert.pem"));
  EXPECT_TRUE(is_certbot_link("../../archive/a.example/privkey12.pem", "a.example", "privkey.pem"));
  EXPECT_FALSE(is_certbot_link("../../archive/b.example/cert1.pem", "a.example", "cert.pem"));
  EXPECT_FALSE(is_certbot_link("../../archive/a.example/chain1.pem", "a.example", "cert.pem"));
  EXPECT_FALSE(is_certbot_link("/etc/shadow", "a.example", "cert.pem"));
  EXPECT_FALSE(is_certbot_link("../../archive/a.example/cert.pem", "a.example", "cert.pem"));
  EXPECT_FALSE(is_certbot_link("../../archive/a.example/cert1/../../../x.pem", "a.example", "cert.pem"));
  EXPECT_FALSE(is_certbot_link("../../archive/../cert1.pem", "..", "cert.pem"));
}

namespace {

std::string b64(const BIGNUM* n) {
  std::vector<unsigned char> buf(static_cast<std::size_t>(BN_num_bytes(n)));
  BN_bn2bin(n, buf.data());
  return keysafe::acme::base64url(std::span<const std::uint8_t>(buf.data(), buf.size()));
}

std::string bn_param(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &n), 1) << name;
  std::string out;
  if (pad > 0) {
    std::vector<unsigned char> buf(static_cast<std::size_t>(pad));
    BN_bn2binpad(n, buf.data(), pad);
    out = keysafe::acme::base64url(std::span<const std::uint8_t>(buf.data(), buf.size()));
  } else {
    out = b64(n);
  }
  BN_clear_free(n);
  return out;
}

// The private JWK certbot (josepy) writes for the key.
nlohmann::json private_jwk(EVP_PKEY* key) {
  nlohmann::json j = keysafe::acme::public_jwk(key);
  if (EVP_PKEY_is_a(key, "RSA")) {
    j["d"] = bn_param(key, OSSL_PKEY_PARAM_RSA_D);
    j["p"] = bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1);
    j["q"] = bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR2);
    j["dp"] = bn_param(key, OSSL_PKEY_PARAM_RSA_EXPONENT1);
    j["dq"] = bn_param(key, OSSL_PKEY_PARAM_RSA_EXPONENT2);
    j["qi"] = bn_param(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  } else {
    j["d"] = bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, j["crv"] == "P-256" ? 32 : 48);
  }
  return j;
}

}  // namespace

TEST(CertbotJwk, RsaAndEcKeysComeBackWhole) {
  for (const auto algorithm : {keysafe::x509::KeyAlgorithm::Rsa2048, keysafe::x509::KeyAlgorithm::EcP256,
                               keysafe::x509::KeyAlgorithm::EcP384}) {
    const auto key = keysafe::x509::generate_key(algorithm);
    const auto jwk = private_jwk(key.get());
    const auto back = private_key_from_jwk(jwk);
    EXPECT_EQ(EVP_PKEY_eq(key.get(), back.get()), 1) << jwk["kty"];
    // It signs: the JWS of an ACME request verifies with the original key.
    const auto sig = keysafe::acme::jws_sign(back.get(), "payload");
    EXPECT_TRUE(keysafe::acme::jws_verify(key.get(), "payload", sig));
    EXPECT_EQ(keysafe::acme::jwk_thumbprint(keysafe::acme::public_jwk(back.get())),
              keysafe::acme::jwk_thumbprint(keysafe::acme::public_jwk(key.get())));
  }
}

TEST(CertbotJwk, RefusesBrokenJwks) {
  const auto rsa = keysafe::x509::generate_key(keysafe::x509::KeyAlgorithm::Rsa2048);
  const auto ec = keysafe::x509::generate_key(keysafe::x509::KeyAlgorithm::EcP256);
  const auto other = keysafe::x509::generate_key(keysafe::x509::KeyAlgorithm::EcP256);
  const auto code = [](nlohmann::json j) { return code_of([&] { (void)private_key_from_jwk(j); }); };
  auto j = private_jwk(rsa.get());
  j.erase("qi");
  EXPECT_EQ(code(j), Errc::BadInput) << "a missing member";
  j = private_jwk(rsa.get());
  j["d"] = "not base64url!";
  EXPECT_EQ(code(j), Errc::BadInput);
  j = private_jwk(rsa.get());
  j["p"] = private_jwk(keysafe::x509::generate_key(keysafe::x509::KeyAlgorithm::Rsa2048).get())["p"];
  EXPECT_EQ(code(j), Errc::BadInput) << "a factor of another key";
  j = private_jwk(ec.get());
  j["d"] = private_jwk(other.get())["d"];
  EXPECT_EQ(code(j), Errc::BadInput) << "the private value of another EC key";
  j = private_jwk(ec.get());
  j["crv"] = "P-521";
  EXPECT_EQ(code(j), Errc::Unsupported);
  EXPECT_EQ(code(nlohmann::json{{"kty", "OKP"}, {"crv", "Ed25519"}}), Errc::Unsupported);
  EXPECT_EQ(code(nlohmann::json::array()), Errc::BadInput);
}
