// The key types keysafe generates, and naming of any key it meets.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

enum class KeyAlgorithm { EcP256, EcP384, Rsa2048, Rsa3072, Rsa4096, Ed25519 };

std::optional<KeyAlgorithm> parse_key_algorithm(std::string_view name);
std::string_view key_algorithm_name(KeyAlgorithm alg) noexcept;
std::span<const std::string_view> key_algorithm_names() noexcept;

ossl::PKey generate_key(KeyAlgorithm alg);

// "ec-p256", "rsa-2048", "ed25519", or e.g. "dsa-1024" / "ec-secp256k1" for keys we did not make.
std::string describe_key(const EVP_PKEY* key);

// The digest to sign with for this key (nullptr for Ed25519, which signs the message itself).
const EVP_MD* signing_digest(const EVP_PKEY* key);

}  // namespace keysafe::x509
