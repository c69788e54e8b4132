// keysafe inspect: what a file is, what it says, and which stored entry holds its key.
#include <fmt/format.h>

#include <filesystem>
#include <ostream>

#include "commands.hpp"
#include "keysafe/files/io.hpp"
#include "keysafe/ops/clock.hpp"
#include "keysafe/ops/inspect.hpp"
#include "keysafe/secret_variables.hpp"
#include "passphrase.hpp"
#include "render.hpp"

namespace keysafe::cli {
namespace {

struct InspectArgs {
  std::string file;
  std::string in_passphrase_file;
};

nlohmann::json opt_json(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return *s;
}

nlohmann::json certificate_json(const ops::InspectedCertificate& c, std::int64_t now) {
  const auto& i = c.info;
  return {{"subject", i.subject},
          {"issuer", i.issuer},
          {"serial", i.serial_hex},
          {"dns", i.dns},
          {"ip", i.ip},
          {"not_before", ops::format_rfc3339(i.not_before)},
          {"not_after", ops::format_rfc3339(i.not_after)},
          {"expired", i.not_after < now},
          {"is_ca", i.is_ca},
          {"self_issued", i.self_issued},
          {"fingerprint_sha256", i.fingerprint_sha256},
          {"key_algorithm", i.key_algorithm},
          {"spki_sha256", i.spki_sha256},
          {"entry", opt_json(c.entry)}};
}

nlohmann::json inspection_json(const ops::FileInspection& f, const std::string& file,
                               std::int64_t now) {
  nlohmann::json certs = nlohmann::json::array();
  for (const auto& c : f.certificates) certs.push_back(certificate_json(c, now));
  nlohmann::json requests = nlohmann::json::array();
  for (const auto& r : f.requests)
    requests.push_back({{"subject", r.subject}, {"dns", r.dns}, {"ip", r.ip},
                        {"key_algorithm", r.key_algorithm}, {"spki_sha256", r.spki_sha256},
                        {"entry", opt_json(r.entry)}});
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : f.keys)
    keys.push_back({{"format", k.format}, {"key_algorithm", k.key_algorithm},
                    {"spki_sha256", k.spki_sha256}, {"entry", opt_json(k.entry)}});
  nlohmann::json backup = nullptr;
  if (f.backup) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : f.backup->entries)
      entries.push_back(
          {{"name", e.name}, {"spki_sha256", e.spki_sha256}, {"entry", opt_json(e.entry)}});
    backup = {{"protection", f.backup->protection},
              {"created", time_or_null(f.backup->created)},
              {"entries", entries}};
  }
  nlohmann::json key_algorithm = nullptr;
  if (!f.keys.empty()) key_algorithm = f.keys.front().key_algorithm;
  else if (const auto* leaf = f.leaf()) key_algorithm = leaf->info.key_algorithm;
  else if (!f.requests.empty()) key_algorithm = f.requests.front().key_algorithm;
  nlohmann::json j = {{"file", file},
                      {"kind", f.kind},
                      {"format", f.format},
                      {"encrypted", f.encrypted},
                      {"encryption", f.encrypted ? nlohmann::json(f.encryption) : nullptr},
                      {"spki_sha256", opt_json(f.spki_sha256())},
                      {"key_algorithm", key_algorithm},
                      {"entry", opt_json(f.entry())},
                      {"store_checked", f.store_checked},
                      {"certificates", certs},
                      {"requests", requests},
                      {"keys", keys},
                      {"backup", backup},
                      {"warnings", f.warnings}};
  // The main certificate's fields at the top level, as `show` has them.
  if (const auto* leaf = f.leaf()) {
    const auto c = certificate_json(*leaf, now);
    for (const char* field : {"subject", "issuer", "dns", "ip", "not_before", "not_after"})
      j[field] = c[field];
  } else if (!f.requests.empty()) {
    j["subject"] = f.requests.front().subject;
    j["dns"] = f.requests.front().dns;
    j["ip"] = f.requests.front().ip;
  }
  return j;
}

std::string join(const std::vector<std::string>& v, const std::string& prefix = {}) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + prefix + s;
  return out;
}

void line(std::ostream& out, std::string_view label, const std::string& value) {
  out << fmt::format("{:<20}{}\n", std::string(label) + ":", value);
}

std::string names_of(const x509::CertificateInfo& i) {
  std::vector<std::string> names;
  for (const auto& d : i.dns) names.push_back("DNS:" + d);
  for (const auto& a : i.ip) names.push_back("IP:" + a);
  return names.empty() ? "-" : join(names);
}

std::string stored(const std::optional<std::string>& entry, bool store_checked) {
  if (!store_checked) return "not looked up (no store)";
  return entry ? "entry \"" + *entry + "\" holds its private key"
               : std::string("no entry of the store holds its private key");
}

void render_text(const ops::FileInspection& f, const std::string& file, std::int64_t now,
                 std::ostream& out) {
  line(out, "file", file);
  line(out, "kind", f.kind + " (" + f.format + ")");
  if (f.encrypted) {
    line(out, "encrypted", "yes: " + f.encryption);
  }
  if (const auto* leaf = f.leaf()) {
    const auto& i = leaf->info;
    line(out, "subject", i.subject);
    line(out, "names", names_of(i));
    const std::int64_t days = (i.not_after - now) / 86400;
    line(out, "valid", ops::format_rfc3339(i.not_before) + " to " +
                           ops::format_rfc3339(i.not_after) +
                           (i.not_after < now ? " (EXPIRED)"
                                              : " (" + std::to_string(days) + " days left)"));
    line(out, "issuer", i.issuer + (i.self_issued ? " (self-issued)" : ""));
    if (i.is_ca) line(out, "ca", "yes");
  } else if (!f.requests.empty()) {
    const auto& r = f.requests.front();
    line(out, "subject", r.subject);
    std::vector<std::string> names;
    for (const auto& d : r.dns) names.push_back("DNS:" + d);
    for (const auto& a : r.ip) names.push_back("IP:" + a);
    line(out, "names", names.empty() ? "-" : join(names));
  }
  if (const auto spki = f.spki_sha256()) {
    std::string algorithm;
    if (!f.keys.empty()) algorithm = f.keys.front().key_algorithm;
    else if (const auto* leaf = f.leaf()) algorithm = leaf->info.key_algorithm;
    else if (!f.requests.empty()) algorithm = f.requests.front().key_algorithm;
    line(out, "key algorithm", algorithm);
    line(out, "public key sha-256", *spki);
    line(out, "stored key", stored(f.entry(), f.store_checked));
  } else if (f.encrypted && !f.backup) {
    line(out, "public key sha-256",
         "unknown until decrypted: keysafe inspect " + file + " --in-passphrase-file FILE");
  }
  if (f.certificates.size() > 1) {
    out << "certificates (" << f.certificates.size() << "):\n";
    for (const auto& c : f.certificates)
      out << "  " << c.info.subject << "\n    issuer " << c.info.issuer << ", until "
          << ops::format_rfc3339(c.info.not_after) << (c.info.is_ca ? ", CA" : "")
          << "\n    public key sha-256 " << c.info.spki_sha256
          << (c.entry ? ", private key in entry \"" + *c.entry + "\"" : std::string()) << '\n';
  }
  if (f.keys.size() > 1) {
    out << "private keys (" << f.keys.size() << "):\n";
    for (const auto& k : f.keys)
      out << "  " << k.key_algorithm << " (" << k.format << "), public key sha-256 "
          << k.spki_sha256 << (k.entry ? ", in entry \"" + *k.entry + "\"" : std::string())
          << '\n';
  }
  if (f.backup) {
    line(out, "protection", f.backup->protection);
    if (f.backup->created) line(out, "created", ops::format_rfc3339(*f.backup->created));
    if (f.backup->protection == "recipient") {
      out << "its entry names are encrypted too: keysafe restore FILE --dry-run --recovery-key "
             "KEY lists them\n";
    } else {
      out << "entries (" << f.backup->entries.size() << "):\n";
      for (const auto& e : f.backup->entries)
        out << "  " << e.name << "  public key sha-256 " << e.spki_sha256
            << (!f.store_checked ? std::string()
                : e.entry        ? "  (in the store as \"" + *e.entry + "\")"
                                 : std::string("  (not in the store)"))
            << '\n';
    }
  }
  for (const auto& w : f.warnings) out << "warning: " << w << '\n';
}

}  // namespace

Action setup_inspect(CLI::App& cmd) {
  auto a = std::make_shared<InspectArgs>();
  cmd.add_option("FILE", a->file,
                 "a certificate, bundle, PKCS#7 chain, certificate request, private key, "
                 "PKCS#12 file or keysafe backup (PEM or DER)")
      ->required();
  cmd.add_option("--in-passphrase-file", a->in_passphrase_file,
                 "read the password of an encrypted key or PKCS#12 file from FILE (else "
                 "KEYSAFE_IN_PASSPHRASE; never asked on the terminal)")
      ->type_name("FILE");
  cmd.footer(R"(
The kind is detected from the content. Shows subject, names, validity, issuer, the key
algorithm and the SHA-256 of the public key (SubjectPublicKeyInfo), and which entry of the
store holds the private key. Needs no store passphrase, and no store at all (the entry is
then unknown). An encrypted key or PKCS#12 file is reported as encrypted unless its password
is given; a keysafe backup shows its clear header only.

EXAMPLES:
  keysafe inspect www.crt
  keysafe inspect server.key --json | jq -r .entry
  keysafe inspect www.pfx --in-passphrase-file pfx.pass)");
  return [a](Context& ctx) {
    const SecureBytes data = files::read_secret_file(a->file);  // may hold private keys
    std::optional<SecureBytes> password;
    if (!a->in_passphrase_file.empty() || ctx.env.getenv_secret(k_env_in_passphrase))
      password = acquire_secret(ctx,
                                {a->in_passphrase_file, "--in-passphrase-file",
                                 k_env_in_passphrase, "Password for the file: ", true},
                                false);
    auto inspection = ops::inspect_file(data, a->file, password);
    // The store's public columns only: no passphrase, and no store is no error.
    std::optional<std::filesystem::path> store_path;
    try {
      store_path = ctx.store_path();
    } catch (const Error&) {
    }
    if (store_path) {
      try {
        if (store::Keystore::exists(*store_path)) {
          auto store = ctx.open_store_for_listing();
          ops::match_stored_keys(store, inspection);
        }
      } catch (const Error& e) {
        ctx.warn("the store " + store_path->string() + " was not searched for the key: " +
                 e.summary());
      }
    }
    const std::int64_t now = ctx.env.now();
    if (ctx.options.json)
      ctx.out << inspection_json(inspection, a->file, now).dump(2, ' ', false, k_invalid_utf8)
              << '\n';
    else
      render_text(inspection, a->file, now, ctx.out);
    return 0;
  };
}

}  // namespace keysafe::cli
