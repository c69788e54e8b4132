// Creating a key pair in the store together with its certificate request.
#pragma once

#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"
#include "keysafe/x509/key_algorithm.hpp"

namespace keysafe::ops {

struct CreateParams {
  std::string name;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::string subject;
  x509::KeyAlgorithm algorithm = x509::KeyAlgorithm::EcP256;
  std::int64_t now = 0;
};

struct CreateResult {
  std::string name;
  std::string algorithm;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::string spki_sha256;
  std::string request_pem;
};

// Entry names: 1-64 of letters, digits, '.', '_', '-', not starting with '-' or '.'.
void validate_entry_name(std::string_view name);

// An entry name made from a host name or common name ("*.example.com" -> "example.com"):
// characters names may not hold become '-'; empty when nothing usable is left.
std::string entry_name_from(std::string_view text);
// `base`, or base-2, base-3, ...: the first name no entry of the store has.
std::string free_entry_name(store::Keystore& store, const std::string& base);

// Checks names and the entry name before any expensive work (key generation, KDF).
void prepare_create(store::Keystore& store, CreateParams& params);

// Generates the key, builds and self-checks the request, stores both in one transaction.
// The store must be unlocked.
CreateResult create_key(store::Keystore& store, const CreateParams& params);

}  // namespace keysafe::ops

namespace keysafe::ops {

// The newest stored request of entry `name`, as PEM. Throws NotFound.
std::string stored_request_pem(store::Keystore& store, std::string_view name);

}  // namespace keysafe::ops
