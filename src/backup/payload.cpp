// JSON encoding of the backup payload; binary values are base64 (OpenSSL's encoder).
#include "keysafe/backup/payload.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "keysafe/error.hpp"

namespace keysafe::backup {
namespace {

// Overwrites a string's heap buffer before it is released (it held a private key).
void cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace

SecureBytes encode_payload(const BackupPayload& payload) {
  nlohmann::json entries = nlohmann::json::array();
  std::vector<std::string*> secrets;
  for (const auto& e : payload.entries) {
    nlohmann::json requests = nlohmann::json::array();
    for (const auto& [der, created] : e.requests)
      requests.push_back({{"der", to_base64(der)}, {"created_at", created}});
    nlohmann::json certs = nlohmann::json::array();
    for (const auto& c : e.certificates) {
      nlohmann::json chain = nlohmann::json::array();
      for (const auto& d : c.chain) chain.push_back(to_base64(d));
      certs.push_back({{"der", to_base64(c.der)},
                       {"chain", chain},
                       {"current", c.current},
                       {"chain_trusted", c.chain_trusted},
                       {"chain_problem", c.chain_problem},
                       {"installed_at", c.installed_at}});
    }
    nlohmann::json entry = {{"name", e.name},
                            {"algorithm", e.algorithm},
                            {"spki_sha256", e.spki_sha256},
                            {"spki_der", to_base64(e.spki_der)},
                            {"subject", e.subject},
                            {"dns", e.dns},
                            {"ip", e.ip},
                            {"created_at", e.created_at},
                            {"private_key_pkcs8", nullptr},
                            {"requests", requests},
                            {"certificates", certs}};
    if (e.private_key_pkcs8) entry["private_key_pkcs8"] = to_base64(*e.private_key_pkcs8);
    entries.push_back(std::move(entry));
  }
  nlohmann::json doc = {{"format", "keysafe-backup-payload"},
                        {"version", k_payload_version},
                        {"created", payload.created},
                        {"written_by", payload.written_by},
                        {"entries", std::move(entries)}};
  std::string text = doc.dump();
  SecureBytes out(text.begin(), text.end());
  cleanse(text);
  for (auto& e : doc["entries"])
    if (e["private_key_pkcs8"].is_string()) cleanse(e["private_key_pkcs8"].get_ref<std::string&>());
  return out;
}

BackupPayload decode_payload(std::span<const std::uint8_t> data, std::string_view source) {
  auto doc = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  const auto damaged = [&](const std::string& why) {
    return Error(Errc::Damaged, "\"" + std::string(source) + "\" is a damaged keysafe backup",
                 why, "use another copy of the backup");
  };
  if (!doc.is_object() || doc.value("format", "") != "keysafe-backup-payload")
    throw damaged("its decrypted content is not a keysafe backup payload");
  BackupPayload p;
  try {
    const int version = doc.at("version").get<int>();
    if (version > k_payload_version)
      throw Error(Errc::Unsupported, "\"" + std::string(source) + "\" was made by a newer keysafe",
                  "its payload version is " + std::to_string(version) +
                      "; this keysafe reads version " + std::to_string(k_payload_version),
                  "restore it with a newer keysafe");
    p.created = doc.at("created").get<std::int64_t>();
    p.written_by = doc.value("written_by", "");
    for (auto& e : doc.at("entries")) {
      BackupEntry b;
      b.name = e.at("name").get<std::string>();
      b.algorithm = e.at("algorithm").get<std::string>();
      b.spki_sha256 = e.at("spki_sha256").get<std::string>();
      b.spki_der = from_base64<Bytes>(e.at("spki_der").get<std::string>());
      b.subject = e.at("subject").get<std::string>();
      b.dns = e.at("dns").get<std::vector<std::string>>();
      b.ip = e.at("ip").get<std::vector<std::string>>();
      b.created_at = e.at("created_at").get<std::int64_t>();
      if (e.at("private_key_pkcs8").is_string()) {
        auto& text = e["private_key_pkcs8"].get_ref<std::string&>();
        b.private_key_pkcs8 = from_base64<SecureBytes>(text);
        cleanse(text);
      }
      for (const auto& r : e.at("requests"))
        b.requests.emplace_back(from_base64<Bytes>(r.at("der").get<std::string>()),
                                r.at("created_at").get<std::int64_t>());
      for (const auto& c : e.at("certificates")) {
        BackupCertificate bc;
        bc.der = from_base64<Bytes>(c.at("der").get<std::string>());
        for (const auto& d : c.at("chain")) bc.chain.push_back(from_base64<Bytes>(d.get<std::string>()));
        bc.current = c.at("current").get<bool>();
        bc.chain_trusted = c.at("chain_trusted").get<bool>();
        bc.chain_problem = c.at("chain_problem").get<std::string>();
        bc.installed_at = c.at("installed_at").get<std::int64_t>();
        b.certificates.push_back(std::move(bc));
      }
      p.entries.push_back(std::move(b));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw damaged(std::string("its content is incomplete (") + ex.what() + ")");
  }
  return p;
}

}  // namespace keysafe::backup
