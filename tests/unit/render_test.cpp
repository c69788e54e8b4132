// The CLI's renderings: list/show --json written directly (cli/json_text.cpp) are the bytes
// nlohmann::json printed before, for every kind of value an entry holds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "json_text.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/inventory.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

// What list/show printed until JsonText: the entry as nlohmann::json, dumped with dump(2).
nlohmann::json reference_json(const ops::EntryView& v) {
  const auto opt = [](const auto& o) -> nlohmann::json {
    if (!o) return nullptr;
    return *o;
  };
  const auto time = [](const std::optional<std::int64_t>& t) -> nlohmann::json {
    if (!t) return nullptr;
    return ops::format_rfc3339(*t);
  };
  return {
      {"name", v.name},
      {"state", v.state},
      {"key_algorithm", v.key_algorithm},
      {"subject", v.subject},
      {"dns", v.dns},
      {"ip", v.ip},
      {"issuer", opt(v.issuer)},
      {"serial", opt(v.serial)},
      {"not_before", time(v.not_before)},
      {"not_after", time(v.not_after)},
      {"days_left", opt(v.days_left)},
      {"fingerprint_sha256", opt(v.fingerprint_sha256)},
      {"spki_sha256", v.spki_sha256},
      {"last_backup", time(v.last_backup)},
      {"backed_up", v.last_backup.has_value()},
      {"created", ops::format_rfc3339(v.created_at)},
      {"certificates", v.certificate_count},
      {"chain_trusted", opt(v.chain_trusted)},
      {"chain_problem", opt(v.chain_problem)},
      {"weak_key", v.weak_key},
      {"superseded_by", opt(v.superseded_by)},
  };
}

std::string reference_text(const nlohmann::json& j) {
  return j.dump(2, ' ', false, k_invalid_utf8) + "\n";
}

ops::EntryView pending() {
  ops::EntryView v;
  v.name = "www.example.com";
  v.state = "pending";
  v.key_algorithm = "ec-p256";
  v.subject = "CN=www.example.com";
  v.dns = {"www.example.com", "example.com"};
  v.spki_sha256 = std::string(64, 'a');
  v.created_at = 1700000000;
  return v;
}

ops::EntryView installed() {
  ops::EntryView v = pending();
  v.state = "installed";
  v.ip = {"192.0.2.1", "2001:db8::1"};
  v.issuer = "CN=Example CA,O=Example";
  v.serial = "03E8";
  v.not_before = 1700000000;
  v.not_after = 1707776000;
  v.days_left = -12;  // negative and zero numbers print as nlohmann prints them
  v.fingerprint_sha256 = std::string(64, 'f');
  v.last_backup = 0;
  v.certificate_count = 3;
  v.chain_trusted = false;
  v.chain_problem = "unable to get local issuer certificate";
  v.weak_key = true;
  v.superseded_by = "www.example.com.renewal";
  return v;
}

// Strings that are not plain printable ASCII: escapes, control characters, UTF-8, and bytes
// that are not UTF-8 (a damaged store, a hostile file), each replaced by U+FFFD.
ops::EntryView awkward() {
  ops::EntryView v = installed();
  v.name = "quote\" backslash\\ slash/ tab\t nl\n cr\r bs\b ff\f nul" + std::string(1, '\0') +
           " esc\x1b del\x7f";
  v.subject = "CN=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91";
  v.issuer = std::string("bad \xff\xfe end \xc3 cut \xe2\x82");
  v.dns = {"", "\xc3\x28", "ok"};
  v.ip = {};
  v.chain_trusted = true;
  v.chain_problem = std::nullopt;
  v.days_left = 0;
  v.certificate_count = 9223372036854775807;
  return v;
}

std::string written(const std::vector<ops::EntryView>& entries) {
  std::ostringstream out;
  render_entries_json(entries, out);
  return out.str();
}

TEST(EntryJson, ListIsTheBytesNlohmannPrinted) {
  const std::vector<ops::EntryView> entries = {pending(), installed(), awkward(), pending()};
  nlohmann::json reference = nlohmann::json::array();
  for (const auto& e : entries) reference.push_back(reference_json(e));
  EXPECT_EQ(written(entries), reference_text(reference));
}

TEST(EntryJson, EmptyListIsTheBytesNlohmannPrinted) {
  EXPECT_EQ(written({}), reference_text(nlohmann::json::array()));
  EXPECT_EQ(written({}), "[]\n");
}

TEST(EntryJson, ShowIsTheBytesNlohmannPrinted) {
  for (const auto& e : {pending(), installed(), awkward()}) {
    std::ostringstream out;
    render_entry_json(e, out);
    EXPECT_EQ(out.str(), reference_text(reference_json(e))) << e.name;
  }
}

TEST(JsonText, NestedContainersLayOutAsNlohmann) {
  std::ostringstream out;
  {
    JsonText json(out);
    json.begin_array();
    json.begin_object();
    json.end_object();
    json.begin_array();
    json.end_array();
    json.begin_object();
    json.key("a").begin_array();
    json.value(std::int64_t{-1});
    json.value(true);
    json.null();
    json.begin_object();
    json.key("b").value("c");
    json.end_object();
    json.end_array();
    json.key("d").value(std::vector<std::string>{});
    json.end_object();
    json.end_array();
  }  // the destructor flushes
  const auto reference = nlohmann::json::parse(R"([{}, [], {"a": [-1, true, null, {"b": "c"}], "d": []}])");
  EXPECT_EQ(out.str() + "\n", reference_text(reference));
}

TEST(JsonText, LargeDocumentsAreWrittenWhole) {
  // Past the 64 KiB buffer: flushed in pieces, nothing lost or repeated.
  std::vector<ops::EntryView> entries(2000, installed());
  nlohmann::json reference = nlohmann::json::array();
  for (const auto& e : entries) reference.push_back(reference_json(e));
  EXPECT_EQ(written(entries), reference_text(reference));
}

}  // namespace
}  // namespace keysafe::cli
