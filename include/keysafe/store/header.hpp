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
// The same with the integrity marker: a data key wrapped under it (header and key slots) says
// the store has integrity MACs, and only the passphrase or key-file holder can wrap one
// (docs/FORMAT.md, "Integrity MACs"). A store whose data key opens under it must have valid
// MACs everywhere; stripping them is tampering, not an old store.
Bytes integrity_data_key_aad(const Bytes& store_id);
// The encoding of every authenticated input (checksums, associated data, signed messages):
// integers big-endian, each field prefixed with its 4-byte length, so fields cannot run into
// each other.
void put_u32(Bytes& out, std::uint32_t v);
void put_u64(Bytes& out, std::uint64_t v);
void put_field(Bytes& out, std::span<const std::uint8_t> field);

Bytes private_key_aad(const Bytes& store_id, std::int64_t key_id, std::string_view spki_sha256_hex);
inline constexpr std::string_view k_fleet_signing_purpose = "fleet signing key";
// Another store secret sealed under the data key (the fleet signing key): bound to its purpose.
Bytes secret_aad(const Bytes& store_id, std::string_view purpose);

// A fresh header for a new store: random data key wrapped under the passphrase, with the
// integrity marker. The data key is handed back for the store's first MACs.
StoreHeader make_header(std::span<const std::uint8_t> passphrase, const crypto::KdfParams& params,
                        std::int64_t now, SecureBytes& data_key);

}  // namespace keysafe::store
