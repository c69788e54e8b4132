// Internal to keysafe_formats: password-based encryption and key-decoding helpers shared by
// the PKCS#8 and PKCS#12 readers.
#pragma once

#include <string>
#include <string_view>

#include "keysafe/ossl/handles.hpp"

namespace keysafe::formats::detail {

// Loads OpenSSL's "default" and "legacy" providers into the default library context, once
// per process (thread-safe). True when legacy (RC2-40, DES, RC4: old PKCS#12 and PKCS#8) is
// available.
bool ensure_providers();

// "aes-256-cbc (2.16.840.1.101.3.4.1.42)", or the dotted OID alone when OpenSSL has no name.
std::string oid_text(const ASN1_OBJECT* obj);

// What a password-based encryption AlgorithmIdentifier (PKCS#5 PBES1/PBES2 or a PKCS#12
// PBE, RFC 8018 / RFC 7292 Appendix C) asks for, and whether this OpenSSL can do it.
struct PbeInfo {
  enum class Status { Ok, Unsupported, Damaged };
  Status status = Status::Ok;
  std::string name;     // "PBES2 (PBKDF2 with hmacWithSHA256, AES-256-CBC)", ...
  std::string problem;  // why it is unsupported or damaged
};
PbeInfo describe_pbe(const X509_ALGOR* alg);

// EVP_PKEY from a decrypted PrivateKeyInfo. Throws Unsupported (an algorithm or EC curve
// OpenSSL does not know, named) or Damaged; `where` says which part of `source` held it.
ossl::PKey pkey_from_pkcs8(const PKCS8_PRIV_KEY_INFO* p8, std::string_view source,
                           const std::string& where);

// "\"path\"": how every message names the file.
std::string quoted(std::string_view source);

}  // namespace keysafe::formats::detail
