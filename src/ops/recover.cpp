// recover's redeployment: every recorded target of a restored backup, through deploy_entry.
#include "keysafe/ops/recover.hpp"

namespace keysafe::ops {

std::vector<RecoverTarget> plan_redeployment(const backup::BackupPayload& payload,
                                             const RestorePlan& plan) {
  std::vector<RecoverTarget> out;
  for (std::size_t i = 0; i < payload.deployments.size(); ++i) {
    const auto& item = plan.deployments[i];
    RecoverTarget t;
    t.entry = item.name;
    t.target_dir = item.target;
    if (item.action == "skip") {
      t.result = "skipped";
      t.detail = item.detail;
    } else {
      t.result = "would deploy";
      const auto& d = payload.deployments[i];
      t.detail = "layout " + d.layout + (d.test_cmd ? ", test" : "") +
                 (d.reload_cmd ? ", reload" : "") + (d.probe ? ", probe " + *d.probe : "");
    }
    out.push_back(std::move(t));
  }
  return out;
}

void redeploy_recovered(store::Keystore& store, std::vector<RecoverTarget>& targets,
                        std::int64_t now) {
  const auto fail = [](RecoverTarget& t, const Error& e) {
    t.result = "failed";
    t.detail = e.summary() + (e.cause().empty() ? "" : ": " + e.cause());
  };
  const auto request = [&](const RecoverTarget& t, bool files_only) {
    DeployRequest r;
    r.name = t.entry;
    r.target_dir = t.target_dir;
    r.now = now;  // layout, commands, probe: the recorded ones
    r.files_only = files_only;
    return r;
  };
  // First every target's files: one server's configuration test (nginx -t) reads the files of
  // all its sites, so no test passes before they are all back.
  for (auto& t : targets) {
    if (t.result != "would deploy") continue;
    try {
      t.deployed = deploy_entry(store, request(t, true));
    } catch (const Error& e) {
      fail(t, e);
    }
  }
  // Then each target again through deploy: the same files (keysafe's own now), its test
  // command, its reload command and its probe.
  for (auto& t : targets) {
    if (t.result != "would deploy") continue;
    const auto& row = t.deployed->record;
    if (row.test_cmd || row.reload_cmd || row.probe) {
      try {
        t.deployed = deploy_entry(store, request(t, false));
      } catch (const Error& e) {
        fail(t, e);
        continue;
      }
    }
    const auto& d = *t.deployed;
    t.result = "deployed";
    std::string done = "files written";
    if (d.tested) done += ", test passed";
    if (d.reloaded) done += ", reloaded";
    t.detail = d.probe ? *d.record.probe + " serves it (serial " + d.serial + "; " + done + ")"
                       : done + " (no probe recorded: what is served was not checked)";
  }
}

}  // namespace keysafe::ops
