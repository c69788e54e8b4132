// SQL of the deployments table (schema v6).
#include "keysafe/store/deployments.hpp"

#include <nlohmann/json.hpp>

#include "row_values.hpp"

namespace keysafe::store {

namespace detail {

std::string files_json(const std::vector<DeployedFile>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : files) {
    nlohmann::json item{{"path", f.path}, {"sha256", f.sha256}};
    if (!f.role.empty()) item["role"] = f.role;
    list.push_back(std::move(item));
  }
  return list.dump();
}

std::optional<std::vector<DeployedFile>> parse_files_json(const std::string& text) {
  const auto list = nlohmann::json::parse(text, nullptr, false);
  if (!list.is_array()) return std::nullopt;
  std::vector<DeployedFile> out;
  for (const auto& f : list)
    if (f.is_object() && f.contains("path") && f["path"].is_string() && f.contains("sha256") &&
        f["sha256"].is_string())
      out.push_back({f["path"].get<std::string>(), f["sha256"].get<std::string>(),
                     f.contains("role") && f["role"].is_string() ? f["role"].get<std::string>()
                                                                 : std::string()});
  return out;
}

}  // namespace detail

namespace {

using detail::bind_optional;
using detail::optional_text;

constexpr const char* k_columns =
    "SELECT d.id, d.key_id, k.name, d.target_dir, d.layout, d.files, d.test_cmd, d.reload_cmd, "
    "d.probe, d.sni, d.certificate_fingerprint, d.deployed_at "
    "FROM deployments d JOIN keys k ON k.id = d.key_id ";

DeploymentRecord read_row(const Statement& q) {
  DeploymentRecord r;
  r.id = q.int64(0);
  r.key_id = q.int64(1);
  r.entry = q.text(2);
  r.target_dir = q.text(3);
  r.layout = q.text(4);
  auto files = detail::parse_files_json(q.text(5));
  if (!files)
    throw Error(Errc::StoreDamaged,
                "the deployment record of \"" + r.target_dir + "\" is damaged",
                "its list of files is not valid JSON", "deploy to that directory again with --force");
  r.files = std::move(*files);
  r.test_cmd = optional_text(q, 6);
  r.reload_cmd = optional_text(q, 7);
  r.probe = optional_text(q, 8);
  r.sni = optional_text(q, 9);
  r.certificate_fingerprint = q.text(10);
  r.deployed_at = q.int64(11);
  return r;
}

}  // namespace

std::vector<DeploymentRecord> deployments(Database& db, std::optional<std::int64_t> key_id) {
  std::vector<DeploymentRecord> out;
  auto q = db.prepare(std::string(k_columns) +
                      (key_id ? "WHERE d.key_id = ? " : "") + "ORDER BY k.name, d.target_dir");
  if (key_id) q.bind(1, *key_id);
  while (q.step()) out.push_back(read_row(q));
  return out;
}

std::optional<DeploymentRecord> deployment_at(Database& db, const std::string& target_dir) {
  auto q = db.prepare(std::string(k_columns) + "WHERE d.target_dir = ?");
  q.bind(1, std::string_view(target_dir));
  if (!q.step()) return std::nullopt;
  return read_row(q);
}

void save_deployment(Database& db, const DeploymentRecord& r) {
  const std::string files = detail::files_json(r.files);
  auto q = db.prepare(
      "INSERT INTO deployments (key_id, target_dir, layout, files, test_cmd, reload_cmd, probe, "
      "sni, certificate_fingerprint, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(target_dir) DO UPDATE SET key_id = excluded.key_id, layout = excluded.layout, "
      "files = excluded.files, test_cmd = excluded.test_cmd, reload_cmd = excluded.reload_cmd, "
      "probe = excluded.probe, sni = excluded.sni, "
      "certificate_fingerprint = excluded.certificate_fingerprint, "
      "deployed_at = excluded.deployed_at");
  q.bind(1, r.key_id)
      .bind(2, std::string_view(r.target_dir))
      .bind(3, std::string_view(r.layout))
      .bind(4, std::string_view(files));
  bind_optional(q, 5, r.test_cmd);
  bind_optional(q, 6, r.reload_cmd);
  bind_optional(q, 7, r.probe);
  bind_optional(q, 8, r.sni);
  q.bind(9, std::string_view(r.certificate_fingerprint)).bind(10, r.deployed_at);
  q.run();
}

void reassign_deployments(Database& db, std::int64_t from_key, std::int64_t to_key) {
  auto q = db.prepare("UPDATE deployments SET key_id = ? WHERE key_id = ?");
  q.bind(1, to_key).bind(2, from_key);
  q.run();
}

}  // namespace keysafe::store
