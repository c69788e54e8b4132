// Reading and binding the value shapes several tables share (src/store only): optional text
// columns, and the JSON list of deployed files (deployments, host_reports).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/database.hpp"
#include "keysafe/store/deployments.hpp"

namespace keysafe::store::detail {

inline std::optional<std::string> optional_text(const Statement& q, int column) {
  if (q.is_null(column)) return std::nullopt;
  return q.text(column);
}

inline void bind_optional(Statement& q, int index, const std::optional<std::string>& v) {
  if (v)
    q.bind(index, std::string_view(*v));
  else
    q.bind_null(index);
}

// [{"path": ..., "sha256": ...}, ...]
std::string files_json(const std::vector<DeployedFile>& files);
// nullopt when `text` is not such a list (entries without both strings are skipped).
std::optional<std::vector<DeployedFile>> parse_files_json(const std::string& text);

}  // namespace keysafe::store::detail
