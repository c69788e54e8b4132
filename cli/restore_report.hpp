// How restore and recover show a restore plan: one line per entry, CA role, deployment and
// setting, in text and JSON.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "keysafe/ops/backup.hpp"

namespace keysafe::cli {

// The lines under "restored from ...": entries as "  ACTION  NAME: DETAIL", then
// "  ca-role ACTION  NAME: ...", "  deployment ACTION  NAME -> DIR: ...",
// "  setting ACTION  KEY: ...", "  fleet-signing-key ACTION: ...", "  host ACTION  NAME: ...",
// "  assignment ACTION  ENTRY -> HOST:DIR: ...".
void render_restore_plan_text(const ops::RestorePlan& plan, std::ostream& out);
// {"actions": [...], "authorities": [...], "deployments": [...], "settings": [...],
//  "fleet_signing_key": [...], "hosts": [...], "assignments": [...]}
nlohmann::json restore_plan_json(const ops::RestorePlan& plan);

}  // namespace keysafe::cli
