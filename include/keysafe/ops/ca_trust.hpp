// ca trust / ca untrust: a local CA's certificate where clients look for trust anchors (the
// system store that update-ca-certificates builds, and NSS databases), as mkcert does.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct TrustTargets {
  bool system = true;  // /usr/local/share/ca-certificates + update-ca-certificates (root only)
  std::optional<std::filesystem::path> nss_db;  // an NSS database directory (certutil -d)
};

// Where a CA's certificate goes in the system store: keysafe-NAME.crt.
std::filesystem::path system_trust_file(std::string_view ca_name);
// Its nickname in an NSS database.
std::string nss_nickname(std::string_view ca_name);

// One line per place changed ("added to the system store (...)", ...).
using TrustChanges = std::vector<std::string>;

// Installs the CA certificate (the CA alone) of stored CA `ca_name`. Throws Refused when the
// system store is asked for without root, Io when update-ca-certificates or certutil fails.
TrustChanges trust_ca(store::Keystore& store, std::string_view ca_name, const TrustTargets& to);
// Removes what trust_ca installed (needs no store: the CA may be gone already).
TrustChanges untrust_ca(std::string_view ca_name, const TrustTargets& from);

}  // namespace keysafe::ops
