// Reading configuration files under limits, and glob(3) expansion, for the adopt readers.
#include "keysafe/adopt/config_files.hpp"

#include <glob.h>

#include <algorithm>
#include <fstream>

#include "keysafe/error.hpp"

namespace keysafe::adopt {

std::string config_where(const std::string& file, int line) {
  return "\"" + file + "\" line " + std::to_string(line);
}

std::string read_config_text(const std::filesystem::path& path, std::size_t limit,
                             const std::string& server) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error(Errc::Io, "cannot read \"" + path.string() + "\"",
                "the " + server + " configuration includes it",
                "check that it exists and can be read");
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit)
      throw Error(Errc::BadInput,
                  "the " + server + " configuration is too large at \"" + path.string() + "\"",
                  "its files hold more than " + std::to_string(limit >> 20) + " MiB together",
                  "check the include directives");
  }
  return text;
}

bool has_glob(const std::string& s) {
  return s.find_first_of("*?[") != std::string::npos;
}

std::vector<std::filesystem::path> glob_sorted(const std::filesystem::path& pattern,
                                               const std::string& where) {
  if (!has_glob(pattern.string())) return {pattern};
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::filesystem::path> out;
  if (rc == 0)
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  ::globfree(&g);
  if (rc != 0 && rc != GLOB_NOMATCH)
    throw Error(Errc::Io, "cannot expand the include \"" + pattern.string() + "\" in " + where,
                "glob(3) failed", "check the directory can be read");
  std::sort(out.begin(), out.end());  // glob sorts already; the servers rely on that order
  return out;
}

}  // namespace keysafe::adopt
