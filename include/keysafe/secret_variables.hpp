// The environment variables that carry a secret or say where one is: the command reads them,
// and no process keysafe starts ever sees them (deploy::run_shell removes them).
#pragma once

#include <array>
#include <string_view>

namespace keysafe {

inline constexpr const char* k_env_passphrase = "KEYSAFE_PASSPHRASE";
inline constexpr const char* k_env_in_passphrase = "KEYSAFE_IN_PASSPHRASE";
inline constexpr const char* k_env_out_passphrase = "KEYSAFE_OUT_PASSPHRASE";
inline constexpr const char* k_env_new_passphrase = "KEYSAFE_NEW_PASSPHRASE";
inline constexpr const char* k_env_key_file = "KEYSAFE_KEY_FILE";

// libpq's password for a store on PostgreSQL (docs/POSTGRESQL.md).
inline constexpr const char* k_env_pg_password = "PGPASSWORD";

inline constexpr std::array<std::string_view, 6> k_secret_variables{
    k_env_passphrase, k_env_in_passphrase, k_env_out_passphrase, k_env_new_passphrase,
    k_env_key_file, k_env_pg_password};

// A declared secret variable, or any KEYSAFE_ variable whose name contains PASSPHRASE,
// PASSWORD, SECRET, TOKEN or KEY_FILE: a secret variable added later is kept from children
// even if nobody remembers to add it to the list above.
constexpr bool is_secret_variable(std::string_view name) noexcept {
  for (const auto secret : k_secret_variables)
    if (name == secret) return true;
  if (name.substr(0, 8) != "KEYSAFE_") return false;
  for (const std::string_view word : {"PASSPHRASE", "PASSWORD", "SECRET", "TOKEN", "KEY_FILE"})
    if (name.find(word) != std::string_view::npos) return true;
  return false;
}

}  // namespace keysafe
