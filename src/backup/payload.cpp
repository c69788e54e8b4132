// JSON encoding of the backup payload; binary values are base64 (OpenSSL's encoder).
#include "keysafe/backup/payload.hpp"

#include <openssl/evp.h>

#include <map>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "json_fields.hpp"
#include "keysafe/error.hpp"

namespace keysafe::backup {
namespace {

// The payload carries private keys (base64 PKCS#8), so its JSON lives in memory that is
// overwritten before release: strings, objects, arrays, the parser's token buffer and the
// serialised text all use CleansingAllocator.
using SecureString = std::basic_string<char, std::char_traits<char>, CleansingAllocator<char>>;
using Json = nlohmann::basic_json<std::map, std::vector, SecureString, bool, std::int64_t,
                                  std::uint64_t, double, CleansingAllocator>;

SecureString secure(std::string s) {
  SecureString out(s.begin(), s.end());
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  return out;
}
std::string text(const Json& j) {
  const auto& s = j.get_ref<const SecureString&>();
  return std::string(s.begin(), s.end());
}
std::string_view view(const Json& j) {
  const auto& s = j.get_ref<const SecureString&>();
  return {s.data(), s.size()};
}
Json names(const std::vector<std::string>& v) {
  Json out = Json::array();
  for (const auto& s : v) out.push_back(SecureString(s.begin(), s.end()));
  return out;
}
std::vector<std::string> names(const Json& j) {
  std::vector<std::string> out;
  for (const auto& s : j) out.push_back(text(s));
  return out;
}
Json optional_text(const std::optional<std::string>& s) {
  return s ? Json(SecureString(s->begin(), s->end())) : Json(nullptr);
}
std::optional<std::string> optional_text(const Json& j) {
  if (j.is_null()) return std::nullopt;
  return text(j);
}
Json optional_integer(const std::optional<std::int64_t>& v) { return v ? Json(*v) : Json(nullptr); }
std::optional<std::int64_t> optional_integer(const Json& object, const char* key) {
  if (object.at(key).is_null()) return std::nullopt;
  return detail::integer_field<std::int64_t>(object, key);
}

Json encode_authority(const BackupAuthority& a) {
  Json issued = Json::array();
  for (const auto& r : a.issued)
    issued.push_back({{"serial", secure(r.serial)},
                      {"subject", secure(r.subject)},
                      {"fingerprint_sha256", secure(r.fingerprint_sha256)},
                      {"key_name", optional_text(r.key_name)},
                      {"not_after", r.not_after},
                      {"issued_at", r.issued_at},
                      {"revoked_at", optional_integer(r.revoked_at)},
                      {"revocation_reason", secure(r.revocation_reason)}});
  return {{"entry", secure(a.entry)},
          {"spki_sha256", secure(a.spki_sha256)},
          {"parent", optional_text(a.parent)},
          {"parent_spki_sha256", optional_text(a.parent_spki_sha256)},
          {"crl_number", a.crl_number},
          {"created_at", a.created_at},
          {"issued", std::move(issued)}};
}

BackupAuthority decode_authority(const Json& j) {
  BackupAuthority a;
  a.entry = text(j.at("entry"));
  a.spki_sha256 = text(j.at("spki_sha256"));
  a.parent = optional_text(j.at("parent"));
  a.parent_spki_sha256 = optional_text(j.at("parent_spki_sha256"));
  a.crl_number = detail::integer_field<std::int64_t>(j, "crl_number");
  a.created_at = detail::integer_field<std::int64_t>(j, "created_at");
  for (const auto& i : j.at("issued")) {
    BackupIssued r;
    r.serial = text(i.at("serial"));
    r.subject = text(i.at("subject"));
    r.fingerprint_sha256 = text(i.at("fingerprint_sha256"));
    r.key_name = optional_text(i.at("key_name"));
    r.not_after = detail::integer_field<std::int64_t>(i, "not_after");
    r.issued_at = detail::integer_field<std::int64_t>(i, "issued_at");
    r.revoked_at = optional_integer(i, "revoked_at");
    r.revocation_reason = text(i.at("revocation_reason"));
    a.issued.push_back(std::move(r));
  }
  return a;
}

Json encode_files(const std::vector<BackupDeployedFile>& files) {
  Json out = Json::array();
  for (const auto& f : files) {
    Json item{{"path", secure(f.path)}, {"sha256", secure(f.sha256)}};
    if (!f.role.empty()) item["role"] = secure(f.role);
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<BackupDeployedFile> decode_files(const Json& j) {
  std::vector<BackupDeployedFile> out;
  for (const auto& f : j)
    out.push_back({text(f.at("path")), text(f.at("sha256")), f.contains("role") ? text(f.at("role")) : std::string()});
  return out;
}

Json encode_deployment(const BackupDeployment& d) {
  return {{"entry", secure(d.entry)},
          {"spki_sha256", secure(d.spki_sha256)},
          {"target_dir", secure(d.target_dir)},
          {"layout", secure(d.layout)},
          {"files", encode_files(d.files)},
          {"test_cmd", optional_text(d.test_cmd)},
          {"reload_cmd", optional_text(d.reload_cmd)},
          {"probe", optional_text(d.probe)},
          {"sni", optional_text(d.sni)},
          {"certificate_fingerprint", secure(d.certificate_fingerprint)},
          {"deployed_at", d.deployed_at}};
}

BackupDeployment decode_deployment(const Json& j) {
  BackupDeployment d;
  d.entry = text(j.at("entry"));
  d.spki_sha256 = text(j.at("spki_sha256"));
  d.target_dir = text(j.at("target_dir"));
  d.layout = text(j.at("layout"));
  d.files = decode_files(j.at("files"));
  d.test_cmd = optional_text(j.at("test_cmd"));
  d.reload_cmd = optional_text(j.at("reload_cmd"));
  d.probe = optional_text(j.at("probe"));
  d.sni = optional_text(j.at("sni"));
  d.certificate_fingerprint = text(j.at("certificate_fingerprint"));
  d.deployed_at = detail::integer_field<std::int64_t>(j, "deployed_at");
  return d;
}

Json encode_fleet(const BackupPayload& p) {
  Json signing_key = nullptr;
  if (p.fleet_signing_key)
    signing_key = {{"public_key", secure(to_base64(p.fleet_signing_key->public_key))},
                   {"private_key_pkcs8", secure(to_base64(p.fleet_signing_key->private_key_pkcs8))},
                   {"created_at", p.fleet_signing_key->created_at}};
  Json hosts = Json::array();
  for (const auto& h : p.hosts)
    hosts.push_back({{"name", secure(h.name)},
                     {"algorithm", secure(h.algorithm)},
                     {"public_key", secure(to_base64(h.public_key))},
                     {"public_key_sha256", secure(h.public_key_sha256)},
                     {"role", optional_text(h.role)},
                     {"created_at", h.created_at}});
  Json assignments = Json::array();
  for (const auto& a : p.assignments) {
    Json report = nullptr;
    if (a.report)
      report = {{"state", secure(a.report->state)},
                {"deployed_fingerprint", optional_text(a.report->deployed_fingerprint)},
                {"served_fingerprint", optional_text(a.report->served_fingerprint)},
                {"files", encode_files(a.report->files)},
                {"error", optional_text(a.report->error)},
                {"reported_at", a.report->reported_at}};
    assignments.push_back({{"host", secure(a.host)},
                           {"entry", secure(a.entry)},
                           {"spki_sha256", secure(a.spki_sha256)},
                           {"target_dir", secure(a.target_dir)},
                           {"layout", secure(a.layout)},
                           {"test_cmd", optional_text(a.test_cmd)},
                           {"reload_cmd", optional_text(a.reload_cmd)},
                           {"probe", optional_text(a.probe)},
                           {"sni", optional_text(a.sni)},
                           {"assigned_at", a.assigned_at},
                           {"report", std::move(report)}});
  }
  return {{"signing_key", std::move(signing_key)},
          {"hosts", std::move(hosts)},
          {"assignments", std::move(assignments)}};
}

void decode_fleet(const Json& j, BackupPayload& p) {
  if (const auto& k = j.at("signing_key"); !k.is_null())
    p.fleet_signing_key = BackupFleetSigningKey{
        from_base64<Bytes>(view(k.at("public_key"))),
        from_base64<SecureBytes>(view(k.at("private_key_pkcs8"))),
        detail::integer_field<std::int64_t>(k, "created_at")};
  for (const auto& h : j.at("hosts"))
    p.hosts.push_back({text(h.at("name")), text(h.at("algorithm")),
                       from_base64<Bytes>(view(h.at("public_key"))),
                       text(h.at("public_key_sha256")), optional_text(h.at("role")),
                       detail::integer_field<std::int64_t>(h, "created_at")});
  for (const auto& a : j.at("assignments")) {
    BackupAssignment b;
    b.host = text(a.at("host"));
    b.entry = text(a.at("entry"));
    b.spki_sha256 = text(a.at("spki_sha256"));
    b.target_dir = text(a.at("target_dir"));
    b.layout = text(a.at("layout"));
    b.test_cmd = optional_text(a.at("test_cmd"));
    b.reload_cmd = optional_text(a.at("reload_cmd"));
    b.probe = optional_text(a.at("probe"));
    b.sni = optional_text(a.at("sni"));
    b.assigned_at = detail::integer_field<std::int64_t>(a, "assigned_at");
    if (const auto& r = a.at("report"); !r.is_null())
      b.report = BackupHostReport{text(r.at("state")),
                                  optional_text(r.at("deployed_fingerprint")),
                                  optional_text(r.at("served_fingerprint")),
                                  decode_files(r.at("files")),
                                  optional_text(r.at("error")),
                                  detail::integer_field<std::int64_t>(r, "reported_at")};
    p.assignments.push_back(std::move(b));
  }
}

Json encode_acme(const BackupPayload& p) {
  Json accounts = Json::array();
  for (const auto& a : p.acme_accounts)
    accounts.push_back({{"name", secure(a.name)},
                        {"directory_url", secure(a.directory_url)},
                        {"account_url", secure(a.account_url)},
                        {"contact", secure(a.contact)},
                        {"status", secure(a.status)},
                        {"key_algorithm", secure(a.key_algorithm)},
                        {"jwk_thumbprint", secure(a.jwk_thumbprint)},
                        {"private_key_pkcs8", secure(to_base64(a.private_key_pkcs8))},
                        {"directory_ca_pem", optional_text(a.directory_ca_pem)},
                        {"created_at", a.created_at}});
  Json entries = Json::array();
  for (const auto& e : p.acme_entries)
    entries.push_back({{"entry", secure(e.entry)},
                       {"spki_sha256", secure(e.spki_sha256)},
                       {"account", secure(e.account)},
                       {"directory_url", secure(e.directory_url)},
                       {"challenge", secure(e.challenge)},
                       {"challenge_param", secure(e.challenge_param)},
                       {"preferred_chain", optional_text(e.preferred_chain)},
                       {"order_url", optional_text(e.order_url)},
                       {"updated_at", e.updated_at}});
  return {{"accounts", std::move(accounts)}, {"entries", std::move(entries)}};
}

void decode_acme(const Json& j, BackupPayload& p) {
  for (const auto& a : j.at("accounts"))
    p.acme_accounts.push_back({text(a.at("name")), text(a.at("directory_url")),
                               text(a.at("account_url")), text(a.at("contact")),
                               text(a.at("status")), text(a.at("key_algorithm")),
                               text(a.at("jwk_thumbprint")),
                               from_base64<SecureBytes>(view(a.at("private_key_pkcs8"))),
                               optional_text(a.at("directory_ca_pem")),
                               detail::integer_field<std::int64_t>(a, "created_at")});
  for (const auto& e : j.at("entries"))
    p.acme_entries.push_back({text(e.at("entry")), text(e.at("spki_sha256")), text(e.at("account")),
                              text(e.at("directory_url")), text(e.at("challenge")),
                              text(e.at("challenge_param")), optional_text(e.at("preferred_chain")),
                              optional_text(e.at("order_url")),
                              detail::integer_field<std::int64_t>(e, "updated_at")});
}

}  // namespace

SecureBytes encode_payload(const BackupPayload& payload) {
  Json entries = Json::array();
  for (const auto& e : payload.entries) {
    Json requests = Json::array();
    for (const auto& [der, created] : e.requests)
      requests.push_back({{"der", secure(to_base64(der))}, {"created_at", created}});
    Json certs = Json::array();
    for (const auto& c : e.certificates) {
      Json chain = Json::array();
      for (const auto& d : c.chain) chain.push_back(secure(to_base64(d)));
      certs.push_back({{"der", secure(to_base64(c.der))},
                       {"chain", chain},
                       {"current", c.current},
                       {"chain_trusted", c.chain_trusted},
                       {"chain_problem", secure(c.chain_problem)},
                       {"installed_at", c.installed_at}});
    }
    Json entry = {{"name", secure(e.name)},
                  {"algorithm", secure(e.algorithm)},
                  {"spki_sha256", secure(e.spki_sha256)},
                  {"spki_der", secure(to_base64(e.spki_der))},
                  {"subject", secure(e.subject)},
                  {"dns", names(e.dns)},
                  {"ip", names(e.ip)},
                  {"created_at", e.created_at},
                  {"private_key_pkcs8", nullptr},
                  {"requests", requests},
                  {"certificates", certs}};
    if (e.private_key_pkcs8) entry["private_key_pkcs8"] = secure(to_base64(*e.private_key_pkcs8));
    entries.push_back(std::move(entry));
  }
  Json authorities = Json::array();
  for (const auto& a : payload.authorities) authorities.push_back(encode_authority(a));
  Json deployments = Json::array();
  for (const auto& d : payload.deployments) deployments.push_back(encode_deployment(d));
  Json settings = Json::array();
  for (const auto& s : payload.settings)
    settings.push_back({{"key", secure(s.key)}, {"value", secure(to_base64(s.value))}});
  Json doc = {{"format", "keysafe-backup-payload"},
              {"version", k_payload_version},
              {"created", payload.created},
              {"written_by", secure(payload.written_by)},
              {"scope", secure(payload.scope)},
              {"entries", std::move(entries)},
              {"authorities", std::move(authorities)},
              {"deployments", std::move(deployments)},
              {"settings", std::move(settings)},
              {"fleet", encode_fleet(payload)},
              {"acme", encode_acme(payload)}};
  const SecureString serialised = doc.dump();
  return SecureBytes(serialised.begin(), serialised.end());
}

BackupPayload decode_payload(std::span<const std::uint8_t> data, std::string_view source) {
  auto doc = Json::parse(data.begin(), data.end(), nullptr, false);
  const auto damaged = [&](const std::string& why) {
    return Error(Errc::Damaged, "\"" + std::string(source) + "\" is a damaged keysafe backup",
                 why, "use another copy of the backup");
  };
  if (!doc.is_object() || !doc.contains("format") || !doc.at("format").is_string() ||
      view(doc.at("format")) != "keysafe-backup-payload")
    throw damaged("its decrypted content is not a keysafe backup payload");
  BackupPayload p;
  try {
    const int version = detail::integer_field<int>(doc, "version");
    if (version > k_payload_version)
      throw Error(Errc::Unsupported, "\"" + std::string(source) + "\" was made by a newer keysafe",
                  "its payload version is " + std::to_string(version) +
                      "; this keysafe reads version " + std::to_string(k_payload_version),
                  "restore it with a newer keysafe");
    p.version = version;
    p.created = detail::integer_field<std::int64_t>(doc, "created");
    p.written_by = doc.contains("written_by") ? text(doc.at("written_by")) : std::string();
    for (auto& e : doc.at("entries")) {
      BackupEntry b;
      b.name = text(e.at("name"));
      b.algorithm = text(e.at("algorithm"));
      b.spki_sha256 = text(e.at("spki_sha256"));
      b.spki_der = from_base64<Bytes>(view(e.at("spki_der")));
      b.subject = text(e.at("subject"));
      b.dns = names(e.at("dns"));
      b.ip = names(e.at("ip"));
      b.created_at = detail::integer_field<std::int64_t>(e, "created_at");
      if (e.at("private_key_pkcs8").is_string())
        b.private_key_pkcs8 = from_base64<SecureBytes>(view(e.at("private_key_pkcs8")));
      for (const auto& r : e.at("requests"))
        b.requests.emplace_back(from_base64<Bytes>(view(r.at("der"))),
                                detail::integer_field<std::int64_t>(r, "created_at"));
      for (const auto& c : e.at("certificates")) {
        BackupCertificate bc;
        bc.der = from_base64<Bytes>(view(c.at("der")));
        for (const auto& d : c.at("chain")) bc.chain.push_back(from_base64<Bytes>(view(d)));
        bc.current = c.at("current").get<bool>();
        bc.chain_trusted = c.at("chain_trusted").get<bool>();
        bc.chain_problem = text(c.at("chain_problem"));
        bc.installed_at = detail::integer_field<std::int64_t>(c, "installed_at");
        b.certificates.push_back(std::move(bc));
      }
      p.entries.push_back(std::move(b));
    }
    // Version 1 held entries only: it restores as before, with no CA roles, deployments or
    // settings.
    if (version >= 2) {
      p.scope = text(doc.at("scope"));
      for (const auto& a : doc.at("authorities")) p.authorities.push_back(decode_authority(a));
      for (const auto& d : doc.at("deployments")) p.deployments.push_back(decode_deployment(d));
      for (const auto& s : doc.at("settings"))
        p.settings.push_back({text(s.at("key")), from_base64<Bytes>(view(s.at("value")))});
    }
    // Version 3 added the fleet; an older backup restores with none.
    if (version >= 3) decode_fleet(doc.at("fleet"), p);
    // Version 4 added ACME; an older backup restores with no accounts.
    if (version >= 4) decode_acme(doc.at("acme"), p);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw damaged("its content is incomplete (" + detail::reason(ex) + ")");
  }
  return p;
}

}  // namespace keysafe::backup
