// Bulk issuance: many new keys, each with its request and a server certificate from a CA held
// in the store, made on several threads and stored in one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct BulkIssueParams {
  std::string ca;                 // store entry of the issuing CA: its key and CA certificate
  std::size_t count = 0;          // how many entries
  std::string prefix;             // entries PREFIX-1 ... PREFIX-COUNT (zero-padded to one width)
  std::string dns_suffix;         // each DNS name is the entry name followed by this
  unsigned threads = 0;           // 0: one per processor
  int days = 90;                  // validity of each certificate
  std::int64_t now = 0;
  // Called from the calling thread as entries are stored: (stored, count).
  std::function<void(std::size_t, std::size_t)> progress;
};

struct BulkIssueResult {
  std::string ca;
  std::vector<std::string> names;
  std::int64_t not_after = 0;  // of the last certificate (all share the validity)
  unsigned threads = 0;
};

// Checks the CA entry (private key, current certificate with basicConstraints cA), the names
// (valid, all new) and the counts before any expensive work. Throws Usage/NotFound/AlreadyExists.
void prepare_bulk_issue(store::Keystore& store, BulkIssueParams& params);

// P-256 keys, PKCS#10 requests (CN and subjectAltName = the DNS name), and certificates with the
// server profile (basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage
// serverAuth, subjectAltName, subject and authority key identifiers, random 128-bit serial)
// signed by the CA; keys sealed on the worker threads; everything stored in one transaction
// (nothing is stored if anything fails). The store must be unlocked.
BulkIssueResult issue_bulk(store::Keystore& store, const BulkIssueParams& params);

}  // namespace keysafe::ops
