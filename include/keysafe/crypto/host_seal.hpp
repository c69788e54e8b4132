// Fleet cryptography: private keys sealed to one host's X25519 key (ECDH + HKDF-SHA-256 +
// AES-256-GCM, an ephemeral sender key per seal), and the Ed25519 signature with which the
// store vouches for what it asks a host to do (docs/FLEET.md).
#pragma once

#include <cstdint>
#include <span>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/ossl/handles.hpp"

namespace keysafe::crypto {

// A host identity: a new X25519 key pair.
ossl::PKey generate_host_key();
// The store's fleet signing key: a new Ed25519 key pair.
ossl::PKey generate_signing_key();

// version (1 byte, 1) || ephemeral X25519 public key (32) || nonce || ciphertext || tag.
// The AES key is HKDF-SHA-256 of the shared secret, salted with both public keys, so a seal
// opens only with the host's private key; `aad` binds what the plaintext is for.
// `host_spki_der`: the host's public key as SubjectPublicKeyInfo DER (Errc::BadInput if it is
// not X25519).
Bytes seal_to_host(std::span<const std::uint8_t> host_spki_der,
                   std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad);
// False when `sealed` was not made for this key and `aad` (or is malformed or altered).
bool open_as_host(EVP_PKEY* host_key, std::span<const std::uint8_t> sealed,
                  std::span<const std::uint8_t> aad, SecureBytes& plaintext);

// How many host seals this process has tried to open (each one X25519 agreement): shown by
// KEYSAFE_STATS=1, so "one key agreement per deployed entry, none per idle poll" is checkable.
std::uint64_t host_seals_opened() noexcept;

Bytes sign_ed25519(EVP_PKEY* key, std::span<const std::uint8_t> message);
bool verify_ed25519(EVP_PKEY* public_key, std::span<const std::uint8_t> message,
                    std::span<const std::uint8_t> signature);

}  // namespace keysafe::crypto
