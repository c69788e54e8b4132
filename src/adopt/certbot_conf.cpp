// certbot's renewal configuration (configobj syntax) read with inih, and the glue for what
// inih reads differently from configobj: such lines are refused, never guessed at.
#include <ini.h>

#include <algorithm>
#include <cstring>

#include "keysafe/adopt/certbot.hpp"
#include "keysafe/error.hpp"

namespace keysafe::adopt {
namespace {

constexpr std::size_t k_max_conf_size = 64 * 1024;
// inih (Debian's build: INI_MAX_LINE 200, on the stack) reads at most 199 bytes of a line
// including its newline and takes the rest for a new line; longer lines are refused first.
constexpr std::size_t k_max_line = 198;

[[noreturn]] void conf_error(const std::string& source, std::size_t line, const std::string& what) {
  throw Error(Errc::BadInput,
              "cannot read the certbot renewal configuration \"" + source + "\"" +
                  (line > 0 ? " line " + std::to_string(line) : std::string()) + ": " + what,
              "keysafe reads the file certbot writes (configobj syntax, read with inih)",
              "check the file (certbot renew --dry-run reads it too), or adopt the lineage's files "
              "with keysafe import");
}

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// configobj's value: quoted ('...' or "...") taken as is; unquoted, a '#' starts a comment.
// A quoted value may be followed by a comment; a quote left open is kept as written.
std::string configobj_value(std::string_view raw) {
  std::string v = trim(raw);
  if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
    const auto close = v.find(v.front(), 1);
    if (close != std::string::npos) {
      const std::string rest = trim(std::string_view(v).substr(close + 1));
      if (rest.empty() || rest.front() == '#') return v.substr(1, close - 1);
    }
  }
  if (const auto hash = v.find('#'); hash != std::string::npos) v = trim(std::string_view(v).substr(0, hash));
  return v;
}

// Checks each line for what inih and configobj read differently.
void check_lines(std::string_view text, const std::string& source) {
  std::size_t line_no = 0;
  bool seen_key = false;
  while (!text.empty()) {
    ++line_no;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.size() > k_max_line)
      conf_error(source, line_no, "a line longer than " + std::to_string(k_max_line) + " bytes");
    const std::string t = trim(line);
    if (t.empty() || t.front() == '#' || t.front() == ';') continue;
    if ((line.front() == ' ' || line.front() == '\t') && seen_key)
      conf_error(source, line_no, "an indented line (inih would append it to the previous value)");
    for (std::size_t i = 1; i < line.size(); ++i)
      if (line[i] == ';' && (line[i - 1] == ' ' || line[i - 1] == '\t'))
        conf_error(source, line_no, "\" ;\" in a value (inih would cut the value there)");
    seen_key = true;
  }
}

struct ParseState {
  CertbotRenewalConf conf;
  std::string duplicate;  // "section: key" of a key given twice
  std::string nesting;    // a subsection certbot never writes
};

int on_value(void* user, const char* section, const char* name, const char* value) {
  auto& s = *static_cast<ParseState*>(user);
  const std::string sec(section);
  std::map<std::string, std::string>* into = nullptr;
  if (sec.empty()) {
    into = &s.conf.top;
  } else if (sec == "renewalparams") {
    into = &s.conf.params;
  } else if (sec == "[webroot_map") {  // [[webroot_map]]: inih ends the name at the first ']'
    into = &s.conf.webroot_map;
  } else {
    if (std::find(s.conf.ignored.begin(), s.conf.ignored.end(), sec) == s.conf.ignored.end())
      s.conf.ignored.push_back(sec);
    return 1;
  }
  const std::string key = trim(name);
  if (!into->emplace(key, configobj_value(value)).second && s.duplicate.empty())
    s.duplicate = (sec.empty() ? std::string("top level") : "[" + sec + "]") + ": " + key;
  return 1;
}

}  // namespace

CertbotRenewalConf parse_certbot_renewal(std::string_view text, const std::string& source) {
  if (text.size() > k_max_conf_size) conf_error(source, 0, "larger than 64 KiB");
  if (text.find('\0') != std::string_view::npos) conf_error(source, 0, "a NUL byte");
  check_lines(text, source);
  const std::string copy(text);  // ini_parse_string needs a NUL-terminated string
  ParseState state;
  const int rc = ini_parse_string(copy.c_str(), on_value, &state);
  if (rc > 0) conf_error(source, static_cast<std::size_t>(rc), "not a key = value line or a [section]");
  if (rc < 0) throw Error(Errc::Internal, "inih failed to parse \"" + source + "\" (" + std::to_string(rc) + ")");
  if (!state.duplicate.empty()) conf_error(source, 0, "a key given twice (" + state.duplicate + ")");
  return std::move(state.conf);
}

std::vector<std::string> certbot_list(std::string_view value) {
  std::vector<std::string> out;
  std::string_view rest = value;
  while (true) {
    const auto comma = rest.find(',');
    std::string item = configobj_value(rest.substr(0, comma));
    if (!item.empty()) out.push_back(std::move(item));
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

std::string certbot_account_subdir(std::string_view server_url) {
  constexpr std::string_view k_https = "https://";
  const auto bad = [&](const std::string& why) {
    throw Error(Errc::BadInput, "the ACME server \"" + std::string(server_url) + "\" " + why,
                "certbot keeps the account under accounts/HOST/PATH of the server URL",
                "check the server = line of the renewal configuration");
  };
  if (server_url.substr(0, k_https.size()) != k_https) bad("is not an https URL");
  std::string rest(server_url.substr(k_https.size()));
  if (const auto q = rest.find_first_of("?#"); q != std::string::npos) rest.resize(q);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::string out;
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto slash = std::min(rest.find('/', start), rest.size());
    const std::string part = rest.substr(start, slash - start);
    if (part.empty() || part == "." || part == ".." || part.find('\\') != std::string::npos)
      bad("has an empty, \".\" or \"..\" path component");
    out += (out.empty() ? "" : "/") + part;
    start = slash + 1;
  }
  return out;
}

}  // namespace keysafe::adopt
