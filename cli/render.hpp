// Text and JSON renderings of library results and errors.
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <vector>

#include "keysafe/error.hpp"
#include "keysafe/ops/install.hpp"
#include "keysafe/ops/inventory.hpp"
#include "keysafe/store/keystore.hpp"

namespace keysafe::cli {

// Errors are rendered here and nowhere else: summary, cause, fix (and OpenSSL's queue
// with --verbose) on stderr; with --json also {"error": {...}} on stdout.
void render_error(const Error& e, std::ostream& out, std::ostream& err, bool json, bool verbose);

// An entry as JSON (docs/JSON.md): one object, or the array `list --json` prints, each followed
// by a newline. The same bytes as dumping nlohmann::json values with dump(2) and k_invalid_utf8.
class JsonText;
void write_entry_json(JsonText& json, const ops::EntryView& v);
void render_entry_json(const ops::EntryView& entry, std::ostream& out);
void render_entries_json(const std::vector<ops::EntryView>& entries, std::ostream& out);
void render_entry_text(const ops::EntryView& v, std::ostream& out);
// `show --json` and GET /api/v1/entries/{name}: the entry as listings render it, then "acme"
// (null when the entry was not ordered by ACME).
void render_show_json(store::Keystore& store, const ops::EntryView& view, std::ostream& out);
void render_entry_table(const std::vector<ops::EntryView>& entries, std::ostream& out);

// Every JSON document keysafe prints is dumped with this: text read from a damaged store or a
// hostile file may hold invalid UTF-8, which is replaced (U+FFFD) instead of throwing.
inline constexpr auto k_invalid_utf8 = nlohmann::json::error_handler_t::replace;

// RFC 3339 string or JSON null.
nlohmann::json time_or_null(const std::optional<std::int64_t>& t);

// The certificate an install stored, as install, acme issue and renew print it with --json: its
// identity, validity, chain verdict and warnings. Callers add their own fields (name, ...).
nlohmann::json installed_certificate_json(const ops::InstallResult& r);

// A certificate a local CA made or holds, as the ca commands print it with --json (CERT in
// docs/JSON.md): subject, issuer, serial, fingerprints, key algorithm, validity, names.
nlohmann::json certificate_info_json(const x509::CertificateInfo& c);

}  // namespace keysafe::cli
