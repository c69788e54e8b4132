// Building certificates (RFC 5280 §4) and CRLs (RFC 5280 §5) with OpenSSL's X509v3 API.
#include "keysafe/x509/issue.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "keysafe/ossl/errors.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace keysafe::x509 {
namespace {

ossl::Asn1Time asn1_time(std::int64_t unix_seconds) {
  ossl::Asn1Time t(ASN1_TIME_set(nullptr, static_cast<time_t>(unix_seconds)));
  if (!t) ossl::fail(Errc::Crypto, "encoding a time failed");
  return t;
}

// Adds one extension written in OpenSSL's configuration syntax ("critical,CA:TRUE").
void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ossl::Extension ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext) ossl::fail(Errc::Crypto, std::string("building the ") + OBJ_nid2sn(nid) + " extension failed");
  if (X509_add_ext(cert, ext.get(), -1) != 1)
    ossl::fail(Errc::Crypto, std::string("adding the ") + OBJ_nid2sn(nid) + " extension failed");
}

void set_common_fields(X509* cert, const BIGNUM* serial, const X509_NAME* subject,
                       const Validity& validity, const EVP_PKEY* public_key) {
  if (X509_set_version(cert, X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == nullptr ||
      X509_set_subject_name(cert, subject) != 1 ||
      X509_set_pubkey(cert, const_cast<EVP_PKEY*>(public_key)) != 1)
    ossl::fail(Errc::Crypto, "filling in a certificate failed");
  const auto nb = asn1_time(validity.not_before);
  const auto na = asn1_time(validity.not_after);
  if (X509_set1_notBefore(cert, nb.get()) != 1 || X509_set1_notAfter(cert, na.get()) != 1)
    ossl::fail(Errc::Crypto, "setting a certificate's validity failed");
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, signing_digest(key)) <= 0)
    ossl::fail(Errc::Crypto, "signing the certificate failed");
}

}  // namespace

std::optional<LeafProfile> parse_leaf_profile(std::string_view name) {
  if (name == "server") return LeafProfile::Server;
  if (name == "client") return LeafProfile::Client;
  return std::nullopt;
}

std::string_view leaf_profile_name(LeafProfile profile) noexcept {
  return profile == LeafProfile::Client ? "client" : "server";
}

ossl::BigNum random_serial() {
  std::array<unsigned char, 16> bytes{};
  for (;;) {
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
      ossl::fail(Errc::Crypto, "the random generator failed");
    // Positive in DER (RFC 5280 §4.1.2.2): the top bit clear; a leading 1-bit below it keeps
    // every serial 16 octets long, so none collides by a shorter encoding.
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7F) | 0x40);
    ossl::BigNum bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
    if (!bn) ossl::fail(Errc::Crypto, "allocating a serial failed");
    if (!BN_is_zero(bn.get())) return bn;
  }
}

std::string serial_hex(const BIGNUM* serial) {
  char* hex = BN_bn2hex(serial);
  if (hex == nullptr) ossl::fail(Errc::Crypto, "formatting a serial failed");
  return ossl::take_string(hex);
}

ossl::BigNum parse_serial_hex(std::string_view text) {
  std::string hex;
  std::string_view t = text;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t.remove_prefix(2);
  for (char c : t)
    if (c != ':') hex += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const bool ok = !hex.empty() && hex.size() <= 40 &&
                  std::all_of(hex.begin(), hex.end(),
                              [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
  if (!ok)
    throw Error(Errc::Usage, "\"" + std::string(text) + "\" is not a certificate serial number",
                "a serial is written in hexadecimal (up to 40 digits), e.g. 4F3A...",
                "see the serials a CA issued with: keysafe ca list --issued CA");
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, hex.c_str()) == 0) ossl::fail(Errc::Crypto, "reading a serial failed");
  return ossl::BigNum(raw);
}

ossl::Cert build_ca_certificate(EVP_PKEY* key, const X509_NAME* subject, const Validity& validity,
                                const BIGNUM* serial, X509* issuer_cert, EVP_PKEY* issuer_key,
                                std::optional<int> path_len) {
  ossl::Cert cert(X509_new());
  if (!cert) ossl::fail(Errc::Crypto, "allocating a certificate failed");
  set_common_fields(cert.get(), serial, subject, validity, key);
  const X509_NAME* issuer_name = issuer_cert ? X509_get_subject_name(issuer_cert) : subject;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1)
    ossl::fail(Errc::Crypto, "setting the issuer failed");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert : cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string bc =
      path_len ? "critical,CA:TRUE,pathlen:" + std::to_string(*path_len) : "critical,CA:TRUE";
  add_ext(cert.get(), &ctx, NID_basic_constraints, bc.c_str());
  add_ext(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  // The SKI first: for a self-signed certificate the AKI is taken from it.
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), issuer_cert ? issuer_key : key);
  return cert;
}

ossl::Cert build_leaf_certificate(X509* ca_cert, EVP_PKEY* ca_key, const LeafSpec& spec) {
  if (spec.public_key == nullptr || spec.subject == nullptr || spec.serial == nullptr)
    throw Error(Errc::Internal, "a certificate needs a public key, a subject and a serial");
  ossl::Cert cert(X509_new());
  if (!cert) ossl::fail(Errc::Crypto, "allocating a certificate failed");
  set_common_fields(cert.get(), spec.serial, spec.subject, spec.validity, spec.public_key);
  const X509_NAME* issuer_name = ca_cert ? X509_get_subject_name(ca_cert) : spec.subject;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1)
    ossl::fail(Errc::Crypto, "setting the issuer failed");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert ? ca_cert : cert.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  // keyEncipherment only where the key can encrypt: RSA key transport (RFC 5280 §4.2.1.3).
  const bool rsa = EVP_PKEY_is_a(spec.public_key, "RSA") == 1;
  add_ext(cert.get(), &ctx, NID_key_usage,
          rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
  add_ext(cert.get(), &ctx, NID_ext_key_usage,
          spec.profile == LeafProfile::Client ? "clientAuth" : "serverAuth");
  if (const auto names = general_names(spec.alt_names)) {
    // An empty subject makes the subjectAltName critical (RFC 5280 §4.2.1.6).
    const int critical = X509_NAME_entry_count(spec.subject) == 0 ? 1 : 0;
    if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), critical,
                          X509V3_ADD_DEFAULT) != 1)
      ossl::fail(Errc::Crypto, "adding subjectAltName failed");
  }
  add_ext(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), ca_key);
  ossl::clear_errors();
  return cert;
}

ossl::GeneralNames general_names(const AltNames& names) {
  if (names.empty()) return {};
  ossl::GeneralNames out(sk_GENERAL_NAME_new_null());
  if (!out) ossl::fail(Errc::Crypto, "allocating subjectAltName failed");
  const auto push = [&](ossl::GeneralName gn) {
    if (sk_GENERAL_NAME_push(out.get(), gn.get()) <= 0)
      ossl::fail(Errc::Crypto, "building subjectAltName failed");
    (void)gn.release();  // the stack owns it now
  };
  for (const auto& d : names.dns) {
    const std::string dns = normalize_dns_name(d);
    ossl::Asn1Ia5String value(ASN1_IA5STRING_new());
    ossl::GeneralName gn(GENERAL_NAME_new());
    if (!value || !gn ||
        ASN1_STRING_set(value.get(), dns.data(), static_cast<int>(dns.size())) != 1)
      ossl::fail(Errc::Crypto, "building the subjectAltName entry for " + dns + " failed");
    GENERAL_NAME_set0_value(gn.get(), GEN_DNS, value.release());
    push(std::move(gn));
  }
  for (const auto& a : names.ip) {
    const std::string ip = normalize_ip(a);
    ossl::Asn1OctetString value(a2i_IPADDRESS(ip.c_str()));
    ossl::GeneralName gn(GENERAL_NAME_new());
    if (!value || !gn)
      ossl::fail(Errc::Crypto, "building the subjectAltName entry for " + ip + " failed");
    GENERAL_NAME_set0_value(gn.get(), GEN_IPADD, value.release());
    push(std::move(gn));
  }
  return out;
}

namespace {

// One subjectAltName decoded from a list of extensions; `crit` is X509V3_get_d2i's report.
AltNames checked_from(GENERAL_NAMES* decoded, int crit, std::string_view origin) {
  const ossl::GeneralNames names(decoded);
  ossl::clear_errors();
  if (crit == -2)
    throw Error(Errc::BadInput, std::string(origin) + " has two subjectAltName extensions",
                "RFC 5280 §4.2 allows each extension once; which one counts is ambiguous",
                "make it again with one subjectAltName");
  if (crit >= 0 && !names)
    throw Error(Errc::BadInput, "the subjectAltName of " + std::string(origin) + " does not decode",
                "it is not a valid GeneralNames sequence (RFC 5280 §4.2.1.6)",
                "make it again");
  return checked_alt_names(names.get(), origin);
}

}  // namespace

AltNames request_alt_names(X509_REQ* request, std::string_view origin) {
  const ossl::OwnedExtensionStack exts(X509_REQ_get_extensions(request));
  ossl::clear_errors();
  if (!exts) return {};
  int crit = -1;
  auto* decoded =
      static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, &crit, nullptr));
  return checked_from(decoded, crit, origin);
}

AltNames certificate_alt_names(X509* cert, std::string_view origin) {
  int crit = -1;
  auto* decoded =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, nullptr));
  return checked_from(decoded, crit, origin);
}

ossl::Req build_request_with(EVP_PKEY* key, const X509_NAME* subject, const AltNames& names) {
  ossl::Req req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1)
    ossl::fail(Errc::Crypto, "building a request failed");
  add_request_alt_names(req.get(), names);
  if (X509_REQ_sign(req.get(), key, signing_digest(key)) <= 0)
    ossl::fail(Errc::Crypto, "signing the request failed");
  return req;
}

void add_request_alt_names(X509_REQ* request, const AltNames& names) {
  const auto gens = general_names(names);
  if (!gens) return;
  ossl::OwnedExtensionStack exts(sk_X509_EXTENSION_new_null());
  STACK_OF(X509_EXTENSION)* raw = exts.get();
  if (!exts || X509V3_add1_i2d(&raw, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) != 1 ||
      X509_REQ_add_extensions(request, exts.get()) != 1)
    ossl::fail(Errc::Crypto, "adding subjectAltName to the request failed");
}

namespace {
// RFC 5280 §5.3.1 CRLReason; 7 is unused.
constexpr std::array<std::pair<int, std::string_view>, 10> k_reasons = {{
    {CRL_REASON_UNSPECIFIED, "unspecified"},
    {CRL_REASON_KEY_COMPROMISE, "keyCompromise"},
    {CRL_REASON_CA_COMPROMISE, "cACompromise"},
    {CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged"},
    {CRL_REASON_SUPERSEDED, "superseded"},
    {CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation"},
    {CRL_REASON_CERTIFICATE_HOLD, "certificateHold"},
    {CRL_REASON_REMOVE_FROM_CRL, "removeFromCRL"},
    {CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
    {CRL_REASON_AA_COMPROMISE, "aACompromise"},
}};
}  // namespace

std::optional<int> parse_revocation_reason(std::string_view name) {
  for (const auto& [code, n] : k_reasons)
    if (n.size() == name.size() &&
        std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return code;
  return std::nullopt;
}

std::string revocation_reason_name(int reason) {
  for (const auto& [code, n] : k_reasons)
    if (code == reason) return std::string(n);
  return "unspecified";
}

std::vector<std::string> revocation_reason_names() {
  std::vector<std::string> out;
  for (const auto& [code, n] : k_reasons) out.emplace_back(n);
  return out;
}

ossl::Crl build_crl(X509* ca_cert, EVP_PKEY* ca_key, const std::vector<RevokedSerial>& revoked,
                    std::int64_t crl_number, std::int64_t this_update, std::int64_t next_update) {
  ossl::Crl crl(X509_CRL_new());
  if (!crl) ossl::fail(Errc::Crypto, "allocating a CRL failed");
  const auto last = asn1_time(this_update);
  const auto next = asn1_time(next_update);
  if (X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert)) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1)
    ossl::fail(Errc::Crypto, "filling in a CRL failed");
  for (const auto& r : revoked) {
    ossl::Revoked entry(X509_REVOKED_new());
    const auto serial = parse_serial_hex(r.serial_hex);
    ossl::Asn1Integer serial_int(BN_to_ASN1_INTEGER(serial.get(), nullptr));
    const auto when = asn1_time(r.revoked_at);
    if (!entry || !serial_int || X509_REVOKED_set_serialNumber(entry.get(), serial_int.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry.get(), when.get()) != 1)
      ossl::fail(Errc::Crypto, "adding serial " + r.serial_hex + " to the CRL failed");
    if (r.reason && *r.reason != CRL_REASON_UNSPECIFIED) {
      ossl::Asn1Enumerated code(ASN1_ENUMERATED_new());
      if (!code || ASN1_ENUMERATED_set(code.get(), *r.reason) != 1 ||
          X509_REVOKED_add1_ext_i2d(entry.get(), NID_crl_reason, code.get(), 0, 0) != 1)
        ossl::fail(Errc::Crypto, "adding a revocation reason to the CRL failed");
    }
    if (X509_CRL_add0_revoked(crl.get(), entry.get()) != 1)
      ossl::fail(Errc::Crypto, "adding serial " + r.serial_hex + " to the CRL failed");
    (void)entry.release();  // the CRL owns it now
  }
  ossl::Asn1Integer number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), crl_number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    ossl::fail(Errc::Crypto, "adding the CRL number failed");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl.get(), 0);
  ossl::Extension aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
    ossl::fail(Errc::Crypto, "adding the CRL's authorityKeyIdentifier failed");
  if (X509_CRL_sort(crl.get()) != 1 ||
      X509_CRL_sign(crl.get(), ca_key, signing_digest(ca_key)) <= 0)
    ossl::fail(Errc::Crypto, "signing the CRL failed");
  return crl;
}

Bytes crl_der(X509_CRL* crl) {
  unsigned char* out = nullptr;
  const int len = i2d_X509_CRL(crl, &out);
  Bytes result = ossl::take_bytes(out, len);
  if (len <= 0) ossl::fail(Errc::Crypto, "encoding a CRL failed");
  return result;
}

std::string crl_pem(X509_CRL* crl) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1)
    ossl::fail(Errc::Crypto, "encoding a CRL as PEM failed");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace keysafe::x509
