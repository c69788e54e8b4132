// Server file layouts: which files a deployment writes, in the shape each server expects.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "keysafe/ossl/bytes.hpp"

namespace keysafe::deploy {

enum class Layout { Nginx, Apache, Haproxy, Pem };

// "nginx", "apache", "haproxy", "pem"; throws Errc::Usage for anything else.
Layout parse_layout(std::string_view name);
std::string_view layout_name(Layout layout) noexcept;

// One file of a deployment: its name in the target directory, its content and its mode.
struct DeployFile {
  std::string name;
  SecureBytes content;  // may hold the private key
  unsigned mode = 0644;
  bool holds_key = false;
  // Replacing an existing file keeps its owner and group (an adopted server's file, e.g. a key
  // root:ssl-cert 0640); a new file belongs to the user running keysafe.
  bool keep_owner = false;
  // An adopted certbot lineage's live/NAME/FILE.pem may be certbot's symbolic link into
  // archive/NAME (is_certbot_link): it is replaced by a regular file (renamed over the link,
  // never written through it). Set only for the layout "files"; any other link is refused.
  bool replace_certbot_link = false;
};

// What is deployed: the private key as PEM ("-----BEGIN PRIVATE KEY-----", PKCS#8), the leaf
// and the chain (leaf's issuer first) as PEM.
struct Material {
  SecureBytes key_pem;
  std::string leaf_pem;
  std::vector<std::string> chain_pem;
};

// The files of `layout`:
//   nginx:   fullchain.pem (leaf + chain), privkey.pem (0600)
//   apache:  cert.pem (leaf), chain.pem (chain, empty when none), privkey.pem (0600)
//   haproxy: haproxy.pem (leaf + chain + key, 0600)
//   pem:     cert.pem, chain.pem, fullchain.pem, privkey.pem (0600)
std::vector<DeployFile> layout_files(Layout layout, const Material& material);

// What one file of a server's own arrangement holds (keysafe adopt records these as the layout
// "files": each file at its own path, written with the content of its role).
enum class FileRole { Key, Certificate, Fullchain, Chain, Combined };
std::string_view role_name(FileRole role) noexcept;  // key, cert, fullchain, chain, combined
FileRole parse_role(std::string_view name);           // Errc::StoreDamaged for anything else
// The content of `role`: the key (0600), the leaf, leaf + chain, the chain, or leaf + chain +
// key in one file (HAProxy's; 0600).
SecureBytes role_content(FileRole role, const Material& material);
bool role_holds_key(FileRole role) noexcept;
bool role_holds_leaf(FileRole role) noexcept;

// The file whose first certificate is the leaf (to compare files on disk with the store).
std::string_view leaf_file(Layout layout) noexcept;

}  // namespace keysafe::deploy
