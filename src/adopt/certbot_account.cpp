// certbot's ACME account key: a private JWK (josepy's JSON) made into an EVP_PKEY with
// EVP_PKEY_fromdata, then checked, so a JWK whose members do not belong together is refused.
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "keysafe/acme/jws.hpp"
#include "keysafe/adopt/certbot.hpp"
#include "keysafe/error.hpp"
#include "keysafe/ossl/errors.hpp"

namespace keysafe::adopt {
namespace {

[[noreturn]] void bad_jwk(const std::string& what) {
  throw Error(Errc::BadInput, "the account key (private_key.json) is not a usable JWK: " + what,
              "certbot stores the ACME account key as a private JWK (RSA: n, e, d, p, q, dp, dq, qi; "
              "EC: crv, x, y, d)",
              "check the account with certbot show_account, or create a keysafe account: keysafe "
              "acme account create");
}

// A base64url member, decoded; its bytes cleansed when the holder goes.
struct Member final {
  Bytes bytes;
  Member(const nlohmann::json& jwk, const char* name) {
    const auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) bad_jwk(std::string("no \"") + name + "\" member");
    try {
      bytes = acme::from_base64url(it->get_ref<const std::string&>());
    } catch (const Error&) {
      bad_jwk(std::string("\"") + name + "\" is not base64url");
    }
    if (bytes.empty()) bad_jwk(std::string("\"") + name + "\" is empty");
  }
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;
  ~Member() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

ossl::BigNum big(const Member& m) {
  ossl::BigNum n(BN_bin2bn(m.bytes.data(), static_cast<int>(m.bytes.size()), nullptr));
  if (!n) ossl::fail(Errc::Crypto, "BN_bin2bn failed");
  return n;
}

void push(OSSL_PARAM_BLD* bld, const char* key, const ossl::BigNum& n) {
  if (OSSL_PARAM_BLD_push_BN(bld, key, n.get()) != 1)
    ossl::fail(Errc::Crypto, "building the key's parameters failed");
}

}  // namespace

ossl::PKey private_key_from_jwk(const nlohmann::json& jwk) {
  if (!jwk.is_object()) bad_jwk("not a JSON object");
  const auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) bad_jwk("no \"kty\" member");
  const std::string kty = kty_it->get<std::string>();
  ossl::ParamBld bld(OSSL_PARAM_BLD_new());
  if (!bld) ossl::fail(Errc::Crypto, "OSSL_PARAM_BLD_new failed");
  // Everything pushed must outlive OSSL_PARAM_BLD_to_param.
  std::vector<ossl::BigNum> numbers;
  Bytes point;
  const char* type = nullptr;
  if (kty == "RSA") {
    type = "RSA";
    const std::pair<const char*, const char*> members[] = {
        {"n", OSSL_PKEY_PARAM_RSA_N},          {"e", OSSL_PKEY_PARAM_RSA_E},
        {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
        {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
    for (const auto& [name, param] : members) {
      const Member m(jwk, name);
      if (m.bytes.size() > 2048) bad_jwk(std::string("\"") + name + "\" is longer than a 16384-bit key");
      numbers.push_back(big(m));
      push(bld.get(), param, numbers.back());
    }
  } else if (kty == "EC") {
    type = "EC";
    const auto crv_it = jwk.find("crv");
    if (crv_it == jwk.end() || !crv_it->is_string()) bad_jwk("no \"crv\" member");
    const std::string crv = crv_it->get<std::string>();
    const char* group = crv == "P-256" ? "prime256v1" : crv == "P-384" ? "secp384r1" : nullptr;
    const std::size_t size = crv == "P-256" ? 32 : 48;
    if (group == nullptr)
      throw Error(Errc::Unsupported, "an ACME account key on the curve \"" + crv + "\"",
                  "JWS signs with P-256 (ES256), P-384 (ES384) or RSA (RS256)",
                  "create a keysafe account instead: keysafe acme account create");
    const Member x(jwk, "x"), y(jwk, "y"), d(jwk, "d");
    if (x.bytes.size() != size || y.bytes.size() != size || d.bytes.size() > size)
      bad_jwk("a coordinate or the private value has the wrong length for " + crv);
    point.push_back(0x04);  // SEC 1 §2.3.3: uncompressed
    point.insert(point.end(), x.bytes.begin(), x.bytes.end());
    point.insert(point.end(), y.bytes.begin(), y.bytes.end());
    numbers.push_back(big(d));
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
      ossl::fail(Errc::Crypto, "building the key's parameters failed");
    push(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, numbers.back());
  } else {
    throw Error(Errc::Unsupported, "an ACME account key of type \"" + kty + "\"",
                "keysafe signs ACME requests with RSA or EC P-256/P-384 keys",
                "create a keysafe account instead: keysafe acme account create");
  }
  ossl::Params params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    ossl::clear_errors();
    bad_jwk("OpenSSL does not accept its members as a key pair");
  }
  ossl::PKey key(raw);
  // The members must belong together: the private part to the public one (RSA: n = p*q and
  // the CRT values; EC: the point is d*G).
  ossl::PKeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
    ossl::clear_errors();
    bad_jwk("its private and public members do not belong to one key");
  }
  return key;
}

}  // namespace keysafe::adopt
