// HAProxy's configuration, read the way haproxy reads it (cfgparse.c): line by line, "#"
// comments, '...' and "..." quoting (environment variables expanded inside "..." only),
// backslash escapes, .if/.elif/.else/.endif blocks; the global crt-base and pidfile; and the
// certificates each `bind ... ssl` line loads: `crt FILE`, `crt DIR` (every regular file in it
// but dot files and the .key/.ocsp/.issuer/.sctl companions, in alphabetical order, as
// ssl_crtlist.c), and `crt-list FILE` (lines `path [ssl options] [sni filters]`).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/adopt/config_files.hpp"

namespace keysafe::adopt {

// One certificate file loaded by one bind line.
struct HaproxySite {
  std::string file;  // the bind line
  int line = 0;
  std::string section;                   // "frontend www", "listen tls"
  std::vector<std::string> addresses;    // the bind line's addresses ("127.0.0.1:8443", ":443")
  std::string certificate;               // absolute (relative paths from crt-base)
  std::vector<std::string> sni_filters;  // from the crt-list line, as written
  std::string source;                    // "crt", "crt DIR", "crt-list FILE line N"
  std::string problem;                   // set when the file cannot be used as written
};

struct HaproxyConfig {
  std::vector<HaproxySite> sites;
  std::string crt_base;  // the global crt-base, empty when none
  std::string pidfile;   // the global pidfile, empty when none
  bool master_worker = false;
  // ssl-load-extra-files: whether a certificate without its key takes FILE.key (default all).
  bool key_companion = true;
  // ssl-load-extra-del-ext: "site.crt" takes "site.key" rather than "site.crt.key".
  bool companion_replaces_extension = false;
};

// The key companion haproxy reads for a certificate file without a key ("" when none).
std::string haproxy_key_companion(const HaproxyConfig& config, const std::string& certificate);

struct HaproxyOptions {
  ConfigLoadLimits limits;
  bool read_files = true;  // false: crt directories and crt-list files are not opened (fuzzing)
};

// The configuration file (or, as haproxy -f DIR, every *.cfg file of a directory, sorted).
// A file that cannot be read or an unbalanced .if: Errc::Io / Errc::BadInput. A crt directory
// or crt-list that cannot be read is a problem of its site, not an error.
HaproxyConfig load_haproxy_config(const std::filesystem::path& config,
                                  const HaproxyOptions& options = {});

// One configuration text; relative crt paths from base_dir when there is no crt-base.
HaproxyConfig parse_haproxy(std::string_view text, const std::string& source,
                            const std::filesystem::path& base_dir,
                            const HaproxyOptions& options = {});

}  // namespace keysafe::adopt
