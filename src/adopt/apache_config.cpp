// Apache httpd's configuration syntax (server/config.c, util.c's ap_cfg_getline and
// ap_getword_conf, ap_resolve_env), its includes and conditional sections, and the TLS virtual
// hosts mod_ssl would set up from it.
#include "keysafe/adopt/apache_config.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <set>

#include "keysafe/error.hpp"

namespace keysafe::adopt {
namespace {

namespace fs = std::filesystem;

// httpd refuses a line that expands beyond its buffer; keysafe bounds it too (a chain of
// Defines doubling each other must not exhaust memory).
constexpr std::size_t k_max_line = 64 * 1024;

[[noreturn]] void syntax_error(const std::string& file, int line, const std::string& what) {
  throw Error(Errc::BadInput,
              "cannot read the Apache configuration: " + what + " in " + config_where(file, line),
              "keysafe reads the configuration as httpd does",
              "check it with: apachectl -f FILE -t");
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// ap_getword_conf: words split at white space; "..." or '...' make one word, in which a
// backslash before the quote character keeps the quote.
std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  for (;;) {
    while (i < line.size() && is_space(line[i])) ++i;
    if (i >= line.size()) return out;
    std::string word;
    const char q = line[i];
    if (q == '"' || q == '\'') {
      ++i;
      while (i < line.size() && line[i] != q) {
        if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == q) ++i;
        word += line[i++];
      }
      if (i < line.size()) ++i;  // the closing quote; an unclosed one runs to the end, as httpd
    } else {
      while (i < line.size() && !is_space(line[i])) word += line[i++];
    }
    out.push_back(std::move(word));
  }
}

struct Host {
  std::string file;
  int line = 0;
  std::vector<std::string> addresses;
  std::string server_name;
  std::vector<std::string> aliases;
  std::vector<std::string> certificates;
  std::vector<std::string> keys;
  std::string chain;
  std::optional<bool> engine;
};

struct Frame {
  std::string name;  // lower case
  bool active = true;
  std::string file;
  int line = 0;
};

// "https://www.example.com:443" -> "www.example.com", as httpd's ServerName parsing.
std::string host_of_server_name(std::string s) {
  if (const auto scheme = s.find("://"); scheme != std::string::npos) s.erase(0, scheme + 3);
  if (!s.empty() && s.front() == '[') {
    if (const auto close = s.find(']'); close != std::string::npos) return s.substr(0, close + 1);
    return s;
  }
  if (const auto colon = s.rfind(':'); colon != std::string::npos) s.resize(colon);
  return s;
}

class Reader final {
 public:
  explicit Reader(const ApacheOptions& options) : m_options(options) {
    m_config.server_root = options.server_root;
    // httpd's compiled-in modules (Debian's apache2 -l), loaded before any LoadModule.
    for (const char* m :
         {"core", "so", "watchdog", "http", "log_config", "logio", "version", "unixd"})
      add_module(std::string(m) + "_module", std::string("mod_") + m + ".c");
    m_modules.insert("core.c");
    m_modules.insert("http_core.c");
  }

  void read_file(const fs::path& file) {
    const std::string name = file.lexically_normal().string();
    if (std::find(m_stack.begin(), m_stack.end(), name) != m_stack.end())
      throw Error(Errc::BadInput,
                  "the Apache configuration includes \"" + name + "\" within itself",
                  "an include cycle", "remove the Include that closes the cycle");
    if (static_cast<int>(m_stack.size()) > m_options.limits.max_include_depth)
      throw Error(Errc::BadInput,
                  "the Apache configuration nests includes too deep at \"" + name + "\"",
                  "more than " + std::to_string(m_options.limits.max_include_depth) + " levels",
                  "check the Include directives");
    if (++m_files > m_options.limits.max_files)
      throw Error(Errc::BadInput, "the Apache configuration includes too many files",
                  "more than " + std::to_string(m_options.limits.max_files),
                  "check the Include directives");
    const auto limit =
        m_options.limits.max_total_bytes - std::min(m_bytes, m_options.limits.max_total_bytes);
    const std::string text = read_config_text(file, limit, "Apache");
    m_bytes += text.size();
    m_stack.push_back(name);
    read_text(text, name);
    m_stack.pop_back();
  }

  void read_text(std::string_view text, const std::string& source) {
    const std::size_t depth_at_start = m_frames.size();
    std::size_t pos = 0;
    int line_no = 0;
    while (pos < text.size()) {
      // One logical line: physical lines joined while one ends with a backslash.
      std::string logical;
      const int first_line = line_no + 1;
      for (;;) {
        const std::size_t nl = text.find('\n', pos);
        std::string_view physical =
            text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++line_no;
        while (!physical.empty() && is_space(physical.back())) physical.remove_suffix(1);
        if (logical.size() + physical.size() > k_max_line)
          syntax_error(source, first_line, "a line too long");
        if (!physical.empty() && physical.back() == '\\' && pos < text.size()) {
          logical.append(physical.substr(0, physical.size() - 1));
          continue;
        }
        logical.append(physical);
        break;
      }
      line(trim(logical), source, first_line);
    }
    if (m_frames.size() > depth_at_start) {
      const Frame& open = m_frames.back();
      syntax_error(open.file, open.line,
                   "<" + open.name + "> is never closed (a </" + open.name + "> is missing)");
    }
  }

  ApacheConfig finish() {
    m_config.defines = m_defines;
    return std::move(m_config);
  }

 private:
  bool active() const { return m_frames.empty() || m_frames.back().active; }
  bool ignored_section() const {
    for (const auto& f : m_frames)
      if (!f.active) return true;
    return false;
  }

  void add_module(const std::string& id, const std::string& source_name) {
    m_modules.insert(id);
    m_modules.insert(source_name);
  }

  // ap_resolve_env: ${NAME} from Define, else from the environment; undefined stays as written.
  std::string substitute(const std::string& in, const std::string& source, int line_no) const {
    if (in.find("${") == std::string::npos) return in;
    std::string out;
    std::size_t i = 0;
    while (i < in.size()) {
      if (in.compare(i, 2, "${") == 0) {
        const auto close = in.find('}', i + 2);
        if (close != std::string::npos) {
          const std::string name = in.substr(i + 2, close - i - 2);
          if (auto d = m_defines.find(name); d != m_defines.end()) {
            out += d->second;
            i = close + 1;
          } else if (const char* env = std::getenv(name.c_str()); env != nullptr && !name.empty()) {
            out += env;
            i = close + 1;
          } else {
            out.append(in, i, close + 1 - i);
            i = close + 1;
          }
          if (out.size() > k_max_line)
            syntax_error(source, line_no, "a line too long once ${...} are replaced");
          continue;
        }
      }
      out += in[i++];
    }
    return out;
  }

  std::string root_relative(const std::string& path) const {
    if (path.rfind("${", 0) == 0) return path;  // an undefined variable: shown as written
    fs::path p(path);
    if (p.is_relative()) p = m_config.server_root / p;
    return p.lexically_normal().string();
  }

  void line(const std::string& raw, const std::string& source, int line_no) {
    if (raw.empty() || raw.front() == '#') return;
    const std::string text = substitute(raw, source, line_no);
    if (text.size() >= 2 && text[0] == '<' && text[1] == '/') {
      close_section(text, source, line_no);
      return;
    }
    if (text[0] == '<') {
      if (text.back() != '>')
        syntax_error(source, line_no, "a section tag without a closing \">\"");
      auto words = split_words(std::string_view(text).substr(1, text.size() - 2));
      if (words.empty() || words[0].empty()) syntax_error(source, line_no, "an empty section tag");
      open_section(lower(words[0]), {words.begin() + 1, words.end()}, source, line_no);
      return;
    }
    if (ignored_section()) return;
    auto words = split_words(text);
    if (words.empty()) return;
    directive(lower(words[0]), {words.begin() + 1, words.end()}, source, line_no);
  }

  bool condition(const std::string& name, const std::vector<std::string>& args) const {
    if (args.empty()) return true;
    std::string arg = args[0];
    const bool negated = !arg.empty() && arg[0] == '!';
    if (negated) arg.erase(0, 1);
    bool holds = true;
    if (name == "ifmodule") holds = m_modules.count(arg) > 0;
    if (name == "ifdefine") holds = m_defines.count(arg) > 0 || m_valueless.count(arg) > 0;
    if (name == "iffile") {
      struct stat st {};
      holds = ::stat(root_relative(arg).c_str(), &st) == 0;
    }
    return negated ? !holds : holds;
  }

  void open_section(const std::string& name, const std::vector<std::string>& args,
                    const std::string& source, int line_no) {
    Frame f{name, active(), source, line_no};
    if (f.active) {
      if (name == "ifmodule" || name == "ifdefine" || name == "iffile") {
        f.active = condition(name, args);
      } else if (name == "virtualhost") {
        if (m_host) syntax_error(source, line_no, "<VirtualHost> inside <VirtualHost>");
        m_host = Host{};
        m_host->file = source;
        m_host->line = line_no;
        m_host->addresses = args;
      } else if (name != "ifversion" && name != "ifdirective" && name != "ifsection") {
        f.active = false;  // <Directory>, <Location>, <If>, ...: nothing mod_ssl reads for a host
      }
    }
    if (m_frames.size() > 256) syntax_error(source, line_no, "sections nested too deep");
    m_frames.push_back(std::move(f));
  }

  void close_section(const std::string& text, const std::string& source, int line_no) {
    if (text.back() != '>') syntax_error(source, line_no, "a section tag without a closing \">\"");
    const std::string name = lower(trim(std::string_view(text).substr(2, text.size() - 3)));
    if (m_frames.empty() || m_frames.back().file != source)
      syntax_error(source, line_no, "</" + name + "> without a matching <" + name + "> section");
    if (m_frames.back().name != name)
      syntax_error(source, line_no,
                   "</" + name + "> where </" + m_frames.back().name +
                       "> was expected (opened at " +
                       config_where(m_frames.back().file, m_frames.back().line) + ")");
    const bool was_host = name == "virtualhost" && m_frames.back().active && m_host;
    m_frames.pop_back();
    if (was_host) {
      add_sites(*m_host);
      m_host.reset();
    }
  }

  void directive(const std::string& name, const std::vector<std::string>& args,
                 const std::string& source, int line_no) {
    Host& host = m_host ? *m_host : m_main;
    if (name == "define" && !args.empty()) {
      if (args.size() >= 2)
        m_defines[args[0]] = args[1];
      else
        m_valueless.insert(args[0]);
    } else if (name == "undefine" && !args.empty()) {
      m_defines.erase(args[0]);
      m_valueless.erase(args[0]);
    } else if (name == "loadmodule" && args.size() >= 2) {
      // "ssl_module" and the source name "mod_ssl.c" both name it in <IfModule>.
      std::string file = fs::path(args[1]).stem().string();
      add_module(args[0], file + ".c");
    } else if (name == "serverroot" && !args.empty()) {
      m_config.server_root = fs::path(args[0]).lexically_normal();
    } else if (name == "include" || name == "includeoptional") {
      if (args.empty())
        syntax_error(source, line_no, "\"" + name + "\" takes a file, directory or pattern");
      if (m_options.follow_includes) include(args[0], name == "includeoptional", source, line_no);
    } else if (name == "servername" && !args.empty()) {
      host.server_name = host_of_server_name(args[0]);
    } else if (name == "serveralias") {
      host.aliases.insert(host.aliases.end(), args.begin(), args.end());
    } else if (name == "sslcertificatefile" && !args.empty()) {
      host.certificates.push_back(root_relative(args[0]));
    } else if (name == "sslcertificatekeyfile" && !args.empty()) {
      host.keys.push_back(root_relative(args[0]));
    } else if (name == "sslcertificatechainfile" && !args.empty()) {
      host.chain = root_relative(args[0]);
    } else if (name == "sslengine" && !args.empty()) {
      host.engine = lower(args[0]) != "off";
    }
  }

  void include(const std::string& pattern, bool optional, const std::string& source, int line_no) {
    const fs::path path = root_relative(pattern);
    const std::string where = config_where(source, line_no);
    const auto matches = glob_sorted(path, where);
    if (matches.empty() && !optional)
      throw Error(Errc::BadInput, "no file matches \"Include " + pattern + "\" in " + where,
                  "httpd refuses an Include whose wildcard matches nothing",
                  "use IncludeOptional, or fix the pattern");
    for (const auto& m : matches) include_path(m, optional && !has_glob(path.string()), where);
  }

  // A file, or a directory's entries recursively, sorted (ap_process_resource_config_nofnmatch).
  void include_path(const fs::path& p, bool optional, const std::string& where) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      if (optional) return;
      throw Error(Errc::Io, "cannot read \"" + p.string() + "\"",
                  "the Apache configuration includes it at " + where,
                  "check that it exists and can be read, or use IncludeOptional");
    }
    if (!fs::is_directory(st)) return read_file(p);
    std::vector<fs::path> entries;
    for (const auto& e : fs::directory_iterator(p, ec)) entries.push_back(e.path());
    if (ec)
      throw Error(Errc::Io, "cannot list \"" + p.string() + "\"",
                  "the Apache configuration includes it at " + where,
                  "check that the directory can be read");
    std::sort(entries.begin(), entries.end());
    if (m_files + entries.size() > m_options.limits.max_files)
      throw Error(Errc::BadInput, "the Apache configuration includes too many files",
                  "more than " + std::to_string(m_options.limits.max_files),
                  "check the Include directives");
    for (const auto& e : entries) include_path(e, false, where);
  }

  void add_sites(const Host& host) {
    const std::optional<bool> engine = host.engine ? host.engine : m_main.engine;
    if (engine && !*engine) return;
    std::vector<std::string> certificates = host.certificates, keys = host.keys;
    bool inherited = false;
    if (certificates.empty() && keys.empty()) {
      if (!engine || m_main.certificates.empty()) return;  // a plain-HTTP host
      certificates = m_main.certificates;
      keys = m_main.keys;
      inherited = true;
    }
    ApacheSite base;
    base.file = host.file;
    base.line = host.line;
    base.addresses = host.addresses;
    const std::string& server_name =
        host.server_name.empty() ? m_main.server_name : host.server_name;
    if (!server_name.empty()) base.server_names.push_back(server_name);
    base.server_names.insert(base.server_names.end(), host.aliases.begin(), host.aliases.end());
    base.chain = host.chain.empty() ? m_main.chain : host.chain;
    base.inherited = inherited;
    const std::size_t n = std::max(certificates.size(), keys.size());
    for (std::size_t i = 0; i < n; ++i) {
      ApacheSite s = base;
      if (i < certificates.size()) s.certificate = certificates[i];
      if (i < keys.size()) s.key = keys[i];
      if (s.certificate.empty())
        s.problem = "SSLCertificateKeyFile \"" + s.key + "\" has no SSLCertificateFile beside it";
      for (const auto* path : {&s.certificate, &s.key, &s.chain})
        if (s.problem.empty() && path->find("${") != std::string::npos)
          s.problem =
              "a variable that is not defined in the path (" + *path +
              "): define it (Define, or in the environment httpd starts with) and adopt again";
      m_config.sites.push_back(std::move(s));
    }
  }

  const ApacheOptions& m_options;
  ApacheConfig m_config;
  std::map<std::string, std::string> m_defines;
  std::set<std::string> m_valueless;  // Define NAME without a value: only for <IfDefine>
  std::set<std::string> m_modules;
  std::vector<Frame> m_frames;
  std::optional<Host> m_host;  // the <VirtualHost> being read
  Host m_main;                 // directives outside any <VirtualHost>
  std::vector<std::string> m_stack;
  std::size_t m_files = 0;
  std::size_t m_bytes = 0;
};

}  // namespace

ApacheConfig load_apache_config(const std::filesystem::path& main_file,
                                const ApacheOptions& options) {
  Reader reader(options);
  // httpd -f FILE: a relative FILE is from ServerRoot.
  fs::path file = main_file;
  if (file.is_relative()) file = options.server_root / file;
  reader.read_file(file);
  return reader.finish();
}

ApacheConfig parse_apache(std::string_view text, const std::string& source,
                          const ApacheOptions& options) {
  ApacheOptions alone = options;
  alone.follow_includes = false;
  Reader reader(alone);
  reader.read_text(text, source);
  return reader.finish();
}

}  // namespace keysafe::adopt
