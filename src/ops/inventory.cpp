// list/show: entry state and display fields from stored columns.
#include "keysafe/ops/inventory.hpp"

#include <charconv>
#include <utility>

#include "keysafe/ops/clock.hpp"

namespace keysafe::ops {

bool is_weak_algorithm(std::string_view algorithm) {
  if (algorithm.starts_with("dsa-")) return true;
  for (std::string_view prefix : {"rsa-", "rsa-pss-"})
    if (algorithm.starts_with(prefix)) {
      int bits = 0;
      const auto rest = algorithm.substr(prefix.size());
      std::from_chars(rest.data(), rest.data() + rest.size(), bits);
      return bits > 0 && bits < 2048;
    }
  return false;
}

EntryView make_view(store::EntryRecord record, std::int64_t now) {
  auto& k = record.key;
  EntryView v;
  v.name = std::move(k.name);
  v.key_algorithm = std::move(k.algorithm);
  v.spki_sha256 = std::move(k.spki_sha256);
  v.last_backup = k.last_backup_at;
  v.created_at = k.created_at;
  v.certificate_count = record.certificate_count;
  v.weak_key = is_weak_algorithm(v.key_algorithm);
  if (record.current) {
    auto& c = *record.current;
    v.subject = std::move(c.subject);
    v.dns = std::move(c.dns);
    v.ip = std::move(c.ip);
    v.issuer = std::move(c.issuer);
    v.serial = std::move(c.serial);
    v.not_before = c.not_before;
    v.not_after = c.not_after;
    v.days_left = days_left(now, c.not_after);
    v.fingerprint_sha256 = std::move(c.fingerprint_sha256);
    v.chain_trusted = c.chain_trusted;
    if (!c.chain_problem.empty()) v.chain_problem = std::move(c.chain_problem);
  } else {
    v.subject = std::move(k.subject);
    v.dns = std::move(k.dns);
    v.ip = std::move(k.ip);
  }
  v.superseded_by = std::move(record.superseded_by);
  // A replaced entry is kept only for its key and history: no alarm about its expiry.
  if (record.superseded_by) v.state = "superseded";
  else if (!k.has_private_key) v.state = "no-key";
  else if (!record.current) v.state = "pending";
  else if (record.current->not_after < now) v.state = "expired";
  else v.state = "installed";
  return v;
}

std::vector<EntryView> list_entries(store::Keystore& store, std::int64_t now,
                                    std::optional<std::int64_t> expiring_days,
                                    bool include_superseded) {
  std::optional<std::int64_t> by;
  if (expiring_days) by = now + *expiring_days * 86400;
  auto records = store.entries(by);
  std::vector<EntryView> out;
  out.reserve(records.size());
  for (auto& e : records) {
    // Never in an expiry listing: its renewal is what matters.
    if (e.superseded_by && (expiring_days || !include_superseded)) continue;
    out.push_back(make_view(std::move(e), now));
  }
  return out;
}

EntryView show_entry(store::Keystore& store, std::string_view name, std::int64_t now) {
  auto e = store.entry(name);
  if (!e) {
    std::string similar;
    for (const auto& k : store.all_keys())
      if (k.name.find(name) != std::string::npos || name.find(k.name) != std::string::npos)
        similar += (similar.empty() ? "" : ", ") + ("\"" + k.name + "\"");
    throw Error(Errc::NotFound, "no entry named \"" + std::string(name) + "\"",
                similar.empty() ? "the store has no entry of that name"
                                : "similar names in the store: " + similar,
                "see every entry with: keysafe list");
  }
  return make_view(std::move(*e), now);
}

std::int64_t parse_days(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && (digits.back() == 'd' || digits.back() == 'D')) digits.remove_suffix(1);
  std::int64_t value = -1;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value < 0 ||
      value > 36500)
    throw Error(Errc::Usage, "\"" + std::string(text) + "\" is not a number of days",
                "DAYS is a whole number from 0 to 36500, optionally followed by 'd'",
                "for example: keysafe list --expiring 30");
  return value;
}

}  // namespace keysafe::ops
