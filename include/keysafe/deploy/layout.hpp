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

// The file whose first certificate is the leaf (to compare files on disk with the store).
std::string_view leaf_file(Layout layout) noexcept;

}  // namespace keysafe::deploy
