// A SAX reader for the unlock request: nlohmann's DOM would keep the passphrase in a
// std::string that is freed without being cleansed.
#include "passphrase_body.hpp"

#include <nlohmann/json.hpp>

#include "keysafe/error.hpp"

namespace keysafe::server {
namespace {

constexpr std::size_t k_max_passphrase = 4096;

class PassphraseReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  SecureBytes passphrase;
  bool found = false;
  bool top_is_object = false;
  bool wrong_type = false;

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool string(string_t& val) override {
    if (m_depth == 1 && m_at_passphrase) {
      passphrase.assign(val.begin(), val.end());
      found = true;
    }
    OPENSSL_cleanse(val.data(), val.size());
    return value();
  }
  bool start_object(std::size_t) override {
    if (m_depth == 0) top_is_object = true;
    if (m_depth == 1 && m_at_passphrase) wrong_type = true;
    m_at_passphrase = false;
    ++m_depth;
    return m_depth <= 64;
  }
  bool end_object() override {
    --m_depth;
    return true;
  }
  bool start_array(std::size_t) override {
    if (m_depth == 1 && m_at_passphrase) wrong_type = true;
    m_at_passphrase = false;
    ++m_depth;
    return m_depth <= 64;
  }
  bool end_array() override {
    --m_depth;
    return true;
  }
  bool key(string_t& val) override {
    m_at_passphrase = m_depth == 1 && val == "passphrase";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool value() {
    if (m_depth == 1 && m_at_passphrase && !found) wrong_type = true;
    m_at_passphrase = false;
    return true;
  }
  int m_depth = 0;
  bool m_at_passphrase = false;
};

Error bad_body(std::string cause) {
  return Error(Errc::BadInput, "the request body is not {\"passphrase\": \"...\"}",
               std::move(cause),
               "send a JSON object with the store passphrase as a string: {\"passphrase\": ...}");
}

}  // namespace

SecureBytes passphrase_from_body(const std::string& body) {
  PassphraseReader reader;
  const bool parsed = nlohmann::json::sax_parse(body, &reader, nlohmann::json::input_format_t::json,
                                                true, false);
  if (!parsed || !reader.top_is_object) throw bad_body("it is not a JSON object");
  if (reader.wrong_type) throw bad_body("\"passphrase\" is not a string");
  if (!reader.found || reader.passphrase.empty()) throw bad_body("\"passphrase\" is missing or empty");
  if (reader.passphrase.size() > k_max_passphrase)
    throw bad_body("a passphrase has at most 4096 bytes");
  return std::move(reader.passphrase);
}

}  // namespace keysafe::server
