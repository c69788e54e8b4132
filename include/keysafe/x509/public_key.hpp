// SubjectPublicKeyInfo bytes and their SHA-256: how keys and certificates find each other.
#pragma once

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::x509 {

Bytes spki_der(const X509* cert);
Bytes spki_der(const EVP_PKEY* key);
Bytes spki_der(X509_REQ* req);

// Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo: the match key everywhere.
std::string spki_sha256_hex(const Bytes& spki);

// Unencrypted PKCS#8 DER of a private key, in a buffer that cleanses itself.
SecureBytes private_key_to_pkcs8(const EVP_PKEY* key);
ossl::PKey private_key_from_pkcs8(std::span<const std::uint8_t> der);

// True when the certificate carries this key's public half.
bool certificate_matches_key(const X509* cert, const EVP_PKEY* key);

}  // namespace keysafe::x509
