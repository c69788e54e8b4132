// Text and JSON of a restore plan (restore, recover).
#include "restore_report.hpp"

#include <ostream>

namespace keysafe::cli {
namespace {

nlohmann::json items_json(const std::vector<ops::RestoreItemAction>& items, bool with_target,
                          bool with_host = false) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& i : items) {
    nlohmann::json j = {{"name", i.name}, {"action", i.action}, {"detail", i.detail}};
    if (with_target) j["target_dir"] = i.target;
    if (with_host) j["host"] = i.host;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

void render_restore_plan_text(const ops::RestorePlan& plan, std::ostream& out) {
  for (const auto& x : plan.actions)
    out << "  " << x.action << "  " << x.name << ": " << x.detail << '\n';
  for (const auto& x : plan.authorities)
    out << "  ca-role " << x.action << "  " << x.name << ": " << x.detail << '\n';
  for (const auto& x : plan.deployments)
    out << "  deployment " << x.action << "  " << x.name << " -> " << x.target << ": " << x.detail
        << '\n';
  for (const auto& x : plan.settings)
    out << "  setting " << x.action << "  " << x.name << ": " << x.detail << '\n';
  for (const auto& x : plan.fleet_signing_key)
    out << "  fleet-signing-key " << x.action << ": " << x.detail << '\n';
  for (const auto& x : plan.hosts)
    out << "  host " << x.action << "  " << x.name << ": " << x.detail << '\n';
  for (const auto& x : plan.assignments)
    out << "  assignment " << x.action << "  " << x.name << " -> " << x.host << ":" << x.target
        << ": " << x.detail << '\n';
  for (const auto& x : plan.acme_accounts)
    out << "  acme-account " << x.action << "  " << x.name << ": " << x.detail << '\n';
  for (const auto& x : plan.acme_entries)
    out << "  acme-settings " << x.action << "  " << x.name << ": " << x.detail << '\n';
}

nlohmann::json restore_plan_json(const ops::RestorePlan& plan) {
  nlohmann::json actions = nlohmann::json::array();
  for (const auto& x : plan.actions)
    actions.push_back({{"name", x.name}, {"backup_name", x.backup_name},
                       {"action", x.action}, {"detail", x.detail}});
  return {{"actions", actions},
          {"authorities", items_json(plan.authorities, false)},
          {"deployments", items_json(plan.deployments, true)},
          {"settings", items_json(plan.settings, false)},
          {"fleet_signing_key", items_json(plan.fleet_signing_key, false)},
          {"hosts", items_json(plan.hosts, false)},
          {"assignments", items_json(plan.assignments, true, true)},
          {"acme_accounts", items_json(plan.acme_accounts, false)},
          {"acme_entries", items_json(plan.acme_entries, false)}};
}

}  // namespace keysafe::cli
