// Backup index: encoding and strict decoding (the file is read from directories anyone may fill).
#include "keysafe/backup/index.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "json_fields.hpp"
#include "keysafe/error.hpp"

namespace keysafe::backup {
namespace {

bool is_sha256_hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string encode_index(const BackupIndex& index) {
  const nlohmann::json j = {
      {"format", "keysafe-backup-index"},
      {"version", k_index_version},
      {"backup", index.backup},
      {"backup_sha256", index.backup_sha256},
      {"created", index.created},
      {"names", index.names},
      {"spki_sha256", index.spki_sha256},
      {"private_key", index.private_key},
  };
  return j.dump(2) + "\n";
}

BackupIndex decode_index(std::span<const std::uint8_t> data, std::string_view source) {
  const auto damaged = [&](const std::string& why) {
    return Error(Errc::Damaged, "\"" + std::string(source) + "\" is not a valid backup index",
                 why, "write the backup again (keysafe backup ... --recipient CERT), which "
                      "writes its index");
  };
  if (data.size() > k_max_index_size) throw damaged("it is larger than any index keysafe writes");
  const auto j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  // A "format" that is not a string: value() would throw nlohmann's type_error.
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != "keysafe-backup-index")
    throw damaged("it is not JSON with \"format\": \"keysafe-backup-index\"");
  BackupIndex index;
  try {
    const int version = detail::integer_field<int>(j, "version");
    if (version > k_index_version)
      throw Error(Errc::Unsupported, "\"" + std::string(source) + "\" was made by a newer keysafe",
                  "its index version is " + std::to_string(version), "use a newer keysafe");
    index.backup = j.at("backup").get<std::string>();
    index.backup_sha256 = j.at("backup_sha256").get<std::string>();
    index.created = detail::integer_field<std::int64_t>(j, "created");
    index.names = j.at("names").get<std::vector<std::string>>();
    index.spki_sha256 = j.at("spki_sha256").get<std::vector<std::string>>();
    index.private_key = j.value("private_key", std::vector<bool>{});
  } catch (const Error&) {
    throw;
  } catch (const std::exception& ex) {
    throw damaged("a field cannot be read (" + detail::reason(ex) + ")");
  }
  if (index.backup.empty() || index.backup.find('/') != std::string::npos ||
      index.backup == "." || index.backup == "..")
    throw damaged("\"backup\" is not a file name in the same directory");
  if (!is_sha256_hex(index.backup_sha256)) throw damaged("\"backup_sha256\" is not a SHA-256");
  if (index.names.size() != index.spki_sha256.size() ||
      (!index.private_key.empty() && index.private_key.size() != index.names.size()))
    throw damaged("\"names\", \"spki_sha256\" and \"private_key\" differ in length");
  if (!std::all_of(index.spki_sha256.begin(), index.spki_sha256.end(), is_sha256_hex))
    throw damaged("an \"spki_sha256\" value is not a SHA-256");
  return index;
}

}  // namespace keysafe::backup
