// The audit log and its verification: the unkeyed hash chain always, and with the store
// unlocked the MAC'd head that catches rows removed from the end or a rebuilt chain.
#pragma once

#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct AuditVerification {
  std::vector<store::AuditRecord> rows;
  std::vector<std::string> problems;  // each names the row: "row 7 was edited ..."; none = intact
  bool keyed = false;                 // the MAC'd head was verified too (needs the passphrase)
  bool intact() const noexcept { return problems.empty(); }
};

// Reads the log and verifies it. Without the passphrase only the chain is checked, which
// anyone who can write the file can rebuild.
AuditVerification verify_audit(store::Keystore& store);

}  // namespace keysafe::ops
