// ARI (RFC 9773): certID, renewalInfo documents (hostile input: every field checked) and the
// renewal time within the suggested window.
#include "keysafe/acme/ari.hpp"

#include <nlohmann/json.hpp>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>

#include "keysafe/acme/jws.hpp"
#include "keysafe/error.hpp"
#include "keysafe/ossl/errors.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::acme {

std::string ari_cert_id(std::span<const std::uint8_t> key_identifier,
                        std::span<const std::uint8_t> serial_der) {
  return base64url(key_identifier) + "." + base64url(serial_der);
}

std::optional<std::string> ari_cert_id(X509* cert) {
  // Decoded here rather than from OpenSSL's extension cache, which a certificate that fails
  // any other check (it is only named here, not trusted) does not fill.
  const ossl::AuthorityKeyId akid(static_cast<AUTHORITY_KEYID*>(
      X509_get_ext_d2i(cert, NID_authority_key_identifier, nullptr, nullptr)));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  ossl::clear_errors();
  const ASN1_OCTET_STRING* kid = akid ? akid.get()->keyid : nullptr;
  if (kid == nullptr || serial == nullptr || ASN1_STRING_length(kid) <= 0 ||
      ASN1_STRING_type(serial) != V_ASN1_INTEGER || ASN1_STRING_length(serial) <= 0)
    return std::nullopt;
  // The DER INTEGER's content octets: the magnitude, with a zero byte before a high bit (a
  // negative serial, which RFC 5280 forbids, is not named).
  const auto* magnitude = ASN1_STRING_get0_data(serial);
  std::vector<std::uint8_t> der;
  if (magnitude[0] & 0x80) der.push_back(0);
  der.insert(der.end(), magnitude, magnitude + ASN1_STRING_length(serial));
  return ari_cert_id(std::span<const std::uint8_t>(ASN1_STRING_get0_data(kid),
                                                   static_cast<std::size_t>(ASN1_STRING_length(kid))),
                     der);
}

std::optional<std::int64_t> parse_rfc3339(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const auto digits = [&](std::size_t at, std::size_t n) -> std::optional<int> {
    if (at + n > t.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return std::nullopt;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':')
    return std::nullopt;
  const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2), h = digits(11, 2),
             mi = digits(14, 2), s = digits(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 ||
      *mi > 59 || *s > 60)
    return std::nullopt;
  std::size_t at = 19;
  if (at < t.size() && t[at] == '.') {
    ++at;
    const std::size_t from = at;
    while (at < t.size() && std::isdigit(static_cast<unsigned char>(t[at]))) ++at;
    if (at == from) return std::nullopt;
  }
  std::int64_t offset = 0;
  if (at < t.size() && (t[at] == 'Z' || t[at] == 'z')) {
    ++at;
  } else if (at < t.size() && (t[at] == '+' || t[at] == '-')) {
    const auto oh = digits(at + 1, 2), om = digits(at + 4, 2);
    if (!oh || !om || at + 3 >= t.size() || t[at + 3] != ':' || *oh > 23 || *om > 59)
      return std::nullopt;
    offset = (t[at] == '+' ? 1 : -1) * (*oh * 3600 + *om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != t.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *y - 1900;
  tm.tm_mon = *mo - 1;
  tm.tm_mday = *d;
  tm.tm_hour = *h;
  tm.tm_min = *mi;
  tm.tm_sec = std::min(*s, 59);
  const std::time_t utc = timegm(&tm);
  if (tm.tm_mday != *d) return std::nullopt;  // 31 February and the like
  return static_cast<std::int64_t>(utc) - offset;
}

RenewalWindow parse_renewal_info(const HttpResponse& r, std::int64_t now) {
  const auto bad = [&](const std::string& what) {
    return Error(Errc::BadInput, "the CA's renewal information " + r.url + " " + what,
                 "RFC 9773 §4.2: a JSON object with suggestedWindow {start, end}, RFC 3339 "
                 "times, end after start",
                 "renewal falls back to --due; check the directory URL names the CA");
  };
  if (r.status != 200) throw bad("answered HTTP " + std::to_string(r.status));
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad("is not a JSON object");
  const auto w = j.find("suggestedWindow");
  if (w == j.end() || !w->is_object()) throw bad("has no suggestedWindow object");
  const auto time_of = [&](const char* name) {
    const auto f = w->find(name);
    if (f == w->end() || !f->is_string()) throw bad(std::string("has no suggestedWindow.") + name);
    const auto t = parse_rfc3339(f->get<std::string>());
    if (!t) throw bad(std::string("suggestedWindow.") + name + " is not an RFC 3339 time");
    return *t;
  };
  RenewalWindow out;
  out.start = time_of("start");
  out.end = time_of("end");
  if (out.end <= out.start) throw bad("has a suggestedWindow whose end is not after its start");
  if (const auto e = j.find("explanationURL"); e != j.end() && e->is_string() &&
                                              e->get<std::string>().rfind("https://", 0) == 0)
    out.explanation_url = e->get<std::string>();
  if (const auto s = retry_after_seconds(r.header("retry-after"), now))
    out.retry_after = now + std::clamp<std::int64_t>(*s, 60, 86400);
  return out;
}

std::int64_t choose_renewal_time(const RenewalWindow& window, std::uint64_t random) {
  const auto span = static_cast<std::uint64_t>(window.end - window.start);
  return window.start + static_cast<std::int64_t>(random % span);
}

}  // namespace keysafe::acme
