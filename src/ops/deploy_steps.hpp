// The steps deploy and the fleet agent share (src/ops only): the material a server reads, the
// target directory resolved safely, and the wording of a failed command or an unreadable file.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/deploy/command.hpp"
#include "keysafe/deploy/layout.hpp"
#include "keysafe/files/trusted_directory.hpp"
#include "keysafe/ossl/bytes.hpp"

namespace keysafe::ops::detail {

// The key as unencrypted PEM, the leaf, and the chain a server sends (intermediates only).
deploy::Material deploy_material(const SecureBytes& pkcs8, std::span<const std::uint8_t> leaf_der,
                                 const std::vector<Bytes>& chain_der);
// The target directory, resolved without following anything another user controls and kept
// open (files::TrustedDirectory); its errors say that deploying is what could not be done.
files::TrustedDirectory target_directory(const std::filesystem::path& dir);
// Removes the directories a failed deployment created; names those it could not remove.
std::string remove_created(files::TrustedDirectory& dir);
std::string command_failure_cause(const std::string& which, const std::string& cmd,
                                  const deploy::CommandOutcome& o);
// The leaf of a PEM file on disk (first certificate block), by fingerprint.
std::optional<std::string> leaf_fingerprint_on_disk(const std::filesystem::path& path,
                                                    std::string& problem);

}  // namespace keysafe::ops::detail
