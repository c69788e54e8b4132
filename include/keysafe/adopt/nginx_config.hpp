// nginx's configuration syntax, read the way nginx reads it: directives and blocks, quotes,
// escapes and comments; `include` with glob(3) patterns and paths relative to the main file's
// directory (nginx's conf prefix); and the TLS sites it declares (server blocks with their
// ssl_certificate / ssl_certificate_key, inherited from the http or stream level).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "keysafe/adopt/config_files.hpp"

namespace keysafe::adopt {

// One file's text as nginx tokenizes it (include not followed). Errc::BadInput names the file
// and line of a syntax error (unbalanced braces or quotes, a directive without ';'), and a
// nesting deeper than 64 blocks.
std::vector<Directive> parse_nginx(std::string_view text, const std::string& source);

using NginxLoadLimits = ConfigLoadLimits;

// The main file with every `include` replaced by the directives of the files it names (a glob
// matches in sorted order, as nginx's; a pattern matching nothing is allowed, a plain path
// that is missing is an error, as in nginx). An include cycle, a depth or size beyond the
// limits, or a file that cannot be read: Errc::BadInput / Errc::Io naming it.
std::vector<Directive> load_nginx_config(const std::filesystem::path& main_file,
                                         const NginxLoadLimits& limits = {});

// One certificate/key pair of one server block.
struct NginxSite {
  std::string file;  // the server block's file and line
  int line = 0;
  std::vector<std::string> server_names;  // as written, "_" and wildcards included
  std::vector<std::string> listens;       // the first argument of each listen
  bool tls = false;                       // a listen with ssl/quic, or `ssl on`
  std::string certificate;                // absolute (relative paths from the conf prefix)
  std::string key;                        // likewise; "engine:..." / "data:..." kept as written
  bool inherited = false;                 // the pair comes from the http/stream level
  std::string problem;  // set when the pair cannot be used as written (missing key, ...)
};

// Every pair of every server block under http and stream, in file order. A block with several
// ssl_certificate directives (RSA and ECDSA, say) gives one site per pair.
std::vector<NginxSite> nginx_sites(const std::vector<Directive>& config,
                                   const std::filesystem::path& conf_prefix);

}  // namespace keysafe::adopt
