// nginx's configuration syntax (ngx_conf_file.c's rules), include expansion and TLS sites.
#include "keysafe/adopt/nginx_config.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "keysafe/error.hpp"

namespace keysafe::adopt {
namespace {

constexpr int k_max_block_depth = 64;

std::string where(const std::string& source, int line) { return config_where(source, line); }

[[noreturn]] void syntax_error(const std::string& source, int line, const std::string& what) {
  throw Error(Errc::BadInput, "cannot read the nginx configuration: " + what + " in " +
                                  where(source, line),
              "keysafe reads the configuration as nginx does",
              "check it with: nginx -t -c FILE");
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The escapes nginx turns into characters; any other backslash stays.
char unescape(char c) {
  switch (c) {
    case 't': return '\t';
    case 'r': return '\r';
    case 'n': return '\n';
    default: return c;
  }
}

class Tokenizer final {
 public:
  Tokenizer(std::string_view text, const std::string& source) : m_text(text), m_source(source) {}

  std::vector<Directive> parse() {
    auto out = parse_block(0, 0);
    return out;
  }

 private:
  enum class Kind { Word, Semicolon, Open, Close, End };
  struct Token {
    Kind kind = Kind::End;
    std::string text;
    int line = 0;
  };

  std::vector<Directive> parse_block(int depth, int opened_at) {
    if (depth > k_max_block_depth) syntax_error(m_source, m_line, "blocks nested too deep");
    std::vector<Directive> out;
    Directive current;
    bool in_directive = false;
    for (;;) {
      Token t = next();
      switch (t.kind) {
        case Kind::Word:
          if (!in_directive) {
            current = Directive{};
            current.name = std::move(t.text);
            current.file = m_source;
            current.line = t.line;
            in_directive = true;
          } else {
            current.args.push_back(std::move(t.text));
          }
          break;
        case Kind::Semicolon:
          if (!in_directive) syntax_error(m_source, t.line, "unexpected \";\"");
          out.push_back(std::move(current));
          in_directive = false;
          break;
        case Kind::Open:
          if (!in_directive) syntax_error(m_source, t.line, "unexpected \"{\"");
          current.has_block = true;
          current.block = parse_block(depth + 1, t.line);
          out.push_back(std::move(current));
          in_directive = false;
          break;
        case Kind::Close:
          if (in_directive) syntax_error(m_source, t.line, "unexpected \"}\" (a \";\" is missing)");
          if (depth == 0) syntax_error(m_source, t.line, "unexpected \"}\"");
          return out;
        case Kind::End:
          if (in_directive) syntax_error(m_source, t.line, "unexpected end of file, expecting \";\" or \"}\"");
          if (depth > 0)
            syntax_error(m_source, opened_at, "a \"{\" that is never closed");
          return out;
      }
    }
  }

  Token next() {
    // Whitespace and comments (a '#' that starts a token runs to the end of the line).
    while (m_pos < m_text.size()) {
      const char c = m_text[m_pos];
      if (c == '\n') ++m_line;
      if (is_space(c)) {
        ++m_pos;
      } else if (c == '#') {
        while (m_pos < m_text.size() && m_text[m_pos] != '\n') ++m_pos;
      } else {
        break;
      }
    }
    if (m_pos >= m_text.size()) return {Kind::End, {}, m_line};
    const char c = m_text[m_pos];
    if (c == ';') return ++m_pos, Token{Kind::Semicolon, {}, m_line};
    if (c == '{') return ++m_pos, Token{Kind::Open, {}, m_line};
    if (c == '}') return ++m_pos, Token{Kind::Close, {}, m_line};
    const int line = m_line;
    std::string word;
    if (c == '"' || c == '\'') {
      const char quote = c;
      ++m_pos;
      for (;;) {
        if (m_pos >= m_text.size()) syntax_error(m_source, line, "a quoted string that is never closed");
        const char q = m_text[m_pos++];
        if (q == '\n') ++m_line;
        if (q == quote) break;
        if (q == '\\' && m_pos < m_text.size()) {
          const char e = m_text[m_pos++];
          if (e == '\n') ++m_line;
          if (e == '"' || e == '\'' || e == '\\' || e == 't' || e == 'r' || e == 'n')
            word += unescape(e);
          else
            word += {'\\', e};
          continue;
        }
        word += q;
      }
      // As nginx: a quoted string ends its token.
      if (m_pos < m_text.size() && !is_space(m_text[m_pos]) && m_text[m_pos] != ';' &&
          m_text[m_pos] != '{' && m_text[m_pos] != '}')
        syntax_error(m_source, m_line, "unexpected \"" + std::string(1, m_text[m_pos]) +
                                           "\" after a quoted string");
      return {Kind::Word, std::move(word), line};
    }
    bool in_variable_braces = false;  // ${name}: the braces belong to the word
    while (m_pos < m_text.size()) {
      const char w = m_text[m_pos];
      if (!in_variable_braces && (is_space(w) || w == ';' || w == '{' || w == '}')) {
        if (w == '{' && !word.empty() && word.back() == '$') {
          in_variable_braces = true;
          word += w;
          ++m_pos;
          continue;
        }
        break;
      }
      if (in_variable_braces && w == '}') in_variable_braces = false;
      if (in_variable_braces && is_space(w)) syntax_error(m_source, m_line, "a space inside \"${...}\"");
      ++m_pos;
      if (w == '\\' && m_pos < m_text.size()) {
        const char e = m_text[m_pos++];
        if (e == '\n') ++m_line;
        if (e == '"' || e == '\'' || e == '\\' || e == 't' || e == 'r' || e == 'n')
          word += unescape(e);
        else
          word += {'\\', e};
        continue;
      }
      word += w;
    }
    if (in_variable_braces) syntax_error(m_source, line, "a \"${\" that is never closed");
    return {Kind::Word, std::move(word), line};
  }

  std::string_view m_text;
  const std::string& m_source;
  std::size_t m_pos = 0;
  int m_line = 1;
};

// --- include ---------------------------------------------------------------------------------

struct Loader {
  const NginxLoadLimits& limits;
  std::filesystem::path prefix;
  std::vector<std::string> stack;  // files being read, for cycles
  std::size_t files = 0;
  std::size_t bytes = 0;

  std::vector<Directive> load(const std::filesystem::path& file) {
    const std::string name = file.lexically_normal().string();
    if (std::find(stack.begin(), stack.end(), name) != stack.end())
      throw Error(Errc::BadInput, "the nginx configuration includes \"" + name + "\" within itself",
                  "an include cycle: " + [&] {
                    std::string chain;
                    for (const auto& s : stack) chain += s + " -> ";
                    return chain + name;
                  }(),
                  "remove the include that closes the cycle");
    if (static_cast<int>(stack.size()) > limits.max_include_depth)
      throw Error(Errc::BadInput, "the nginx configuration nests includes too deep at \"" + name + "\"",
                  "more than " + std::to_string(limits.max_include_depth) + " levels",
                  "check the include directives");
    if (++files > limits.max_files)
      throw Error(Errc::BadInput, "the nginx configuration includes too many files",
                  "more than " + std::to_string(limits.max_files), "check the include directives");
    const std::string text =
        read_config_text(file, limits.max_total_bytes - std::min(bytes, limits.max_total_bytes), "nginx");
    bytes += text.size();
    auto parsed = parse_nginx(text, name);
    stack.push_back(name);
    auto out = expand_includes(std::move(parsed));
    stack.pop_back();
    return out;
  }

  std::vector<Directive> expand_includes(std::vector<Directive> in) {
    std::vector<Directive> out;
    for (auto& d : in) {
      if (d.name == "include" && !d.has_block) {
        if (d.args.size() != 1)
          syntax_error(d.file, d.line, "\"include\" takes one file or pattern");
        std::filesystem::path p(d.args[0]);
        if (p.is_relative()) p = prefix / p;
        for (const auto& f : glob_sorted(p, where(d.file, d.line)))
          for (auto& x : load(f)) out.push_back(std::move(x));
        continue;
      }
      if (d.has_block) d.block = expand_includes(std::move(d.block));
      out.push_back(std::move(d));
    }
    return out;
  }
};

// --- sites -----------------------------------------------------------------------------------

struct Pairs {
  std::vector<std::string> certificates;
  std::vector<std::string> keys;
};

std::string absolute_from(const std::string& value, const std::filesystem::path& prefix) {
  // Keys on a token or inline ("engine:...", "data:...") and variables stay as written.
  if (value.rfind("engine:", 0) == 0 || value.rfind("data:", 0) == 0 || value.rfind("store:", 0) == 0)
    return value;
  std::filesystem::path p(value);
  if (p.is_relative() && value.find('$') != 0) p = prefix / p;
  return p.lexically_normal().string();
}

Pairs own_pairs(const std::vector<Directive>& block, const std::filesystem::path& prefix) {
  Pairs p;
  for (const auto& d : block) {
    if (d.has_block || d.args.empty()) continue;
    if (d.name == "ssl_certificate") p.certificates.push_back(absolute_from(d.args[0], prefix));
    if (d.name == "ssl_certificate_key") p.keys.push_back(absolute_from(d.args[0], prefix));
  }
  return p;
}

void server_sites(const Directive& server, const Pairs& inherited, const std::filesystem::path& prefix,
                  std::vector<NginxSite>& out) {
  NginxSite base;
  base.file = server.file;
  base.line = server.line;
  for (const auto& d : server.block) {
    if (d.has_block) continue;
    if (d.name == "server_name")
      for (const auto& a : d.args) base.server_names.push_back(a);
    if (d.name == "listen" && !d.args.empty()) {
      base.listens.push_back(d.args[0]);
      for (std::size_t i = 1; i < d.args.size(); ++i)
        if (d.args[i] == "ssl" || d.args[i] == "quic") base.tls = true;
    }
    if (d.name == "ssl" && !d.args.empty() && d.args[0] == "on") base.tls = true;
  }
  Pairs pairs = own_pairs(server.block, prefix);
  // nginx inherits the array of certificates (and of keys) as a whole when the block sets none.
  if (pairs.certificates.empty() && pairs.keys.empty()) {
    if (!base.tls) return;  // a plain-HTTP block: the inherited pair is not used here
    pairs = inherited;
    base.inherited = true;
  }
  const std::size_t n = std::max(pairs.certificates.size(), pairs.keys.size());
  for (std::size_t i = 0; i < n; ++i) {
    NginxSite s = base;
    if (i < pairs.certificates.size()) s.certificate = pairs.certificates[i];
    if (i < pairs.keys.size()) s.key = pairs.keys[i];
    if (s.certificate.empty())
      s.problem = "ssl_certificate_key \"" + s.key + "\" has no ssl_certificate beside it";
    else if (s.key.empty())
      s.problem = "ssl_certificate \"" + s.certificate + "\" has no ssl_certificate_key beside it";
    out.push_back(std::move(s));
  }
}

void walk(const std::vector<Directive>& block, const Pairs& inherited,
          const std::filesystem::path& prefix, std::vector<NginxSite>& out) {
  for (const auto& d : block) {
    if (!d.has_block) continue;
    if (d.name == "http" || d.name == "stream") {
      Pairs level = own_pairs(d.block, prefix);
      walk(d.block, level, prefix, out);
    } else if (d.name == "server") {
      server_sites(d, inherited, prefix, out);
    }
  }
}

}  // namespace

std::vector<Directive> parse_nginx(std::string_view text, const std::string& source) {
  return Tokenizer(text, source).parse();
}

std::vector<Directive> load_nginx_config(const std::filesystem::path& main_file,
                                         const NginxLoadLimits& limits) {
  const std::filesystem::path absolute = std::filesystem::absolute(main_file);
  Loader loader{limits, absolute.parent_path(), {}, 0, 0};
  return loader.load(absolute);
}

std::vector<NginxSite> nginx_sites(const std::vector<Directive>& config,
                                   const std::filesystem::path& conf_prefix) {
  std::vector<NginxSite> out;
  walk(config, Pairs{}, conf_prefix, out);
  return out;
}

}  // namespace keysafe::adopt
