// The store header: KDF parameters, the wrapped data key and a passphrase-independent checksum.
#pragma once

#include <optional>
#include <string>

#include "keysafe/ossl/bytes.hpp"
#include "keysafe/crypto/kdf.hpp"

namespace keysafe::store {

struct StoreHeader {
  Bytes store_id;
  std::string kdf = "scrypt";
  crypto::KdfParams kdf_params;
  Bytes kdf_salt;
  Bytes wrapped_data_key;
  Bytes checksum;
  std::int64_t created_at = 0;
};

// SHA-256 over the header fields in the order docs/FORMAT.md gives.
Bytes header_checksum(const StoreHeader& h);

// Associated data of the wrapped data key and of each sealed private key.
Bytes data_key_aad(const Bytes& store_id);
Bytes private_key_aad(const Bytes& store_id, std::int64_t key_id, std::string_view spki_sha256_hex);

// A fresh header for a new store: random data key wrapped under the passphrase.
StoreHeader make_header(std::span<const std::uint8_t> passphrase, const crypto::KdfParams& params,
                        std::int64_t now);

// The data key, or nothing when the passphrase does not open it.
std::optional<SecureBytes> unwrap_data_key(const StoreHeader& h,
                                           std::span<const std::uint8_t> passphrase);

}  // namespace keysafe::store
