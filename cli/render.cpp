// Rendering: one error format, stable JSON fields (docs/JSON.md), readable tables.
#include "render.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <sstream>

#include "json_text.hpp"
#include "keysafe/ops/acme.hpp"
#include "keysafe/ops/clock.hpp"

namespace keysafe::cli {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Continuation lines of a long message line up under its first line.
void print_field(std::ostream& err, std::string_view label, const std::string& text) {
  err << "  " << label;
  for (char c : text) {
    err << c;
    if (c == '\n') err << std::string(label.size() + 2, ' ');
  }
  err << '\n';
}

}  // namespace

void render_error(const Error& e, std::ostream& out, std::ostream& err, bool json, bool verbose) {
  err << "keysafe: error: " << e.summary() << '\n';
  if (!e.cause().empty()) print_field(err, "cause: ", e.cause());
  if (!e.remedy().empty()) print_field(err, "fix:   ", e.remedy());
  if (verbose && !e.openssl_errors().empty()) print_field(err, "openssl: ", e.openssl_errors());
  if (json) {
    nlohmann::json j = {{"error",
                         {{"code", std::string(errc_name(e.code()))},
                          {"exit_code", exit_code_for(e.code())},
                          {"summary", e.summary()},
                          {"cause", e.cause()},
                          {"fix", e.remedy()}}}};
    out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
  }
}

nlohmann::json time_or_null(const std::optional<std::int64_t>& t) {
  if (!t) return nullptr;
  return ops::format_rfc3339(*t);
}

nlohmann::json certificate_info_json(const x509::CertificateInfo& c) {
  return {{"subject", c.subject},
          {"issuer", c.issuer},
          {"serial", c.serial_hex},
          {"fingerprint_sha256", c.fingerprint_sha256},
          {"spki_sha256", c.spki_sha256},
          {"key_algorithm", c.key_algorithm},
          {"not_before", time_or_null(c.not_before)},
          {"not_after", time_or_null(c.not_after)},
          {"dns", c.dns},
          {"ip", c.ip}};
}

nlohmann::json installed_certificate_json(const ops::InstallResult& r) {
  const auto& c = r.certificate;
  return {{"fingerprint_sha256", c.fingerprint_sha256},
          {"spki_sha256", c.spki_sha256},
          {"subject", c.subject},
          {"issuer", c.issuer},
          {"serial", c.serial_hex},
          {"not_before", time_or_null(c.not_before)},
          {"not_after", time_or_null(c.not_after)},
          {"chain_length", r.chain_length},
          {"chain_trusted", r.chain_trusted},
          {"chain_problem",
           r.chain_problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.chain_problem)},
          {"warnings", r.warnings}};
}

namespace {

void write_time(JsonText& json, const std::optional<std::int64_t>& t) {
  if (t) json.value(ops::format_rfc3339(*t));
  else json.null();
}

}  // namespace

// Keys in sorted order: the order nlohmann::json (a std::map) printed them in, which scripts
// may have come to rely on.
void write_entry_json(JsonText& json, const ops::EntryView& v) {
  json.begin_object();
  json.key("backed_up").value(v.last_backup.has_value());
  json.key("certificates").value(v.certificate_count);
  json.key("chain_problem").value(v.chain_problem);
  json.key("chain_trusted").value(v.chain_trusted);
  json.key("created").value(ops::format_rfc3339(v.created_at));
  json.key("days_left").value(v.days_left);
  json.key("dns").value(v.dns);
  json.key("fingerprint_sha256").value(v.fingerprint_sha256);
  json.key("ip").value(v.ip);
  json.key("issuer").value(v.issuer);
  json.key("key_algorithm").value(v.key_algorithm);
  write_time(json.key("last_backup"), v.last_backup);
  json.key("name").value(v.name);
  write_time(json.key("not_after"), v.not_after);
  write_time(json.key("not_before"), v.not_before);
  json.key("serial").value(v.serial);
  json.key("spki_sha256").value(v.spki_sha256);
  json.key("state").value(v.state);
  json.key("subject").value(v.subject);
  json.key("superseded_by").value(v.superseded_by);
  json.key("weak_key").value(v.weak_key);
  json.end_object();
}

void render_entries_json(const std::vector<ops::EntryView>& entries, std::ostream& out) {
  JsonText json(out);
  json.begin_array();
  for (const auto& e : entries) write_entry_json(json, e);
  json.end_array();
  json.flush();
  out << '\n';
}

void render_entry_json(const ops::EntryView& entry, std::ostream& out) {
  JsonText json(out);
  write_entry_json(json, entry);
  json.flush();
  out << '\n';
}

void render_entry_text(const ops::EntryView& v, std::ostream& out) {
  // One column for the values, a space after the longest label ("sha-256 fingerprint:").
  const auto line = [&](std::string_view label, const std::string& value) {
    out << fmt::format("{:<21}{}\n", std::string(label) + ":", value);
  };
  line("name", v.name);
  line("state", v.superseded_by ? v.state + " (replaced by \"" + *v.superseded_by + "\")"
                                 : v.state);
  line("key algorithm", v.weak_key ? v.key_algorithm + " (WEAK: below RSA-2048 or DSA)"
                                    : v.key_algorithm);
  line("subject", v.subject);
  line("dns names", v.dns.empty() ? "-" : join(v.dns));
  line("ip addresses", v.ip.empty() ? "-" : join(v.ip));
  if (v.issuer) {
    line("issuer", *v.issuer);
    line("serial", *v.serial);
    line("not before", ops::format_rfc3339(*v.not_before));
    line("not after", ops::format_rfc3339(*v.not_after));
    line("days left", std::to_string(*v.days_left));
    line("sha-256 fingerprint", *v.fingerprint_sha256);
    line("chain", *v.chain_trusted ? std::string("reaches a trusted root")
                                    : "not verified to a trusted root: " +
                                          v.chain_problem.value_or("unknown"));
  }
  line("public key sha-256", v.spki_sha256);
  line("created", ops::format_rfc3339(v.created_at));
  line("certificates", std::to_string(v.certificate_count) + " (current and history)");
  line("last backup", v.last_backup ? ops::format_rfc3339(*v.last_backup)
                                    : std::string("never (keysafe backup ") + v.name + ")");
}

void render_entry_table(const std::vector<ops::EntryView>& entries, std::ostream& out) {
  struct Row {
    std::string name, state, key, not_after, days, backup, names;
  };
  std::vector<Row> rows;
  rows.push_back({"NAME", "STATE", "KEY", "NOT AFTER", "DAYS", "BACKUP", "NAMES"});
  for (const auto& v : entries) {
    std::vector<std::string> names = v.dns;
    names.insert(names.end(), v.ip.begin(), v.ip.end());
    rows.push_back({v.name, v.state, v.weak_key ? v.key_algorithm + "!" : v.key_algorithm,
                    v.not_after ? ops::format_rfc3339(*v.not_after) : "-",
                    v.days_left ? std::to_string(*v.days_left) : "-",
                    v.last_backup ? "yes" : "NEVER", join(names)});
  }
  // Each column as wide as its widest cell, so long names do not push the others out of line.
  std::size_t w_name = 0, w_state = 0, w_key = 0, w_after = 0, w_days = 0, w_backup = 0;
  for (const auto& r : rows) {
    w_name = std::max(w_name, r.name.size());
    w_state = std::max(w_state, r.state.size());
    w_key = std::max(w_key, r.key.size());
    w_after = std::max(w_after, r.not_after.size());
    w_days = std::max(w_days, r.days.size());
    w_backup = std::max(w_backup, r.backup.size());
  }
  for (const auto& r : rows)
    out << fmt::format("{:<{}} {:<{}} {:<{}} {:<{}} {:>{}} {:<{}} {}\n", r.name, w_name, r.state,
                       w_state, r.key, w_key, r.not_after, w_after, r.days, w_days, r.backup,
                       w_backup, r.names);
}

void render_show_json(store::Keystore& store, const ops::EntryView& view, std::ostream& out) {
  const auto key = store.key_by_name(view.name);
  const auto acme = key ? ops::acme_entry_view(store, key->id) : std::nullopt;
  std::ostringstream entry;
  render_entry_json(view, entry);
  auto j = nlohmann::ordered_json::parse(entry.str());
  j["acme"] = acme ? nlohmann::ordered_json{{"account", acme->account},
                                            {"directory", acme->directory},
                                            {"challenge", acme->challenge},
                                            {"challenge_param", acme->challenge_param},
                                            {"preferred_chain", acme->preferred_chain
                                                                    ? nlohmann::ordered_json(*acme->preferred_chain)
                                                                    : nlohmann::ordered_json(nullptr)}}
                   : nlohmann::ordered_json(nullptr);
  out << j.dump(2, ' ', false, k_invalid_utf8) << '\n';
}

}  // namespace keysafe::cli
