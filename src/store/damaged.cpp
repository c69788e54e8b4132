// Reading a damaged store entry by entry: every query may fail on a damaged page, and each
// failure costs only what that query would have read.
#include "keysafe/store/damaged.hpp"

#include <functional>
#include <map>

#include "keysafe/error.hpp"

namespace keysafe::store {
namespace {

// Runs `body`; a damaged page (or anything else SQLite refuses) ends it quietly, keeping what
// was read before.
void as_far_as_it_reads(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error&) {
  }
}

}  // namespace

std::vector<SurvivingEntryId> surviving_entry_ids(Database& db) {
  std::map<std::int64_t, std::optional<std::string>> ids;
  const auto note = [&](std::int64_t id, std::optional<std::string> name) {
    auto& slot = ids[id];
    if (!slot && name) slot = std::move(name);
  };
  as_far_as_it_reads([&] {
    auto q = db.prepare("SELECT id, name FROM keys NOT INDEXED ORDER BY id");
    while (q.step()) note(q.int64(0), q.text(1));
  });
  // The UNIQUE name index holds (name, id): it names entries whose table page is gone.
  std::vector<std::string> indexes;
  as_far_as_it_reads([&] {
    auto q = db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'keys'");
    while (q.step()) indexes.push_back(q.text(0));
  });
  for (const auto& index : indexes)
    as_far_as_it_reads([&] {
      auto q = db.prepare("SELECT id, name FROM keys INDEXED BY \"" + index + "\"");
      while (q.step()) note(q.int64(0), q.text(1));
    });
  for (const char* sql : {"SELECT DISTINCT key_id FROM certificates NOT INDEXED",
                          "SELECT DISTINCT key_id FROM requests NOT INDEXED"})
    as_far_as_it_reads([&] {
      auto q = db.prepare(sql);
      while (q.step()) note(q.int64(0), std::nullopt);
    });
  std::int64_t largest = ids.empty() ? 0 : ids.rbegin()->first;
  as_far_as_it_reads([&] {
    auto q = db.prepare("SELECT max(id) FROM keys");
    if (q.step() && !q.is_null(0)) largest = std::max(largest, q.int64(0));
  });
  // Each id on its own: a lookup by primary key reads only the pages on the way to its row.
  for (std::int64_t id = 1; id <= largest && id <= 1000000; ++id) {
    if (ids.contains(id) && ids[id]) continue;
    as_far_as_it_reads([&] {
      auto q = db.prepare("SELECT name FROM keys WHERE id = ?");
      q.bind(1, id);
      if (q.step()) note(id, q.text(0));
    });
  }
  std::vector<SurvivingEntryId> out;
  for (auto& [id, name] : ids) out.push_back({id, std::move(name)});
  return out;
}

std::vector<std::string> damage_summary(Database& db, int limit) {
  std::vector<std::string> lines;
  try {
    auto q = db.prepare("PRAGMA integrity_check(" + std::to_string(limit) + ")");
    while (q.step())
      if (const auto line = q.text(0); line != "ok") lines.push_back(line);
  } catch (const Error& e) {
    lines.push_back(e.summary() + (e.cause().empty() ? "" : ": " + e.cause()));
  }
  return lines;
}

}  // namespace keysafe::store
