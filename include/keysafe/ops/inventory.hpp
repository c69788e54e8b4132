// list and show: what the store holds, from indexed columns, without the passphrase.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

// One entry as list/show present it (docs/JSON.md documents the JSON form).
struct EntryView {
  std::string name;
  std::string state;  // pending, installed, expired, no-key, superseded
  std::optional<std::string> superseded_by;  // the entry whose renewal replaced this one
  std::string key_algorithm;
  std::string subject;
  std::vector<std::string> dns;
  std::vector<std::string> ip;
  std::optional<std::string> issuer;
  std::optional<std::string> serial;
  std::optional<std::int64_t> not_before;
  std::optional<std::int64_t> not_after;
  std::optional<std::int64_t> days_left;
  std::optional<std::string> fingerprint_sha256;
  std::string spki_sha256;
  std::optional<std::int64_t> last_backup;
  std::int64_t created_at = 0;
  std::int64_t certificate_count = 0;
  std::optional<bool> chain_trusted;
  std::optional<std::string> chain_problem;
  bool weak_key = false;  // below policy (RSA < 2048, DSA), imported with --allow-weak
};

// True for key algorithms below keysafe's policy, by their stored name.
bool is_weak_algorithm(std::string_view algorithm);

// Takes the record's strings and lists over (a listing of 100,000 entries copied each twice).
EntryView make_view(store::EntryRecord record, std::int64_t now);

// `expiring_days`: only entries whose current certificate ends within that many days
// (already expired ones included). Superseded entries (replaced by a renewal) only with
// `include_superseded`, and never in an expiry listing.
std::vector<EntryView> list_entries(store::Keystore& store, std::int64_t now,
                                    std::optional<std::int64_t> expiring_days,
                                    bool include_superseded = false);

// Throws NotFound naming close matches.
EntryView show_entry(store::Keystore& store, std::string_view name, std::int64_t now);

// "30" or "30d" -> 30. Throws Usage.
std::int64_t parse_days(std::string_view text);

}  // namespace keysafe::ops
