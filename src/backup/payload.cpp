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
  Json doc = {{"format", "keysafe-backup-payload"},
              {"version", k_payload_version},
              {"created", payload.created},
              {"written_by", secure(payload.written_by)},
              {"entries", std::move(entries)}};
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
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw damaged("its content is incomplete (" + detail::reason(ex) + ")");
  }
  return p;
}

}  // namespace keysafe::backup
