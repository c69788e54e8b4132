// JSON of create, install, check, audit, deployments and status, shared by the CLI and keysafe serve.
#include "render_reports.hpp"

#include "keysafe/ops/clock.hpp"
#include "keysafe/ossl/bytes.hpp"
#include "render.hpp"

namespace keysafe::cli {

nlohmann::json create_json(const ops::CreateResult& r,
                           const std::optional<std::filesystem::path>& request_file,
                           const std::optional<std::filesystem::path>& backup_file) {
  const auto path_or_null = [](const std::optional<std::filesystem::path>& p) {
    return p ? nlohmann::json(p->string()) : nlohmann::json(nullptr);
  };
  return {{"name", r.name},
          {"state", "pending"},
          {"key_algorithm", r.algorithm},
          {"subject", r.subject},
          {"dns", r.dns},
          {"ip", r.ip},
          {"spki_sha256", r.spki_sha256},
          {"request_file", path_or_null(request_file)},
          {"backup_file", path_or_null(backup_file)}};
}

nlohmann::json install_json(const ops::InstallResult& r,
                            const std::optional<std::filesystem::path>& backup_file) {
  const auto text_or_null = [](const std::optional<std::string>& t) {
    return t ? nlohmann::json(*t) : nlohmann::json(nullptr);
  };
  auto json = installed_certificate_json(r);
  json.update(nlohmann::json{{"name", r.name},
                             {"already_installed", r.already_installed},
                             {"chain_rechecked", r.chain_rechecked},
                             {"current", r.became_current},
                             {"replaced_fingerprint", text_or_null(r.replaced_fingerprint)},
                             {"renamed_from", text_or_null(r.renamed_from)},
                             {"replaced_entry", text_or_null(r.replaced_entry)},
                             {"backup_file", backup_file ? nlohmann::json(backup_file->string())
                                                         : nlohmann::json(nullptr)}});
  return json;
}


nlohmann::json check_json(const ops::CheckReport& report, const std::string& store,
                          const FixText& fixes, int exit_code) {
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report.findings)
    findings.push_back({{"severity", f.severity}, {"entry", f.entry},
                        {"message", f.message}, {"fix", fixes(f.fix)}});
  return {{"store", store},
          {"entries", report.entries},
          {"certificates", report.certificates},
          {"keys_checked", report.keys_checked},
          {"keys_opened", report.keys_opened},
          {"damaged", report.damaged()},
          {"warnings", report.has_warnings()},
          {"findings", findings},
          {"exit_code", exit_code}};
}

nlohmann::json audit_json(const ops::AuditVerification& verdict, bool verify) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : verdict.rows)
    arr.push_back({{"id", r.id}, {"at", ops::format_rfc3339(r.at)}, {"user", r.user},
                   {"action", r.action}, {"entry", r.entry}, {"detail", r.detail},
                   {"hash", to_hex(r.hash)}});
  nlohmann::json j = {{"entries", arr}};
  if (verify) {
    std::string broken;
    for (const auto& p : verdict.problems) broken += (broken.empty() ? "" : "; ") + p;
    j["intact"] = broken.empty();
    j["problem"] = broken;
    j["head_verified"] = verdict.keyed;
  }
  return j;
}

nlohmann::json deployment_view_json(const ops::DeploymentView& v) {
  const auto& d = v.record;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : d.files) files.push_back({{"path", f.path}, {"sha256", f.sha256}});
  const auto opt = [](const std::optional<std::string>& s) {
    return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
  };
  return {{"name", d.entry},
          {"target_dir", d.target_dir},
          {"layout", d.layout},
          {"files", files},
          {"test_cmd", opt(d.test_cmd)},
          {"reload_cmd", opt(d.reload_cmd)},
          {"probe", opt(d.probe)},
          {"sni", opt(d.sni)},
          {"fingerprint_sha256", d.certificate_fingerprint},
          {"current_fingerprint_sha256", opt(v.current_fingerprint)},
          {"is_current", v.is_current},
          {"deployed_at", time_or_null(d.deployed_at)}};
}

nlohmann::json deployments_json(const std::vector<ops::DeploymentView>& views) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& v : views) arr.push_back(deployment_view_json(v));
  return arr;
}

nlohmann::json status_json(const std::vector<ops::TargetStatus>& statuses, const FixText& fixes) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& s : statuses) {
    auto j = deployment_view_json(s.deployment);
    j["state"] = s.state;
    j["detail"] = fixes(s.detail);
    j["checked"] = s.probed ? "probe" : "files";
    j["served_fingerprint_sha256"] =
        s.served_fingerprint ? nlohmann::json(*s.served_fingerprint) : nlohmann::json(nullptr);
    j["served_serial"] = s.probe && s.probe->reached ? nlohmann::json(s.probe->serial_hex)
                                                     : nlohmann::json(nullptr);
    arr.push_back(std::move(j));
  }
  return arr;
}

}  // namespace keysafe::cli
