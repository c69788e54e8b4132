// Answering HTTP-01 challenges (RFC 8555 §8.3): the key authorization served at
// http://NAME/.well-known/acme-challenge/TOKEN, by keysafe itself or by files in a webroot.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace keysafe::acme {

// A token is base64url (RFC 8555 §8.1); anything else from the CA is refused before it names
// a file or a path.
void require_token(std::string_view token);

class Http01Responder {
 public:
  virtual ~Http01Responder() = default;
  virtual void add(const std::string& token, const std::string& key_authorization) = 0;
  // Removes every token added, and what was created for them. Never throws; returns the
  // problems (for warnings).
  virtual std::vector<std::string> clear() noexcept = 0;
  // What it is, for messages ("keysafe listening on 127.0.0.1:5002", "files under DIR").
  virtual std::string describe() const = 0;
};

// Serves the tokens on ADDR:PORT (cpp-httplib) until destroyed. Throws Errc::Io naming the
// address when it cannot listen (in use, no permission for a port below 1024).
std::unique_ptr<Http01Responder> listen_responder(const std::string& address_port);

// Writes each token atomically as DIR/.well-known/acme-challenge/TOKEN (mode 0644, the
// directories made when missing, 0755) and removes them, and the directories it made, in
// clear(). DIR is reached as keysafe reaches every directory it writes as root
// (files/trusted_directory.hpp).
std::unique_ptr<Http01Responder> webroot_responder(const std::filesystem::path& dir);

}  // namespace keysafe::acme
