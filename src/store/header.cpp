// Store header construction, checksum and data-key unwrapping.
#include "keysafe/store/header.hpp"

#include <optional>

#include "keysafe/crypto/aead.hpp"

namespace keysafe::store {
// scrypt and AES-256-GCM live in keysafe_crypto, which backups share.
using crypto::aead_open;
using crypto::aead_seal;
using crypto::derive_kek;
using crypto::k_key_size;
using crypto::KdfParams;

void put_u32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_u64(Bytes& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
void put_field(Bytes& out, std::span<const std::uint8_t> field) {
  put_u32(out, static_cast<std::uint32_t>(field.size()));
  out.insert(out.end(), field.begin(), field.end());
}

Bytes header_checksum(const StoreHeader& h) {
  Bytes buf;
  put_field(buf, as_span("keysafe-header-v1"));
  put_field(buf, h.store_id);
  put_field(buf, as_span(h.kdf));
  put_u32(buf, h.kdf_params.log2_n);
  put_u32(buf, h.kdf_params.r);
  put_u32(buf, h.kdf_params.p);
  put_field(buf, h.kdf_salt);
  put_field(buf, h.wrapped_data_key);
  put_u64(buf, static_cast<std::uint64_t>(h.created_at));
  return sha256(buf);
}

Bytes data_key_aad(const Bytes& store_id) {
  Bytes aad;
  put_field(aad, as_span("keysafe-data-key-v1"));
  put_field(aad, store_id);
  return aad;
}

Bytes integrity_data_key_aad(const Bytes& store_id) {
  Bytes aad = data_key_aad(store_id);
  put_field(aad, as_span("integrity-v1"));
  return aad;
}

Bytes private_key_aad(const Bytes& store_id, std::int64_t key_id, std::string_view spki_sha256_hex) {
  Bytes aad;
  put_field(aad, as_span("keysafe-private-key-v1"));
  put_field(aad, store_id);
  put_u64(aad, static_cast<std::uint64_t>(key_id));
  put_field(aad, as_span(spki_sha256_hex));
  return aad;
}

Bytes secret_aad(const Bytes& store_id, std::string_view purpose) {
  Bytes aad;
  put_field(aad, as_span("keysafe-secret-v1"));
  put_field(aad, store_id);
  put_field(aad, as_span(purpose));
  return aad;
}

StoreHeader make_header(std::span<const std::uint8_t> passphrase, const KdfParams& params,
                        std::int64_t now, SecureBytes& data_key) {
  StoreHeader h;
  h.store_id = random_bytes(16);
  h.kdf_params = params;
  h.kdf_salt = random_bytes(16);
  h.created_at = now;
  data_key = random_secret(k_key_size);
  const SecureBytes kek = derive_kek(passphrase, h.kdf_salt, params);
  h.wrapped_data_key = aead_seal(kek, data_key, integrity_data_key_aad(h.store_id));
  h.checksum = header_checksum(h);
  return h;
}

}  // namespace keysafe::store
