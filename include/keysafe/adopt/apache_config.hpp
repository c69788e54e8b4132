// Apache httpd's configuration, read the way httpd reads it: logical lines (a trailing "\"
// continues one), "#" comment lines, arguments split as ap_getword_conf does ("..." and '...'
// with \" inside), <Section> ... </Section> nesting, Define/UnDefine and ${VAR} replaced line by
// line in file order, <IfModule>/<IfDefine>/<IfFile> evaluated against what was read so far,
// Include/IncludeOptional with globs and directories, relative paths from ServerRoot; and the
// TLS virtual hosts it declares (SSLCertificateFile, SSLCertificateKeyFile,
// SSLCertificateChainFile, ServerName, ServerAlias).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/adopt/config_files.hpp"

namespace keysafe::adopt {

// One certificate/key pair of one <VirtualHost>.
struct ApacheSite {
  std::string file;  // the <VirtualHost> line
  int line = 0;
  std::vector<std::string>
      server_names;  // ServerName first (scheme and port removed), then ServerAlias
  std::vector<std::string> addresses;  // the <VirtualHost> arguments ("127.0.0.1:443", "*:443")
  std::string certificate;             // absolute (relative paths from ServerRoot)
  std::string key;                     // empty: the key is in the certificate file
  std::string chain;                   // SSLCertificateChainFile, empty when none
  bool inherited = false;              // the pair comes from the main server
  std::string problem;                 // set when the pair cannot be used as written
};

struct ApacheOptions {
  // httpd's compiled-in ServerRoot (Debian's), used until a ServerRoot directive.
  std::filesystem::path server_root = "/etc/apache2";
  ConfigLoadLimits limits;
  bool follow_includes = true;  // false: Include is ignored (reading one text alone)
};

struct ApacheConfig {
  std::vector<ApacheSite> sites;
  std::filesystem::path server_root;           // the last ServerRoot in effect
  std::map<std::string, std::string> defines;  // Define'd at the end of reading
};

// The main file and every file it includes. A syntax error (an unclosed or mismatched section,
// a section tag without ">"), a missing file named by Include (not IncludeOptional), an
// include cycle or a limit exceeded: Errc::BadInput / Errc::Io naming the file and line.
ApacheConfig load_apache_config(const std::filesystem::path& main_file,
                                const ApacheOptions& options = {});

// One configuration text alone (Include not followed): for tests and the fuzzer.
ApacheConfig parse_apache(std::string_view text, const std::string& source,
                          const ApacheOptions& options = {});

}  // namespace keysafe::adopt
