// Key generation for the supported algorithms and naming of arbitrary keys.
#include "keysafe/x509/key_algorithm.hpp"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

#include <array>

#include "keysafe/ossl/errors.hpp"

namespace keysafe::x509 {
namespace {

constexpr std::array<std::string_view, 6> k_names = {"ec-p256",  "ec-p384",  "rsa-2048",
                                                     "rsa-3072", "rsa-4096", "ed25519"};

}  // namespace

std::optional<KeyAlgorithm> parse_key_algorithm(std::string_view name) {
  for (std::size_t i = 0; i < k_names.size(); ++i)
    if (k_names[i] == name) return static_cast<KeyAlgorithm>(i);
  return std::nullopt;
}

std::string_view key_algorithm_name(KeyAlgorithm alg) noexcept {
  return k_names[static_cast<std::size_t>(alg)];
}

std::span<const std::string_view> key_algorithm_names() noexcept { return k_names; }

ossl::PKey generate_key(KeyAlgorithm alg) {
  EVP_PKEY* key = nullptr;
  switch (alg) {
    case KeyAlgorithm::EcP256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyAlgorithm::EcP384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyAlgorithm::Rsa2048:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case KeyAlgorithm::Rsa3072:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
    case KeyAlgorithm::Rsa4096:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(4096));
      break;
    case KeyAlgorithm::Ed25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
  }
  if (key == nullptr)
    ossl::fail(Errc::Crypto, std::string("generating a ") +
                                 std::string(key_algorithm_name(alg)) + " key failed");
  return ossl::PKey(key);
}

std::string describe_key(const EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "rsa-" + std::to_string(bits);
    case EVP_PKEY_RSA_PSS: return "rsa-pss-" + std::to_string(bits);
    case EVP_PKEY_DSA: return "dsa-" + std::to_string(bits);
    case EVP_PKEY_ED25519: return "ed25519";
    case EVP_PKEY_ED448: return "ed448";
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &len) != 1) {
        ossl::clear_errors();
        return "ec-explicit-" + std::to_string(bits);
      }
      const std::string g(group, len);
      if (g == "prime256v1" || g == "P-256") return "ec-p256";
      if (g == "secp384r1" || g == "P-384") return "ec-p384";
      if (g == "secp521r1" || g == "P-521") return "ec-p521";
      return "ec-" + g;
    }
    default: {
      const char* type = EVP_PKEY_get0_type_name(key);
      return type != nullptr ? std::string(type) : std::string("unknown");
    }
  }
}

const EVP_MD* signing_digest(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448: return nullptr;
    case EVP_PKEY_EC: return EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() : EVP_sha256();
    default: return EVP_sha256();
  }
}

}  // namespace keysafe::x509
