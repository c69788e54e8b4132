// Provider loading, PBE algorithm identification and PrivateKeyInfo decoding for the readers.
#include "pbe.hpp"

#include <openssl/err.h>
#include <openssl/provider.h>

#include "keysafe/ossl/errors.hpp"

namespace keysafe::formats::detail {
namespace {

bool cipher_available(int nid) {
  if (nid == NID_undef) return false;
  ossl::Cipher cipher(EVP_CIPHER_fetch(nullptr, OBJ_nid2sn(nid), nullptr));
  return cipher != nullptr;
}

bool digest_available(int nid) {
  if (nid == NID_undef) return false;
  ossl::Md md(EVP_MD_fetch(nullptr, OBJ_nid2sn(nid), nullptr));
  return md != nullptr;
}

std::string nid_name(int nid) {
  const char* ln = OBJ_nid2ln(nid);
  return ln != nullptr ? ln : "an unnamed algorithm";
}

// Why a cipher or digest is missing: RC2, DES and RC4 live in the legacy provider.
std::string missing_because() {
  return ensure_providers() ? "which this OpenSSL does not provide"
                            : "which this OpenSSL does not provide (its legacy provider, "
                              "needed for RC2/DES/RC4, could not be loaded)";
}

PbeInfo unsupported(std::string name, std::string problem) {
  return {PbeInfo::Status::Unsupported, std::move(name), std::move(problem)};
}

PbeInfo damaged(std::string name, std::string problem) {
  return {PbeInfo::Status::Damaged, std::move(name), std::move(problem)};
}

// PBES2 (RFC 8018 §6.2): a key derivation function and a cipher, each with parameters.
PbeInfo describe_pbes2(int ptype, const void* pval) {
  if (ptype != V_ASN1_SEQUENCE || pval == nullptr)
    return damaged("PBES2", "its PBES2 parameters are missing");
  ossl::Pbe2Param params(static_cast<PBE2PARAM*>(
      ASN1_item_unpack(static_cast<const ASN1_STRING*>(pval), ASN1_ITEM_rptr(PBE2PARAM))));
  if (!params || params->keyfunc == nullptr || params->encryption == nullptr)
    return damaged("PBES2", "its PBES2 parameters do not decode");

  std::string kdf;
  const int kdf_nid = OBJ_obj2nid(params->keyfunc->algorithm);
  if (kdf_nid == NID_id_pbkdf2) {
    ossl::Pbkdf2Param kdf_params(static_cast<PBKDF2PARAM*>(
        ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), params->keyfunc->parameter)));
    if (!kdf_params) return damaged("PBES2 with PBKDF2", "its PBKDF2 parameters do not decode");
    // RFC 8018 §A.2: an absent PRF means hmacWithSHA1.
    const int prf_nid =
        kdf_params->prf != nullptr ? OBJ_obj2nid(kdf_params->prf->algorithm) : NID_hmacWithSHA1;
    int prf_md = NID_undef;
    if (prf_nid == NID_undef ||
        EVP_PBE_find(EVP_PBE_TYPE_PRF, prf_nid, nullptr, &prf_md, nullptr) != 1 ||
        !digest_available(prf_md))
      return unsupported("PBES2 with PBKDF2",
                         "PBKDF2 with the pseudo-random function " +
                             (kdf_params->prf != nullptr ? oid_text(kdf_params->prf->algorithm)
                                                         : std::string("(none)")) +
                             ", " + missing_because());
    kdf = "PBKDF2 with " + nid_name(prf_nid);
  } else if (kdf_nid == NID_id_scrypt) {
    kdf = "scrypt";
  } else {
    return unsupported("PBES2", "PBES2 with the key derivation function " +
                                    oid_text(params->keyfunc->algorithm) + ", " +
                                    missing_because());
  }

  const int cipher_nid = OBJ_obj2nid(params->encryption->algorithm);
  if (!cipher_available(cipher_nid))
    return unsupported("PBES2 (" + kdf + ")",
                       "PBES2 with the cipher " + oid_text(params->encryption->algorithm) + ", " +
                           missing_because());
  return {PbeInfo::Status::Ok, "PBES2 (" + kdf + ", " + OBJ_nid2sn(cipher_nid) + ")", {}};
}

}  // namespace

bool ensure_providers() {
  // Loading any provider by hand stops OpenSSL from activating "default" by itself, so both
  // are loaded, default first. A function-local static is initialised exactly once even when
  // threads race here. Its destructor unloads them at exit: it was registered after
  // OpenSSL's own atexit cleanup (which OSSL_PROVIDER_load set up), so it runs before it, and
  // leak checkers see nothing left behind.
  struct Providers {
    OSSL_PROVIDER* base = nullptr;
    OSSL_PROVIDER* legacy = nullptr;
    Providers() {
      ERR_set_mark();
      base = OSSL_PROVIDER_load(nullptr, "default");
      legacy = OSSL_PROVIDER_load(nullptr, "legacy");
      ERR_pop_to_mark();
    }
    Providers(const Providers&) = delete;
    Providers& operator=(const Providers&) = delete;
    ~Providers() {
      if (legacy != nullptr) OSSL_PROVIDER_unload(legacy);
      if (base != nullptr) OSSL_PROVIDER_unload(base);
    }
  };
  static const Providers providers;
  return providers.base != nullptr && providers.legacy != nullptr;
}

std::string oid_text(const ASN1_OBJECT* obj) {
  if (obj == nullptr) return "(no algorithm)";
  char numeric[128] = {};
  OBJ_obj2txt(numeric, sizeof numeric, obj, 1);
  const int nid = OBJ_obj2nid(obj);
  if (nid == NID_undef) return numeric;
  return nid_name(nid) + " (" + numeric + ")";
}

PbeInfo describe_pbe(const X509_ALGOR* alg) {
  ensure_providers();
  const ASN1_OBJECT* obj = nullptr;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(&obj, &ptype, &pval, alg);
  const int nid = OBJ_obj2nid(obj);
  if (nid == NID_pbes2) return describe_pbes2(ptype, pval);

  // PBES1 (RFC 8018 §6.1) and the PKCS#12 PBEs (RFC 7292 Appendix C): the OID fixes the
  // cipher and digest.
  int cipher_nid = NID_undef;
  int md_nid = NID_undef;
  if (nid == NID_undef ||
      EVP_PBE_find(EVP_PBE_TYPE_OUTER, nid, &cipher_nid, &md_nid, nullptr) != 1)
    return unsupported(oid_text(obj),
                       "the encryption algorithm " + oid_text(obj) + ", which OpenSSL does not know");
  const std::string name = nid_name(nid);
  if (cipher_nid != -1 && !cipher_available(cipher_nid))
    return unsupported(name, name + " (cipher " + nid_name(cipher_nid) + "), " + missing_because());
  if (md_nid != -1 && !digest_available(md_nid))
    return unsupported(name, name + " (digest " + nid_name(md_nid) + "), " + missing_because());
  return {PbeInfo::Status::Ok, name, {}};
}

ossl::PKey pkey_from_pkcs8(const PKCS8_PRIV_KEY_INFO* p8, std::string_view source,
                           const std::string& where) {
  ossl::PKey key(EVP_PKCS82PKEY_ex(p8, nullptr, nullptr));
  if (key) {
    ossl::clear_errors();
    return key;
  }
  const ASN1_OBJECT* alg_obj = nullptr;
  const X509_ALGOR* alg = nullptr;
  if (PKCS8_pkey_get0(&alg_obj, nullptr, nullptr, &alg, p8) != 1 || alg_obj == nullptr)
    ossl::fail(Errc::Damaged, quoted(source) + " holds a damaged private key",
               where + " has no readable algorithm identifier",
               "copy the file again from its source");
  const int nid = OBJ_obj2nid(alg_obj);
  const std::string remedy =
      "convert the key to RSA, EC P-256/P-384/P-521 or Ed25519 where it was made, or create a "
      "new key";
  if (nid == NID_X9_62_id_ecPublicKey) {
    int ptype = 0;
    const void* pval = nullptr;
    X509_ALGOR_get0(nullptr, &ptype, &pval, alg);
    if (ptype == V_ASN1_OBJECT && pval != nullptr) {
      const auto* curve = static_cast<const ASN1_OBJECT*>(pval);
      const int curve_nid = OBJ_obj2nid(curve);
      ossl::EcGroup group(curve_nid == NID_undef
                              ? nullptr
                              : EC_GROUP_new_by_curve_name_ex(nullptr, nullptr, curve_nid));
      if (!group)
        ossl::fail(Errc::Unsupported, quoted(source) + " holds an EC key on an unsupported curve",
                   where + " uses the curve " + oid_text(curve) +
                       ", which this OpenSSL does not know",
                   remedy);
    }
  }
  ossl::KeyMgmt mgmt(nid == NID_undef ? nullptr : EVP_KEYMGMT_fetch(nullptr, OBJ_nid2sn(nid), nullptr));
  if (!mgmt)
    ossl::fail(Errc::Unsupported, quoted(source) + " holds a private key of an unsupported type",
               where + " is a " + oid_text(alg_obj) + " key, which this OpenSSL cannot use",
               remedy);
  ossl::fail(Errc::Damaged, quoted(source) + " holds a damaged private key",
             where + " (" + oid_text(alg_obj) + ") does not decode",
             "copy the file again from its source; if the key is lost, create a new key");
}

std::string quoted(std::string_view source) { return "\"" + std::string(source) + "\""; }

}  // namespace keysafe::formats::detail
