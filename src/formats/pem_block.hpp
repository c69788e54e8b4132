// What PEM_read_bio allocates for one block, freed together. The body may hold a decrypted key
// (PEM_do_header decrypts in place), so it is cleansed before it is freed.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::formats::detail {

struct PemBlock {
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* body = nullptr;
  long len = 0;
  PemBlock() = default;
  PemBlock(const PemBlock&) = delete;
  PemBlock& operator=(const PemBlock&) = delete;
  ~PemBlock() {
    if (body != nullptr && len > 0) OPENSSL_cleanse(body, static_cast<std::size_t>(len));
    // Freed by the handle catalogue (keysafe/ossl/handles.hpp), as every OpenSSL allocation is.
    const ossl::Allocated<char> owned_name(name);
    const ossl::Allocated<char> owned_header(header);
    const ossl::Allocated<unsigned char> owned_body(body);
  }
};

}  // namespace keysafe::formats::detail
