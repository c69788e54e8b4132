// JSON of create, install, check, audit, deployments and status: printed by their --json and
// answered by keysafe serve's routes (docs/JSON.md, docs/API.md).
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ops/audit.hpp"
#include "keysafe/ops/check.hpp"
#include "keysafe/ops/create.hpp"
#include "keysafe/ops/install.hpp"
#include "keysafe/ops/deploy.hpp"

namespace keysafe::cli {

// `create --json` and POST /api/v1/entries: the new pending entry; `request_file` is null for
// the API (the request is at GET /api/v1/entries/{name}/request).
nlohmann::json create_json(const ops::CreateResult& r,
                           const std::optional<std::filesystem::path>& request_file,
                           const std::optional<std::filesystem::path>& backup_file);
// `install --json` and POST /api/v1/entries/{name}/certificate.
nlohmann::json install_json(const ops::InstallResult& r,
                            const std::optional<std::filesystem::path>& backup_file);

// Turns a fix's command into one that names the store (Context::fixes), or leaves it.
using FixText = std::function<std::string(std::string_view)>;

nlohmann::json check_json(const ops::CheckReport& report, const std::string& store,
                          const FixText& fixes, int exit_code);
// `verify`: with the verdict's intact/problem/head_verified.
nlohmann::json audit_json(const ops::AuditVerification& verdict, bool verify);
nlohmann::json deployment_view_json(const ops::DeploymentView& v);
nlohmann::json deployments_json(const std::vector<ops::DeploymentView>& views);
nlohmann::json status_json(const std::vector<ops::TargetStatus>& statuses, const FixText& fixes);

}  // namespace keysafe::cli
