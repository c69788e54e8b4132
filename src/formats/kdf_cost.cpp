// Reading iteration counts and scrypt parameters from PBE AlgorithmIdentifiers (RFC 8018,
// RFC 7914 §7.1, RFC 7292) with OpenSSL's ASN.1 types, and refusing costly ones.
#include "kdf_cost.hpp"

#include <openssl/err.h>

#include <limits>

#include "keysafe/crypto/kdf_bounds.hpp"
#include "keysafe/ossl/pbe_handles.hpp"
#include "pbe.hpp"

namespace keysafe::formats::detail {
namespace {

constexpr int k_max_bag_depth = 8;

// The value as read; negative or wider than 64 bits counts as "beyond any bound".
std::uint64_t value_of(const ASN1_INTEGER* i, std::uint64_t absent) {
  if (i == nullptr) return absent;
  std::uint64_t v = 0;
  if (ASN1_INTEGER_get_uint64(&v, i) != 1) {
    ERR_clear_error();
    return std::numeric_limits<std::uint64_t>::max();
  }
  return v;
}

std::string pbes2_cost_problem(const ASN1_TYPE* param) {
  if (param == nullptr || param->type != V_ASN1_SEQUENCE) return {};
  ossl::Pbe2Param pbe2(static_cast<PBE2PARAM*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), param)));
  if (!pbe2 || pbe2->keyfunc == nullptr) {
    ERR_clear_error();
    return {};
  }
  const int kdf = OBJ_obj2nid(pbe2->keyfunc->algorithm);
  if (kdf == NID_id_pbkdf2) {
    ossl::Pbkdf2Param p(static_cast<PBKDF2PARAM*>(
        ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter)));
    if (!p) {
      ERR_clear_error();
      return {};
    }
    return crypto::iterations_out_of_range("PBKDF2", value_of(p->iter, 1));
  }
  if (kdf == NID_id_scrypt) {
    ossl::ScryptParams p(static_cast<SCRYPT_PARAMS*>(
        ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(SCRYPT_PARAMS), pbe2->keyfunc->parameter)));
    if (!p) {
      ERR_clear_error();
      return {};
    }
    return crypto::scrypt_out_of_range(value_of(p->costParameter, 0),
                                       value_of(p->blockSize, 0),
                                       value_of(p->parallelizationParameter, 0));
  }
  return {};
}

void check_safe_contents(const STACK_OF(PKCS12_SAFEBAG) * bags, std::string_view source,
                         const std::string& where, int depth) {
  if (depth > k_max_bag_depth) return;  // the walk refuses such nesting as damaged
  for (int i = 0; i < sk_PKCS12_SAFEBAG_num(bags); ++i) {
    const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags, i);
    const std::string bag_where = where + ", bag " + std::to_string(i + 1);
    if (PKCS12_SAFEBAG_get_nid(bag) == NID_pkcs8ShroudedKeyBag) {
      const X509_SIG* shrouded = PKCS12_SAFEBAG_get0_pkcs8(bag);
      const X509_ALGOR* alg = nullptr;
      if (shrouded != nullptr) X509_SIG_get0(shrouded, &alg, nullptr);
      if (alg != nullptr) check_pbe_cost(alg, source, bag_where);
    } else if (PKCS12_SAFEBAG_get_nid(bag) == NID_safeContentsBag) {
      check_safe_contents(PKCS12_SAFEBAG_get0_safes(bag), source, bag_where, depth + 1);
    }
  }
}

}  // namespace

std::string pbe_cost_problem(const X509_ALGOR* alg) {
  const ASN1_OBJECT* obj = nullptr;
  int ptype = 0;
  const void* pval = nullptr;
  X509_ALGOR_get0(&obj, &ptype, &pval, alg);
  const int nid = OBJ_obj2nid(obj);
  if (nid == NID_pbes2) return pbes2_cost_problem(alg->parameter);
  // PBES1 (RFC 8018 §6.1) and the PKCS#12 PBEs (RFC 7292 Appendix C): PBEParameter.
  if (alg->parameter == nullptr || alg->parameter->type != V_ASN1_SEQUENCE) return {};
  ossl::PbeParam p(
      static_cast<PBEPARAM*>(ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBEPARAM), alg->parameter)));
  if (!p) {
    ERR_clear_error();
    return {};
  }
  return crypto::iterations_out_of_range(oid_text(obj), value_of(p->iter, 1));
}

// Unsupported (exit 1): keysafe does not read such parameters, and import reports that rather
// than retrying the file as another kind of input.
void check_pbe_cost(const X509_ALGOR* alg, std::string_view source, const std::string& where) {
  std::string problem = pbe_cost_problem(alg);
  if (!problem.empty())
    crypto::refuse_kdf_params(Errc::Unsupported, quoted(source), where + ": " + problem,
                              "export the file again with ordinary parameters (e.g. openssl "
                              "pkcs12 -export -iter 10000, or openssl pkcs8 -topk8 -iter 10000)");
}

void check_pkcs12_costs(const PKCS12* p12, const STACK_OF(PKCS7) * safes,
                        std::string_view source) {
  if (PKCS12_mac_present(p12) == 1) {
    const ASN1_INTEGER* iter = nullptr;
    PKCS12_get0_mac(nullptr, nullptr, nullptr, &iter, p12);
    // RFC 7292 §4: an absent count means 1.
    std::string problem = crypto::iterations_out_of_range("the MAC key derivation", value_of(iter, 1));
    if (!problem.empty())
      crypto::refuse_kdf_params(Errc::Unsupported, quoted(source), "its integrity check: " + problem,
                                "export the file again with an ordinary MAC iteration count "
                                "(e.g. openssl pkcs12 -export -maciter, 2048 iterations)");
  }
  for (int i = 0; i < sk_PKCS7_num(safes); ++i) {
    PKCS7* safe = sk_PKCS7_value(safes, i);
    const std::string where = "safe " + std::to_string(i + 1);
    const int type = OBJ_obj2nid(safe->type);
    if (type == NID_pkcs7_encrypted) {
      const PKCS7_ENCRYPT* enc = safe->d.encrypted;
      if (enc != nullptr && enc->enc_data != nullptr && enc->enc_data->algorithm != nullptr)
        check_pbe_cost(enc->enc_data->algorithm, source, where);
    } else if (type == NID_pkcs7_data) {
      ossl::OwnedSafeBagStack bags(PKCS12_unpack_p7data(safe));
      if (bags) check_safe_contents(bags.get(), source, where, 0);
      ERR_clear_error();
    }
  }
}

}  // namespace keysafe::formats::detail
