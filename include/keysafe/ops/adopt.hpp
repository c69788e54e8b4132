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
  std::string chain_path;  // a separate chain file, empty when none
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
  std::string block_kind;  // "server block", "virtual host", "bind line": for people
  std::string config;  // absolute path of the main configuration file
  std::string test_cmd;
  std::string reload_cmd;
  std::vector<AdoptPair> pairs;
  ImportContents contents;  // every distinct key and certificate of the adoptable pairs
  ImportPlan import;
  std::size_t adoptable() const;
};

// One certificate/key pair as a server's configuration names it, before any file is read: what
// each server's reader hands to the shared adoption core (plan_adopt).
struct AdoptSource {
  std::string server;  // for people: "\"FILE\" line N"
  std::vector<std::string> server_names;  // the first plain one is the SNI and the entry name
  std::string listen;                     // the address to probe ("127.0.0.1:443", "*:443", "443")
  std::string certificate;                // the file with the leaf (and maybe chain and key)
  std::string key;          // the key file; empty: the key is in the certificate file
  std::string key_fallback; // with key empty, read when the certificate file holds no key
                            // (HAProxy's FILE.key companion); only when it exists
  std::string chain;        // a separate chain file (Apache's SSLCertificateChainFile)
  bool sni_from_certificate = false;  // no server names: send the certificate's first DNS name
  std::string problem;                // found while reading the configuration
};

// The server whose configuration was read, and its own test and reload commands for it.
struct AdoptServer {
  std::string name;        // nginx, apache, haproxy
  std::string block_kind;  // "server block", "virtual host", "bind line"
  std::string config;      // absolute
  std::string test_cmd;
  std::string reload_cmd;
};

// The shared core: reads each source's files (never writes), checks each pair (a key that
// matches, a weak key, a symbolic link, an encrypted key), groups the pairs by key (one entry
// per key; a key already in the store is linked) and plans the import. Problems are recorded
// per pair, never thrown.
AdoptPlan plan_adopt(store::Keystore& store, const AdoptServer& server, const std::vector<AdoptSource>& sources,
                     std::int64_t now);

// Per server: reads its configuration (every file it includes; never writes) and plans with
// plan_adopt. A configuration that cannot be read at all throws.
AdoptPlan plan_adopt_nginx(store::Keystore& store, const std::filesystem::path& config, std::int64_t now);
AdoptPlan plan_adopt_apache(store::Keystore& store, const std::filesystem::path& config, std::int64_t now);
AdoptPlan plan_adopt_haproxy(store::Keystore& store, const std::filesystem::path& config, std::int64_t now);

// Imports the plan's keys and certificates (as keysafe import) and records one deployment per
// adoptable pair. Needs the store unlocked when plan.import.needs_unlock.
void apply_adopt(store::Keystore& store, AdoptPlan& plan, std::int64_t now);

}  // namespace keysafe::ops
