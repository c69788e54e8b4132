// ARI (RFC 9773): the certID of the RFC's example and of a certificate, renewalInfo documents
// recorded as a CA sends them and hostile ones, RFC 3339 times, and the time chosen in the
// window.
#include <gtest/gtest.h>

#include <openssl/x509v3.h>

#include "keysafe/acme/ari.hpp"
#include "keysafe/error.hpp"

namespace keysafe::acme {
namespace {

// RFC 9773 §4.1 example: keyIdentifier 69:88:5B:6B:..:D4 and serial 0x0087654321.
const std::vector<std::uint8_t> k_rfc_key_id = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40,
                                                0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0,
                                                0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
constexpr const char* k_rfc_cert_id = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

TEST(AriCertId, Rfc9773Example) {
  const std::vector<std::uint8_t> serial = {0x00, 0x87, 0x65, 0x43, 0x21};
  EXPECT_EQ(ari_cert_id(k_rfc_key_id, serial), k_rfc_cert_id);
}

// A certificate carrying the example's AKI and serial gives the same certID: the serial's DER
// content keeps its leading zero byte (0x87 has the high bit set).
X509* certificate_with(const std::vector<std::uint8_t>* key_id, std::uint64_t serial) {
  X509* x = X509_new();
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial);
  if (key_id) {
    AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
    akid->keyid = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(akid->keyid, key_id->data(), static_cast<int>(key_id->size()));
    X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT);
    AUTHORITY_KEYID_free(akid);
  }
  return x;
}

TEST(AriCertId, FromCertificate) {
  X509* x = certificate_with(&k_rfc_key_id, 0x87654321);
  EXPECT_EQ(ari_cert_id(x), std::optional<std::string>(k_rfc_cert_id));
  X509_free(x);
  // A serial whose first byte has no high bit set gets no zero byte.
  X509* y = certificate_with(&k_rfc_key_id, 0x12345678);
  EXPECT_EQ(ari_cert_id(y), std::optional<std::string>("aYhba4dGQEHhs3uEe6CuLN4ByNQ.EjRWeA"));
  X509_free(y);
}

TEST(AriCertId, NoAuthorityKeyIdentifier) {
  X509* x = certificate_with(nullptr, 0x87654321);
  EXPECT_EQ(ari_cert_id(x), std::nullopt);
  X509_free(x);
}

TEST(Rfc3339, Forms) {
  EXPECT_EQ(parse_rfc3339("2025-01-02T04:00:00Z"), 1735790400);
  EXPECT_EQ(parse_rfc3339("2025-01-02T05:00:00+01:00"), 1735790400);
  EXPECT_EQ(parse_rfc3339("2025-01-01T23:30:00-04:30"), 1735790400);
  EXPECT_EQ(parse_rfc3339("2025-01-02t04:00:00.123456789z"), 1735790400);
  for (const char* bad : {"", "yesterday", "2025-01-02", "2025-01-02T04:00:00",
                          "2025-13-02T04:00:00Z", "2025-02-31T04:00:00Z", "2025-01-02T24:00:00Z",
                          "2025-01-02T04:00:00.Z", "2025-01-02T04:00:00+0100",
                          "2025-01-02T04:00:00Z ", "2025-01-02 04:00:00Z", "+025-01-02T04:00:00Z"})
    EXPECT_EQ(parse_rfc3339(bad), std::nullopt) << bad;
}

HttpResponse response(std::string body, long status = 200,
                      std::optional<std::string> retry_after = std::nullopt) {
  HttpResponse r;
  r.status = status;
  r.url = "https://ca.example/renewal-info/" + std::string(k_rfc_cert_id);
  r.body = std::move(body);
  r.headers.emplace_back("content-type", "application/json");
  if (retry_after) r.headers.emplace_back("retry-after", *retry_after);
  return r;
}

constexpr std::int64_t k_now = 1735700000;

// As RFC 9773 §4.2's example (and Let's Encrypt) sends it.
TEST(RenewalInfo, RecordedDocument) {
  const auto w = parse_renewal_info(response(R"({
      "suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"},
      "explanationURL": "https://acme.example.com/docs/ari"
    })", 200, "21600"), k_now);
  EXPECT_EQ(w.start, 1735790400);
  EXPECT_EQ(w.end, 1735790400 + 86400);
  EXPECT_EQ(w.explanation_url, "https://acme.example.com/docs/ari");
  EXPECT_EQ(w.retry_after, std::optional<std::int64_t>(k_now + 21600));
}

TEST(RenewalInfo, RetryAfterIsBounded) {
  const std::string body = R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00Z"}})";
  EXPECT_EQ(parse_renewal_info(response(body, 200, "0"), k_now).retry_after, k_now + 60);
  EXPECT_EQ(parse_renewal_info(response(body, 200, "999999999"), k_now).retry_after, k_now + 86400);
  EXPECT_EQ(parse_renewal_info(response(body, 200, "soon"), k_now).retry_after, std::nullopt);
  EXPECT_EQ(parse_renewal_info(response(body), k_now).retry_after, std::nullopt);
}

TEST(RenewalInfo, ExplanationMustBeHttps) {
  const auto w = parse_renewal_info(response(R"J({"suggestedWindow":{"start":"2025-01-02T04:00:00Z",
      "end":"2025-01-03T04:00:00Z"},"explanationURL":"javascript:alert(1)"})J"), k_now);
  EXPECT_EQ(w.explanation_url, "");
}

TEST(RenewalInfo, HostileDocuments) {
  const std::vector<std::string> bodies = {
      "",
      "not json",
      "[]",
      "null",
      R"({})",
      R"({"suggestedWindow": "tomorrow"})",
      R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z"}})",
      R"({"suggestedWindow": {"end": "2025-01-02T04:00:00Z"}})",
      R"({"suggestedWindow": {"start": 1735790400, "end": 1735876800}})",
      R"({"suggestedWindow": {"start": "2025-01-02", "end": "2025-01-03"}})",
      R"({"suggestedWindow": {"start": "2025-01-03T04:00:00Z", "end": "2025-01-02T04:00:00Z"}})",
      R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-02T04:00:00Z"}})",
      R"({"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z")",
      std::string(100000, '['),
  };
  for (const auto& b : bodies) {
    try {
      (void)parse_renewal_info(response(b), k_now);
      ADD_FAILURE() << "accepted: " << b.substr(0, 80);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::BadInput) << b.substr(0, 80);
      EXPECT_NE(e.summary().find("renewal-info/"), std::string::npos) << e.summary();
    }
  }
  EXPECT_THROW((void)parse_renewal_info(response(R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z",
      "end":"2025-01-03T04:00:00Z"}})", 404), k_now), Error);
}

TEST(RenewalTime, ChosenInTheWindow) {
  RenewalWindow w;
  w.start = 1735790400;
  w.end = w.start + 86400;
  EXPECT_EQ(choose_renewal_time(w, 0), w.start);
  EXPECT_EQ(choose_renewal_time(w, 86399), w.end - 1);
  EXPECT_EQ(choose_renewal_time(w, 86400), w.start);
  for (std::uint64_t r : {std::uint64_t{1}, std::uint64_t{12345678901234567ULL}, ~std::uint64_t{0}}) {
    const auto t = choose_renewal_time(w, r);
    EXPECT_GE(t, w.start);
    EXPECT_LT(t, w.end);
  }
}

}  // namespace
}  // namespace keysafe::acme
