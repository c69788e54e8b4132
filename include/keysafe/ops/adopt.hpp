// keysafe adopt: the keys and certificates a running server already uses, found in its own
// configuration, imported into the store, and their files recorded as deployments (layout
// "files") so status, renew and backups cover the server as it is, without moving a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "keysafe/ops/import.hpp"
#include "keysafe/store/deployments.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct AdoptFile {
  std::string path;
  std::string role;   // key, fullchain, cert, chain, combined
  std::string holds;  // for people: "certificate + 1 chain certificate", "EC P-256 private key"
  std::string sha256;
};

// One certificate/key pair of one server block (virtual host, bind line).
struct AdoptPair {
  std::string server;  // "FILE line N"
  std::vector<std::string> server_names;
  std::optional<std::string> probe;  // HOST:PORT from the listen address
  std::optional<std::string> sni;
  std::string certificate_path;
  std::string key_path;
  std::vector<AdoptFile> files;
  std::string entry;  // the entry it becomes (or is linked to)
  std::string subject;
  std::int64_t not_after = 0;
  std::string fingerprint_sha256;
  std::string spki_sha256;
  bool key_matches = false;
  std::string action;   // create, link (already in the store), shared (same key as an earlier pair)
  std::string problem;  // not adopted, and why; empty when adoptable
  std::string target;   // the deployment's label (target_dir): the key file's path, made unique
  std::size_t key_index = 0;  // into the plan's import contents
};

struct AdoptPlan {
  std::string server;  // nginx, apache, haproxy
  std::string config;  // absolute path of the main configuration file
  std::string test_cmd;
  std::string reload_cmd;
  std::vector<AdoptPair> pairs;
  ImportContents contents;  // every distinct key and certificate of the adoptable pairs
  ImportPlan import;
  std::size_t adoptable() const;
};

// Reads the nginx configuration and every file it names; never writes. Problems are recorded
// per pair; a configuration that cannot be read at all throws.
AdoptPlan plan_adopt_nginx(store::Keystore& store, const std::filesystem::path& config,
                           std::int64_t now);

// Imports the plan's keys and certificates (as keysafe import) and records one deployment per
// adoptable pair. Needs the store unlocked when plan.import.needs_unlock.
void apply_adopt(store::Keystore& store, AdoptPlan& plan, std::int64_t now);

}  // namespace keysafe::ops
