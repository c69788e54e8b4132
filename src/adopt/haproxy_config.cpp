// HAProxy's configuration syntax (tools.c's parse_line), its global settings that matter for
// certificates, and the certificate files its bind lines load (ssl_crtlist.c's rules).
#include "keysafe/adopt/haproxy_config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "keysafe/error.hpp"

namespace keysafe::adopt {
namespace {

namespace fs = std::filesystem;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One line's words: '...' literal; "..." with escapes and $VAR / ${VAR} from the environment
// (an undefined one is empty, as haproxy); a backslash escapes outside '...'; '#' outside
// quotes ends the line.
std::vector<std::string> split_line(std::string_view line) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;
  char quote = 0;
  std::size_t i = 0;
  auto end_word = [&] {
    if (in_word) out.push_back(std::move(word));
    word.clear();
    in_word = false;
  };
  while (i < line.size()) {
    const char c = line[i];
    if (quote == 0 && is_space(c)) {
      end_word();
      ++i;
      continue;
    }
    if (quote == 0 && c == '#') break;
    in_word = true;
    if (quote != '\'' && c == '\\' && i + 1 < line.size()) {
      const char e = line[i + 1];
      i += 2;
      switch (e) {
        case 'r':
          word += '\r';
          break;
        case 'n':
          word += '\n';
          break;
        case 't':
          word += '\t';
          break;
        case 'x':
          if (i + 1 < line.size() && hex_value(line[i]) >= 0 && hex_value(line[i + 1]) >= 0) {
            word += static_cast<char>(hex_value(line[i]) * 16 + hex_value(line[i + 1]));
            i += 2;
          } else {
            word += "\\x";
          }
          break;
        default:
          word += e;
      }
      continue;
    }
    if ((c == '"' || c == '\'') && (quote == 0 || quote == c)) {
      quote = quote == 0 ? c : 0;
      ++i;
      continue;
    }
    if (quote == '"' && c == '$' && i + 1 < line.size()) {
      std::size_t b = i + 1, e = b;
      std::string name;
      if (line[b] == '{') {
        e = line.find('}', b);
        if (e == std::string_view::npos) {
          word += c;
          ++i;
          continue;
        }
        name = std::string(line.substr(b + 1, e - b - 1));
        if (auto comma = name.find(','); comma != std::string::npos) name.resize(comma);
        ++e;
      } else {
        while (e < line.size() &&
               (std::isalnum(static_cast<unsigned char>(line[e])) != 0 || line[e] == '_'))
          ++e;
        name = std::string(line.substr(b, e - b));
      }
      if (!name.empty()) {
        if (const char* v = std::getenv(name.c_str())) word += v;
        i = e;
        continue;
      }
    }
    word += c;
    ++i;
  }
  end_word();
  return out;
}

const std::set<std::string>& section_keywords() {
  static const std::set<std::string> k{
      "global",    "defaults",    "frontend",  "backend", "listen",        "peers",
      "resolvers", "userlist",    "mailers",   "program", "http-errors",   "ring",
      "cache",     "log-forward", "crt-store", "traces",  "namespace_list"};
  return k;
}

// The value of a .if condition: 0/1, defined(NAME), and anything keysafe cannot evaluate
// (feature(), version_atleast(), ...) counted as true, so a pair is never hidden.
bool condition_holds(const std::vector<std::string>& words) {
  if (words.size() < 2) return false;
  std::string term = words[1];
  const bool negated = !term.empty() && term[0] == '!';
  if (negated) term.erase(0, 1);
  bool holds = true;
  if (term == "0" || term.empty())
    holds = false;
  else if (term.rfind("defined(", 0) == 0 && term.back() == ')')
    holds = std::getenv(term.substr(8, term.size() - 9).c_str()) != nullptr;
  return negated ? !holds : holds;
}

bool ends_with(const std::string& s, std::string_view tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

class Reader final {
 public:
  Reader(const HaproxyOptions& options, fs::path base_dir)
      : m_options(options), m_base_dir(std::move(base_dir)) {}

  void read_text(std::string_view text, const std::string& source) {
    struct Cond {
      bool active;  // this branch is read
      bool taken;   // a branch of this block was read already
      bool parent;  // the enclosing block is read
      int line;
    };
    std::vector<Cond> conds;
    const auto active = [&] { return conds.empty() || conds.back().active; };
    std::size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      const std::string_view line =
          text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() : nl + 1;
      ++line_no;
      auto words = split_line(line);
      if (words.empty()) continue;
      const std::string& w = words[0];
      if (w == ".if") {
        const bool parent = active();
        const bool holds = parent && condition_holds(words);
        if (conds.size() > 64) error(source, line_no, ".if blocks nested too deep");
        conds.push_back({holds, holds, parent, line_no});
        continue;
      }
      if (w == ".elif" || w == ".else" || w == ".endif") {
        if (conds.empty()) error(source, line_no, "\"" + w + "\" without \".if\"");
        Cond& c = conds.back();
        if (w == ".endif") {
          conds.pop_back();
        } else {
          const bool holds = c.parent && !c.taken && (w == ".else" || condition_holds(words));
          c.active = holds;
          c.taken = c.taken || holds;
        }
        continue;
      }
      if (!active() || w[0] == '.') continue;  // .diag, .notice, .warning, .alert
      if (section_keywords().count(w) > 0) {
        m_section = w + (words.size() > 1 ? " " + words[1] : "");
        continue;
      }
      keyword(words, source, line_no);
    }
    if (!conds.empty()) error(source, conds.back().line, "\".if\" without \".endif\"");
  }

  HaproxyConfig finish() { return std::move(m_config); }

 private:
  [[noreturn]] static void error(const std::string& source, int line, const std::string& what) {
    throw Error(
        Errc::BadInput,
        "cannot read the HAProxy configuration: " + what + " in " + config_where(source, line),
        "keysafe reads the configuration as haproxy does", "check it with: haproxy -c -f FILE");
  }

  std::string from_base(const std::string& path) const {
    fs::path p(path);
    if (p.is_relative())
      p = (m_config.crt_base.empty() ? m_base_dir : fs::path(m_config.crt_base)) / p;
    return p.lexically_normal().string();
  }

  void keyword(const std::vector<std::string>& words, const std::string& source, int line_no) {
    const std::string section = m_section.substr(0, m_section.find(' '));
    if (section == "global") {
      if (words[0] == "crt-base" && words.size() > 1) m_config.crt_base = words[1];
      if (words[0] == "pidfile" && words.size() > 1) m_config.pidfile = words[1];
      if (words[0] == "master-worker") m_config.master_worker = true;
      if (words[0] == "ssl-load-extra-del-ext") m_config.companion_replaces_extension = true;
      if (words[0] == "ssl-load-extra-files")
        m_config.key_companion =
            std::any_of(words.begin() + 1, words.end(),
                        [](const std::string& w) { return w == "all" || w == "key"; });
      return;
    }
    if ((section != "frontend" && section != "listen") || words[0] != "bind" || words.size() < 2)
      return;
    HaproxySite base;
    base.file = source;
    base.line = line_no;
    base.section = m_section;
    for (std::size_t b = 0, e; b <= words[1].size(); b = e + 1) {
      e = words[1].find(',', b);
      if (e == std::string::npos) e = words[1].size();
      if (e > b) base.addresses.push_back(words[1].substr(b, e - b));
    }
    for (std::size_t i = 2; i + 1 < words.size(); ++i) {
      if (words[i] == "crt")
        crt(base, from_base(words[++i]));
      else if (words[i] == "crt-list")
        crt_list(base, from_base(words[++i]));
    }
  }

  void add(HaproxySite s) {
    if (m_config.sites.size() >= m_options.limits.max_files)
      throw Error(Errc::BadInput, "the HAProxy configuration loads too many certificates",
                  "more than " + std::to_string(m_options.limits.max_files),
                  "adopt a smaller configuration");
    m_config.sites.push_back(std::move(s));
  }

  void crt(const HaproxySite& base, const std::string& path) {
    struct stat st {};
    if (!m_options.read_files || ::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      HaproxySite s = base;
      s.certificate = path;
      s.source = "crt";
      return add(std::move(s));
    }
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path, ec))
      names.push_back(e.path().filename().string());
    if (ec) {
      HaproxySite s = base;
      s.certificate = path;
      s.source = "crt " + path;
      s.problem = "cannot list the crt directory \"" + path + "\": " + ec.message();
      return add(std::move(s));
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      if (name.empty() || name[0] == '.') continue;
      if (ends_with(name, ".key") || ends_with(name, ".ocsp") || ends_with(name, ".issuer") ||
          ends_with(name, ".sctl"))
        continue;  // companions of the certificate beside them
      const std::string file = (fs::path(path) / name).string();
      struct stat fst {};
      if (::stat(file.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
      HaproxySite s = base;
      s.certificate = file;
      s.source = "crt " + path;
      add(std::move(s));
    }
  }

  void crt_list(const HaproxySite& base, const std::string& path) {
    if (!m_options.read_files) return;
    std::string text;
    try {
      text = read_config_text(path, m_options.limits.max_total_bytes, "HAProxy");
    } catch (const Error& e) {
      HaproxySite s = base;
      s.certificate = path;
      s.source = "crt-list " + path;
      s.problem = "cannot read the crt-list \"" + path + "\"";
      return add(std::move(s));
    }
    std::size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      const std::string_view line = std::string_view(text).substr(
          pos, nl == std::string::npos ? text.size() - pos : nl - pos);
      pos = nl == std::string::npos ? text.size() : nl + 1;
      ++line_no;
      auto words = split_line(line);
      if (words.empty()) continue;
      HaproxySite s = base;
      s.certificate = from_base(words[0]);
      s.source = "crt-list " + path + " line " + std::to_string(line_no);
      std::size_t i = 1;
      if (i < words.size() && !words[i].empty() && words[i][0] == '[') {  // [ssl options]
        while (i < words.size() && (words[i].empty() || words[i].back() != ']')) ++i;
        ++i;
      }
      for (; i < words.size(); ++i) s.sni_filters.push_back(words[i]);
      add(std::move(s));
    }
  }

  const HaproxyOptions& m_options;
  fs::path m_base_dir;
  HaproxyConfig m_config;
  std::string m_section;
};

}  // namespace

std::string haproxy_key_companion(const HaproxyConfig& config, const std::string& certificate) {
  if (!config.key_companion) return {};
  fs::path p(certificate);
  if (config.companion_replaces_extension && p.has_extension())
    return p.replace_extension(".key").string();
  return certificate + ".key";
}

HaproxyConfig load_haproxy_config(const std::filesystem::path& config,
                                  const HaproxyOptions& options) {
  const fs::path absolute = fs::absolute(config).lexically_normal();
  std::vector<fs::path> files{absolute};
  std::error_code ec;
  if (fs::is_directory(absolute, ec)) {
    files.clear();
    for (const auto& e : fs::directory_iterator(absolute, ec))
      if (e.path().extension() == ".cfg") files.push_back(e.path());
    std::sort(files.begin(), files.end());
  }
  Reader reader(options, fs::is_directory(absolute, ec) ? absolute : absolute.parent_path());
  std::size_t bytes = 0;
  for (const auto& f : files) {
    const auto text = read_config_text(
        f, options.limits.max_total_bytes - std::min(bytes, options.limits.max_total_bytes),
        "HAProxy");
    bytes += text.size();
    reader.read_text(text, f.string());
  }
  return reader.finish();
}

HaproxyConfig parse_haproxy(std::string_view text, const std::string& source,
                            const std::filesystem::path& base_dir, const HaproxyOptions& options) {
  Reader reader(options, base_dir);
  reader.read_text(text, source);
  return reader.finish();
}

}  // namespace keysafe::adopt
