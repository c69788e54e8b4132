// JWS signing and JWK thumbprints with OpenSSL 3 (RFC 7515, 7517, 7518, 7638).
#include "keysafe/acme/jws.hpp"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>

#include "keysafe/ossl/errors.hpp"

namespace keysafe::acme {
namespace {

constexpr std::string_view k_b64url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Bytes bn_bytes(const BIGNUM* bn, int width) {
  Bytes out(static_cast<std::size_t>(width > 0 ? width : BN_num_bytes(bn)));
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(out.size())) < 0)
    ossl::fail(Errc::Crypto, "a key component does not fit its size");
  return out;
}

ossl::BigNum bn_param(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
    ossl::fail(Errc::Crypto, std::string("reading the key's ") + name + " failed");
  return ossl::BigNum(bn);
}

struct EcCurve {
  const char* openssl_name;
  const char* jwk_name;
  int coordinate_bytes;
  const char* jws_alg;
  const char* digest;
};
constexpr EcCurve k_curves[] = {{"prime256v1", "P-256", 32, "ES256", "SHA256"},
                                {"secp384r1", "P-384", 48, "ES384", "SHA384"}};

const EcCurve* curve_of(const EVP_PKEY* key) {
  if (!EVP_PKEY_is_a(key, "EC")) return nullptr;
  char group[64] = {};
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     nullptr) != 1)
    ossl::fail(Errc::Crypto, "reading the EC key's curve failed");
  for (const auto& c : k_curves)
    if (std::string_view(group) == c.openssl_name) return &c;
  throw Error(Errc::Unsupported, std::string("an ACME account key on the curve ") + group +
                                     " is not supported",
              "JWS signs with P-256 (ES256), P-384 (ES384) or RSA (RS256)",
              "use --key ec-p256, ec-p384 or rsa-2048");
}

const char* digest_of(const EVP_PKEY* key) {
  if (const auto* c = curve_of(key)) return c->digest;
  if (EVP_PKEY_is_a(key, "RSA")) return "SHA256";
  throw Error(Errc::Unsupported, "this kind of key cannot sign ACME requests",
              "JWS signs with P-256 (ES256), P-384 (ES384) or RSA (RS256)",
              "use --key ec-p256, ec-p384 or rsa-2048");
}

std::string member(const nlohmann::json& jwk, const char* name) {
  const auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string())
    throw Error(Errc::BadInput, std::string("a JWK without its \"") + name + "\" member");
  return it->get<std::string>();
}

}  // namespace

std::string base64url(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                            data[i + 2];
    out += k_b64url[(v >> 18) & 63];
    out += k_b64url[(v >> 12) & 63];
    out += k_b64url[(v >> 6) & 63];
    out += k_b64url[v & 63];
  }
  if (data.size() - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out += k_b64url[(v >> 18) & 63];
    out += k_b64url[(v >> 12) & 63];
  } else if (data.size() - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out += k_b64url[(v >> 18) & 63];
    out += k_b64url[(v >> 12) & 63];
    out += k_b64url[(v >> 6) & 63];
  }
  return out;
}

Bytes from_base64url(std::string_view text) {
  if (text.size() % 4 == 1)
    throw Error(Errc::BadInput, "bad base64url: a length of 4n+1 characters is impossible");
  Bytes out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char ch : text) {
    const auto pos = k_b64url.find(ch);
    if (pos == std::string_view::npos)
      throw Error(Errc::BadInput, "bad base64url: a character outside its alphabet");
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  return out;
}

nlohmann::json public_jwk(const EVP_PKEY* key) {
  if (const auto* c = curve_of(key)) {
    const auto x = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X);
    const auto y = bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y);
    return {{"crv", c->jwk_name},
            {"kty", "EC"},
            {"x", base64url(bn_bytes(x.get(), c->coordinate_bytes))},
            {"y", base64url(bn_bytes(y.get(), c->coordinate_bytes))}};
  }
  if (EVP_PKEY_is_a(key, "RSA")) {
    // RFC 7518 §6.3.1: unsigned big-endian, as few octets as the value needs.
    const auto n = bn_param(key, OSSL_PKEY_PARAM_RSA_N);
    const auto e = bn_param(key, OSSL_PKEY_PARAM_RSA_E);
    return {{"e", base64url(bn_bytes(e.get(), 0))},
            {"kty", "RSA"},
            {"n", base64url(bn_bytes(n.get(), 0))}};
  }
  digest_of(key);  // throws Unsupported with the advice
  throw Error(Errc::Unsupported, "this kind of key has no JWK here");
}

std::string jwk_thumbprint(const nlohmann::json& jwk) {
  // RFC 7638 §3.2: only the required members, in lexicographic order, no whitespace;
  // nlohmann::json keeps object members sorted, and dump() adds no whitespace.
  nlohmann::json required;
  const std::string kty = member(jwk, "kty");
  if (kty == "EC") {
    required = {{"crv", member(jwk, "crv")}, {"kty", kty}, {"x", member(jwk, "x")},
                {"y", member(jwk, "y")}};
  } else if (kty == "RSA") {
    required = {{"e", member(jwk, "e")}, {"kty", kty}, {"n", member(jwk, "n")}};
  } else {
    throw Error(Errc::Unsupported, "a JWK of key type \"" + kty + "\" has no thumbprint here");
  }
  return base64url(sha256(as_span(required.dump())));
}

ossl::PKey key_from_jwk(const nlohmann::json& jwk) {
  const std::string kty = member(jwk, "kty");
  ossl::ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld) ossl::fail(Errc::Crypto, "OSSL_PARAM_BLD_new failed");
  Bytes point;  // outlives the build
  ossl::BigNum n, e;
  const char* type = nullptr;
  if (kty == "EC") {
    const std::string crv = member(jwk, "crv");
    const EcCurve* curve = nullptr;
    for (const auto& c : k_curves)
      if (crv == c.jwk_name) curve = &c;
    if (curve == nullptr) throw Error(Errc::Unsupported, "a JWK on the curve \"" + crv + "\"");
    const Bytes x = from_base64url(member(jwk, "x"));
    const Bytes y = from_base64url(member(jwk, "y"));
    if (x.size() != static_cast<std::size_t>(curve->coordinate_bytes) || y.size() != x.size())
      throw Error(Errc::BadInput, "a JWK whose coordinates have the wrong length for " + crv);
    point.push_back(0x04);  // SEC 1 §2.3.3: uncompressed
    point.insert(point.end(), x.begin(), x.end());
    point.insert(point.end(), y.begin(), y.end());
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                        curve->openssl_name, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1)
      ossl::fail(Errc::Crypto, "building EC key parameters failed");
    type = "EC";
  } else if (kty == "RSA") {
    const Bytes nb = from_base64url(member(jwk, "n"));
    const Bytes eb = from_base64url(member(jwk, "e"));
    n.reset(BN_bin2bn(nb.data(), static_cast<int>(nb.size()), nullptr));
    e.reset(BN_bin2bn(eb.data(), static_cast<int>(eb.size()), nullptr));
    if (!n || !e || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
      ossl::fail(Errc::Crypto, "building RSA key parameters failed");
    type = "RSA";
  } else {
    throw Error(Errc::Unsupported, "a JWK of key type \"" + kty + "\"");
  }
  ossl::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    ossl::fail(Errc::BadInput, "the JWK is not a valid public key");
  return ossl::PKey(key);
}

std::string jws_algorithm(const EVP_PKEY* key) {
  if (const auto* c = curve_of(key)) return c->jws_alg;
  digest_of(key);
  return "RS256";
}

Bytes jws_sign(EVP_PKEY* key, std::string_view signing_input) {
  const char* digest = digest_of(key);
  ossl::MdCtx md(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!md || EVP_DigestSignInit_ex(md.get(), nullptr, digest, nullptr, nullptr, key, nullptr) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    ossl::fail(Errc::Crypto, "signing an ACME request failed");
  Bytes sig(size);
  if (EVP_DigestSign(md.get(), sig.data(), &size,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    ossl::fail(Errc::Crypto, "signing an ACME request failed");
  sig.resize(size);
  const auto* curve = curve_of(key);
  if (curve == nullptr) return sig;
  // OpenSSL gives ECDSA-Sig-Value in DER; JWS wants r and s, each padded to the field size.
  const unsigned char* p = sig.data();
  ossl::EcdsaSig parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!parsed) ossl::fail(Errc::Crypto, "OpenSSL returned an unreadable ECDSA signature");
  Bytes raw = bn_bytes(ECDSA_SIG_get0_r(parsed.get()), curve->coordinate_bytes);
  const Bytes s = bn_bytes(ECDSA_SIG_get0_s(parsed.get()), curve->coordinate_bytes);
  raw.insert(raw.end(), s.begin(), s.end());
  return raw;
}

bool jws_verify(EVP_PKEY* key, std::string_view signing_input, std::span<const std::uint8_t> sig) {
  const char* digest = digest_of(key);
  Bytes der(sig.begin(), sig.end());
  if (const auto* curve = curve_of(key)) {
    if (sig.size() != 2 * static_cast<std::size_t>(curve->coordinate_bytes)) return false;
    const int half = curve->coordinate_bytes;
    ossl::EcdsaSig value(ECDSA_SIG_new());
    ossl::BigNum r(BN_bin2bn(sig.data(), half, nullptr));
    ossl::BigNum s(BN_bin2bn(sig.data() + half, half, nullptr));
    if (!value || !r || !s || ECDSA_SIG_set0(value.get(), r.get(), s.get()) != 1)
      ossl::fail(Errc::Crypto, "building an ECDSA signature failed");
    (void)r.release();  // owned by `value` now
    (void)s.release();
    unsigned char* out = nullptr;
    const int len = i2d_ECDSA_SIG(value.get(), &out);
    if (len <= 0) ossl::fail(Errc::Crypto, "encoding an ECDSA signature failed");
    ossl::Allocated<unsigned char> owned(out);
    der.assign(out, out + len);
  }
  ossl::MdCtx md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit_ex(md.get(), nullptr, digest, nullptr, nullptr, key, nullptr) != 1)
    ossl::fail(Errc::Crypto, "verifying a JWS signature failed");
  const int ok = EVP_DigestVerify(md.get(), der.data(), der.size(),
                                  reinterpret_cast<const unsigned char*>(signing_input.data()),
                                  signing_input.size());
  ossl::clear_errors();
  return ok == 1;
}

nlohmann::json flattened_jws(EVP_PKEY* key, nlohmann::json protected_header,
                             std::string_view payload) {
  protected_header["alg"] = jws_algorithm(key);
  const std::string protected64 = base64url(protected_header.dump());
  const std::string payload64 = base64url(payload);
  const Bytes sig = jws_sign(key, protected64 + "." + payload64);
  return {{"protected", protected64}, {"payload", payload64}, {"signature", base64url(sig)}};
}

nlohmann::json external_account_binding(std::string_view eab_kid,
                                        std::span<const std::uint8_t> mac_key,
                                        const nlohmann::json& account_jwk,
                                        const std::string& new_account_url) {
  const nlohmann::json header = {{"alg", "HS256"}, {"kid", eab_kid}, {"url", new_account_url}};
  const std::string protected64 = base64url(header.dump());
  const std::string payload64 = base64url(account_jwk.dump());
  const std::string input = protected64 + "." + payload64;
  std::uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), mac_key.data(), static_cast<int>(mac_key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len) == nullptr)
    throw Error(Errc::Crypto, "HMAC-SHA256 of the external account binding failed");
  return {{"protected", protected64},
          {"payload", payload64},
          {"signature", base64url(std::span<const std::uint8_t>(mac, mac_len))}};
}

}  // namespace keysafe::acme
