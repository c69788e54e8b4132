// Audit log verification: the hash chain, and with the passphrase the MAC'd audit head.
#include "keysafe/ops/audit.hpp"

namespace keysafe::ops {

AuditVerification verify_audit(store::Keystore& store) {
  AuditVerification v;
  v.rows = store.audit_log();
  v.keyed = store.unlocked() && store.has_integrity();
  if (!v.keyed) {
    if (auto problem = store::audit_chain_problem(v.rows); !problem.empty())
      v.problems.push_back(std::move(problem));
    return v;
  }
  // The keyed verification includes the chain's.
  for (const auto& t : store.tampering())
    if (t.table == "audit" || t.table == "audit_head")
      v.problems.push_back(t.table == "audit" ? "row " + t.row + " " + t.what
                                              : "the audit head (" + t.row + ") " + t.what);
  return v;
}

}  // namespace keysafe::ops
