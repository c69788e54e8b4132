// The web page's files, embedded in the binary (nothing is fetched from another site).
#pragma once

#include <span>
#include <string_view>

namespace keysafe::server {

struct Asset {
  std::string_view path;          // "/", "/app.js", "/app.css", "/api/v1/openapi.json"
  std::string_view content_type;
  std::string_view content;
};

// Made at build time from server/web/ (embed_assets.cmake).
std::span<const Asset> embedded_assets();

}  // namespace keysafe::server
