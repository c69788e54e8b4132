// ACME protocol core: base64url, JWK thumbprints, JWS signatures, problem documents and the
// parsing of what a CA sends, against published vectors and OpenSSL's own verifier.
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>

#include "keysafe/acme/client.hpp"
#include "keysafe/acme/dns01.hpp"
#include "keysafe/acme/http01.hpp"
#include "keysafe/acme/jws.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace keysafe::acme {
namespace {

std::string as_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

// RFC 4648 §10 vectors, base64url without padding.
TEST(Base64url, Rfc4648Vectors) {
  EXPECT_EQ(base64url(std::string_view("")), "");
  EXPECT_EQ(base64url(std::string_view("f")), "Zg");
  EXPECT_EQ(base64url(std::string_view("fo")), "Zm8");
  EXPECT_EQ(base64url(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(base64url(std::string_view("foob")), "Zm9vYg");
  EXPECT_EQ(base64url(std::string_view("fooba")), "Zm9vYmE");
  EXPECT_EQ(base64url(std::string_view("foobar")), "Zm9vYmFy");
  const Bytes high = {0xfb, 0xff, 0xbf};  // the two characters base64 and base64url differ in
  EXPECT_EQ(base64url(high), "-_-_");
  EXPECT_EQ(from_base64url("-_-_"), high);
  EXPECT_EQ(from_base64url("Zm9vYmE"), Bytes({'f', 'o', 'o', 'b', 'a'}));
}

TEST(Base64url, RefusesWhatIsNotBase64url) {
  EXPECT_THROW(from_base64url("Zm9v+g"), Error);  // '+' is base64, not base64url
  EXPECT_THROW(from_base64url("Zm9v="), Error);
  EXPECT_THROW(from_base64url("Z"), Error);  // 4n+1 characters
}

// RFC 7638 §3.1: the example RSA key and its thumbprint.
constexpr const char* k_rfc7638_n =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
    "bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY36"
    "8QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4l"
    "Fd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

TEST(Jwk, Rfc7638ExampleThumbprint) {
  const nlohmann::json jwk = {{"kty", "RSA"}, {"n", k_rfc7638_n}, {"e", "AQAB"}, {"alg", "RS256"},
                              {"kid", "2011-04-29"}};
  EXPECT_EQ(jwk_thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(Jwk, PublicJwkOfTheRfc7638KeyGivesItsThumbprint) {
  // The key rebuilt from n and e by OpenSSL, then described again by public_jwk: the bytes of
  // n and e (minimal, big-endian) must come out as the RFC has them.
  const auto key = key_from_jwk({{"kty", "RSA"}, {"n", k_rfc7638_n}, {"e", "AQAB"}});
  const auto jwk = public_jwk(key.get());
  EXPECT_EQ(jwk["n"], k_rfc7638_n);
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(jwk.size(), 3u);
  EXPECT_EQ(jwk_thumbprint(jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EXPECT_EQ(jws_algorithm(key.get()), "RS256");
}

TEST(Jwk, EcKeyHasPaddedCoordinates) {
  for (int i = 0; i < 8; ++i) {  // some keys have a leading zero byte in x or y
    const auto key = x509::generate_key(x509::KeyAlgorithm::EcP256);
    const auto jwk = public_jwk(key.get());
    EXPECT_EQ(jwk["kty"], "EC");
    EXPECT_EQ(jwk["crv"], "P-256");
    EXPECT_EQ(from_base64url(jwk["x"].get<std::string>()).size(), 32u);
    EXPECT_EQ(from_base64url(jwk["y"].get<std::string>()).size(), 32u);
    // The JWK names the same public key: rebuilt, it compares equal.
    EXPECT_EQ(EVP_PKEY_eq(key_from_jwk(jwk).get(), key.get()), 1);
  }
  const auto p384 = x509::generate_key(x509::KeyAlgorithm::EcP384);
  const auto jwk = public_jwk(p384.get());
  EXPECT_EQ(jwk["crv"], "P-384");
  EXPECT_EQ(from_base64url(jwk["x"].get<std::string>()).size(), 48u);
  EXPECT_EQ(jws_algorithm(p384.get()), "ES384");
}

TEST(Jwk, Ed25519IsRefusedForAccounts) {
  const auto key = x509::generate_key(x509::KeyAlgorithm::Ed25519);
  try {
    public_jwk(key.get());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::Unsupported);
    EXPECT_NE(e.remedy().find("ec-p256"), std::string::npos);
  }
}

// RFC 7515 Appendix A.3: the ES256 example's signature verifies under its key, which needs
// the raw r‖s form to be read right (and its JWK to be turned into the key).
TEST(Jws, VerifiesRfc7515ExampleEs256) {
  const nlohmann::json jwk = {{"kty", "EC"},
                              {"crv", "P-256"},
                              {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                              {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  const std::string input =
      "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLm"
      "NvbS9pc19yb290Ijp0cnVlfQ";
  const Bytes sig = from_base64url(
      "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q");
  const auto key = key_from_jwk(jwk);
  EXPECT_TRUE(jws_verify(key.get(), input, sig));
  Bytes flipped = sig;
  flipped[10] ^= 1;
  EXPECT_FALSE(jws_verify(key.get(), input, flipped));
}

// Verifies a raw r‖s signature with OpenSSL directly (not through jws_verify).
bool openssl_verifies_es256(EVP_PKEY* key, std::string_view input, const Bytes& raw) {
  if (raw.size() != 64) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key);
  const int ok = EVP_DigestVerify(md, der, static_cast<std::size_t>(len),
                                  reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  return ok == 1;
}

TEST(Jws, Es256SignatureIsRawRsAndVerifiesWithOpenssl) {
  const auto key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const auto jws = flattened_jws(key.get(), {{"nonce", "n1"}, {"url", "https://ca.test/x"}},
                                 R"({"a":1})");
  const auto header = nlohmann::json::parse(
      std::string(reinterpret_cast<const char*>(from_base64url(jws["protected"].get<std::string>()).data()),
                  from_base64url(jws["protected"].get<std::string>()).size()));
  EXPECT_EQ(header["alg"], "ES256");
  EXPECT_EQ(header["nonce"], "n1");
  EXPECT_EQ(jws["payload"], base64url(std::string_view(R"({"a":1})")));
  const Bytes sig = from_base64url(jws["signature"].get<std::string>());
  ASSERT_EQ(sig.size(), 64u);  // r and s, 32 bytes each, never DER
  const std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  EXPECT_TRUE(openssl_verifies_es256(key.get(), input, sig));
  EXPECT_FALSE(openssl_verifies_es256(key.get(), input + "x", sig));
}

TEST(Jws, PostAsGetHasAnEmptyPayload) {
  const auto key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const auto jws = flattened_jws(key.get(), {{"kid", "https://ca.test/acct/1"}}, "");
  EXPECT_EQ(jws["payload"], "");
}

TEST(Jws, Rs256VerifiesWithOpenssl) {
  const auto key = x509::generate_key(x509::KeyAlgorithm::Rsa2048);
  const std::string input = "eyJhbGciOiJSUzI1NiJ9.e30";
  const Bytes sig = jws_sign(key.get(), input);
  EXPECT_EQ(sig.size(), 256u);
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.get());
  EXPECT_EQ(EVP_DigestVerify(md, sig.data(), sig.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(md);
}

TEST(Directory, ParsesPebblesDirectory) {
  // As Pebble 2.4.0 serves it (curl --cacert ca.pem https://127.0.0.1:14000/dir).
  const auto d = parse_directory(R"({
   "keyChange": "https://127.0.0.1:14000/rollover-account-key",
   "meta": {"externalAccountRequired": false, "termsOfService": "data:text/plain,Do%20what%20thou%20wilt"},
   "newAccount": "https://127.0.0.1:14000/sign-me-up",
   "newNonce": "https://127.0.0.1:14000/nonce-plz",
   "newOrder": "https://127.0.0.1:14000/order-plz",
   "revokeCert": "https://127.0.0.1:14000/revoke-cert"})",
                                 "https://127.0.0.1:14000/dir");
  EXPECT_EQ(d.new_nonce, "https://127.0.0.1:14000/nonce-plz");
  EXPECT_EQ(d.new_order, "https://127.0.0.1:14000/order-plz");
  EXPECT_EQ(d.renewal_info, "");
  EXPECT_FALSE(d.external_account_required);
}

TEST(Directory, MalformedAnswersAreErrorsNotCrashes) {
  for (const char* body : {"", "{", "[]", "null", "\"x\"", R"({"newNonce": 5})",
                           R"({"newNonce":"http://a/n","newAccount":"https://a/b","newOrder":"https://a/c"})",
                           "<html>not json</html>"}) {
    try {
      parse_directory(body, "https://ca.test/dir");
      FAIL() << "accepted: " << body;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::BadInput) << body;
      EXPECT_NE(std::string(e.summary()).find("ca.test"), std::string::npos) << e.summary();
    }
  }
}

TEST(Problem, ChallengeErrorSaysWhatTheCaSaw) {
  const auto e = problem_error(
      nlohmann::json{{"type", "urn:ietf:params:acme:error:connection"},
                     {"detail", "127.0.0.1: Fetching http://a.example.test:5002/.well-known/"
                                "acme-challenge/abc: Connection refused"},
                     {"status", 400}},
      "the http-01 challenge for a.example.test");
  EXPECT_EQ(e.code(), Errc::AcmeRefused);
  EXPECT_EQ(exit_code_for(e.code()), 15);
  EXPECT_NE(e.summary().find("a.example.test"), std::string::npos);
  EXPECT_NE(e.summary().find("could not connect"), std::string::npos);
  EXPECT_NE(e.cause().find("Connection refused"), std::string::npos);
  EXPECT_NE(e.cause().find("(connection)"), std::string::npos);
  EXPECT_NE(e.remedy().find("port 80"), std::string::npos);
}

TEST(Problem, RateLimitedNamesTheRetryTime) {
  HttpResponse r;
  r.status = 429;
  r.url = "https://ca.test/new-order";
  r.headers = {{"content-type", "application/problem+json"}, {"retry-after", "3600"}};
  r.body = R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many certificates"})";
  const auto e = problem_error(r, "the order for a.example", 1000);
  EXPECT_EQ(e.code(), Errc::AcmeRefused);
  EXPECT_NE(e.remedy().find("3600 s"), std::string::npos) << e.remedy();
  EXPECT_NE(e.cause().find("too many certificates"), std::string::npos);
}

TEST(Problem, SubproblemsAndHostileTextStayBoundedAndPrintable) {
  nlohmann::json p = {{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
                      {"detail", std::string(5000, 'x') + "\x1b[31m"},
                      {"subproblems", nlohmann::json::array()}};
  for (int i = 0; i < 50; ++i)
    p["subproblems"].push_back({{"type", "urn:ietf:params:acme:error:rejectedIdentifier"},
                                {"identifier", {{"type", "dns"}, {"value", "n" + std::to_string(i) + ".test"}}},
                                {"detail", "policy forbids"}});
  const auto e = problem_error(p, "the order");
  EXPECT_LT(e.cause().size(), 2000u);
  EXPECT_EQ(e.cause().find('\x1b'), std::string::npos);
  EXPECT_NE(e.cause().find("n0.test: rejectedIdentifier policy forbids"), std::string::npos);
  EXPECT_NE(e.summary().find("policy refuses"), std::string::npos);
}

TEST(Problem, ABodyThatIsNoProblemDocumentIsStillAnError) {
  HttpResponse r;
  r.status = 502;
  r.url = "https://ca.test/x";
  r.body = "<html>bad gateway</html>";
  const auto e = problem_error(r, "the order", 0);
  EXPECT_EQ(e.code(), Errc::AcmeRefused);
  EXPECT_NE(e.summary().find("HTTP 502"), std::string::npos);
}

TEST(Http, RetryAfterSecondsOrDate) {
  EXPECT_EQ(retry_after_seconds(std::string("120"), 0), 120);
  EXPECT_EQ(retry_after_seconds(std::nullopt, 0), std::nullopt);
  EXPECT_EQ(retry_after_seconds(std::string("soon"), 0), std::nullopt);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  EXPECT_EQ(retry_after_seconds(std::string("Sun, 06 Nov 1994 08:49:37 GMT"), 784111700), 77);
  EXPECT_EQ(retry_after_seconds(std::string("99999999999999999999"), 0), 999999999);
}

TEST(Http, LinkHeaders) {
  HttpResponse r;
  r.headers = {{"link", "<https://ca.test/dir>;rel=\"index\""},
               {"link", "<https://ca.test/cert/1/1>;rel=\"alternate\", <https://ca.test/cert/1/2>; rel=\"alternate\""}};
  EXPECT_EQ(links(r, "alternate"),
            (std::vector<std::string>{"https://ca.test/cert/1/1", "https://ca.test/cert/1/2"}));
  EXPECT_EQ(links(r, "index"), std::vector<std::string>{"https://ca.test/dir"});
  EXPECT_TRUE(links(r, "up").empty());
}

TEST(Http, RefusesPlainHttp) {
  HttpClient client(HttpOptions{});
  try {
    client.get("http://127.0.0.1:1/dir");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::AcmeUnreachable);
    EXPECT_NE(e.summary().find("not https"), std::string::npos);
  }
}

TEST(Order, ParsesAndRefusesAnOrderWithoutStatus) {
  const auto o = parse_order(nlohmann::json::parse(R"({"status":"pending","authorizations":
      ["https://ca.test/authz/1", 7],"finalize":"https://ca.test/fin/1"})"),
                             "https://ca.test/order/1");
  EXPECT_EQ(o.authorizations, std::vector<std::string>{"https://ca.test/authz/1"});
  EXPECT_EQ(o.finalize, "https://ca.test/fin/1");
  EXPECT_THROW(parse_order(nlohmann::json::object(), "https://ca.test/order/2"), Error);
}

TEST(Http01, TokensMustBeBase64url) {
  EXPECT_NO_THROW(require_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
  for (const char* bad : {"", "../../etc/passwd", "a/b", "a b", "tok=", "%2e%2e"})
    EXPECT_THROW(require_token(bad), Error) << bad;
}

// RFC 8555 §8.4: the record is named for the name without its wildcard label, and its value is
// base64url(SHA-256(key authorization)); SHA-256("abc") is FIPS 180-2's vector.
TEST(Dns01, RecordNameAndValue) {
  EXPECT_EQ(dns01_record_name("www.example.org"), "_acme-challenge.www.example.org");
  EXPECT_EQ(dns01_record_name("*.example.org"), "_acme-challenge.example.org");
  EXPECT_EQ(dns01_record_name("example.org."), "_acme-challenge.example.org");
  EXPECT_EQ(dns01_record_value("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(Dns01, ResolverIsAnIpv4AddressAndPort) {
  EXPECT_NO_THROW(require_resolver_address("127.0.0.1:53"));
  EXPECT_NO_THROW(require_resolver_address("192.0.2.53:8053"));
  for (const char* bad : {"localhost:53", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000",
                          "127.0.0.1:53x", "[::1]:53", ""})
    EXPECT_THROW(require_resolver_address(bad), Error) << bad;
}

// RFC 8555 §7.3.4: an HS256 JWS whose protected header is {alg, kid, url}, whose payload is the
// account's JWK, and whose signature OpenSSL's HMAC reproduces with the MAC key.
TEST(Eab, Hs256OverTheAccountJwk) {
  const auto key = x509::generate_key(x509::KeyAlgorithm::EcP256);
  const auto jwk = public_jwk(key.get());
  const Bytes mac_key = from_base64url("zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W");
  const auto eab = external_account_binding("kid-1", mac_key, jwk, "https://ca.example/new-acct");
  const auto header = nlohmann::json::parse(as_string(from_base64url(eab["protected"].get<std::string>())));
  EXPECT_EQ(header, (nlohmann::json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca.example/new-acct"}}));
  EXPECT_EQ(nlohmann::json::parse(as_string(from_base64url(eab["payload"].get<std::string>()))), jwk);
  const std::string input = eab["protected"].get<std::string>() + "." + eab["payload"].get<std::string>();
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), mac_key.data(), static_cast<int>(mac_key.size()),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len),
            nullptr);
  EXPECT_EQ(eab["signature"].get<std::string>(), base64url(std::span<const std::uint8_t>(mac, len)));
  EXPECT_EQ(len, 32u);
}

TEST(Directory, Shortcuts) {
  EXPECT_EQ(resolve_directory("letsencrypt"), "https://acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(resolve_directory("letsencrypt-staging"),
            "https://acme-staging-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(resolve_directory("https://ca.test/dir"), "https://ca.test/dir");
}

}  // namespace
}  // namespace keysafe::acme
