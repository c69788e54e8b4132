// The file layouts of nginx, Apache, HAProxy and a plain PEM set.
#include "keysafe/deploy/layout.hpp"

#include "keysafe/error.hpp"

namespace keysafe::deploy {
namespace {

void append(SecureBytes& out, std::string_view text) { out.insert(out.end(), text.begin(), text.end()); }

DeployFile text_file(std::string name, std::initializer_list<std::string_view> parts) {
  DeployFile f{std::move(name), {}, 0644, false};
  for (auto p : parts) append(f.content, p);
  return f;
}

std::string joined(const std::vector<std::string>& pems) {
  std::string out;
  for (const auto& p : pems) out += p;
  return out;
}

DeployFile key_file(std::string name, const Material& m) {
  DeployFile f{std::move(name), m.key_pem, 0600, true};
  return f;
}

}  // namespace

Layout parse_layout(std::string_view name) {
  if (name == "nginx") return Layout::Nginx;
  if (name == "apache") return Layout::Apache;
  if (name == "haproxy") return Layout::Haproxy;
  if (name == "pem") return Layout::Pem;
  throw Error(Errc::Usage, "unknown layout \"" + std::string(name) + "\"",
              "keysafe writes the layouts nginx, apache, haproxy and pem",
              "use --layout nginx|apache|haproxy|pem");
}

std::string_view layout_name(Layout layout) noexcept {
  switch (layout) {
    case Layout::Nginx: return "nginx";
    case Layout::Apache: return "apache";
    case Layout::Haproxy: return "haproxy";
    case Layout::Pem: return "pem";
  }
  return "pem";
}

std::vector<DeployFile> layout_files(Layout layout, const Material& m) {
  const std::string chain = joined(m.chain_pem);
  std::vector<DeployFile> files;
  switch (layout) {
    case Layout::Nginx:
      // ssl_certificate takes the leaf followed by the intermediates.
      files.push_back(text_file("fullchain.pem", {m.leaf_pem, chain}));
      files.push_back(key_file("privkey.pem", m));
      break;
    case Layout::Apache:
      // SSLCertificateFile, SSLCertificateChainFile, SSLCertificateKeyFile.
      files.push_back(text_file("cert.pem", {m.leaf_pem}));
      files.push_back(text_file("chain.pem", {chain}));
      files.push_back(key_file("privkey.pem", m));
      break;
    case Layout::Haproxy: {
      // `crt` takes one file holding the certificate, its chain and its key.
      DeployFile f{"haproxy.pem", {}, 0600, true};
      append(f.content, m.leaf_pem);
      append(f.content, chain);
      f.content.insert(f.content.end(), m.key_pem.begin(), m.key_pem.end());
      files.push_back(std::move(f));
      break;
    }
    case Layout::Pem:
      files.push_back(text_file("cert.pem", {m.leaf_pem}));
      files.push_back(text_file("chain.pem", {chain}));
      files.push_back(text_file("fullchain.pem", {m.leaf_pem, chain}));
      files.push_back(key_file("privkey.pem", m));
      break;
  }
  return files;
}

std::string_view role_name(FileRole role) noexcept {
  switch (role) {
    case FileRole::Key: return "key";
    case FileRole::Certificate: return "cert";
    case FileRole::Fullchain: return "fullchain";
    case FileRole::Chain: return "chain";
    case FileRole::Combined: return "combined";
  }
  return "cert";
}

FileRole parse_role(std::string_view name) {
  for (auto r : {FileRole::Key, FileRole::Certificate, FileRole::Fullchain, FileRole::Chain,
                 FileRole::Combined})
    if (role_name(r) == name) return r;
  throw Error(Errc::StoreDamaged, "a deployment records an unknown file role \"" + std::string(name) + "\"",
              "keysafe writes the roles key, cert, fullchain, chain and combined",
              "adopt the server again (keysafe adopt) or deploy with --layout");
}

SecureBytes role_content(FileRole role, const Material& m) {
  const std::string chain = joined(m.chain_pem);
  SecureBytes out;
  switch (role) {
    case FileRole::Key: return m.key_pem;
    case FileRole::Certificate: append(out, m.leaf_pem); break;
    case FileRole::Fullchain: append(out, m.leaf_pem); append(out, chain); break;
    case FileRole::Chain: append(out, chain); break;
    case FileRole::Combined:
      append(out, m.leaf_pem);
      append(out, chain);
      out.insert(out.end(), m.key_pem.begin(), m.key_pem.end());
      break;
  }
  return out;
}

bool role_holds_key(FileRole role) noexcept { return role == FileRole::Key || role == FileRole::Combined; }
bool role_holds_leaf(FileRole role) noexcept {
  return role == FileRole::Certificate || role == FileRole::Fullchain || role == FileRole::Combined;
}

std::string_view leaf_file(Layout layout) noexcept {
  switch (layout) {
    case Layout::Nginx: return "fullchain.pem";
    case Layout::Haproxy: return "haproxy.pem";
    case Layout::Apache:
    case Layout::Pem: return "cert.pem";
  }
  return "cert.pem";
}

}  // namespace keysafe::deploy
