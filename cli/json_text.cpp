// JSON text as nlohmann::json::dump(2) writes it, without building the tree first.
#include "json_text.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <ostream>

namespace keysafe::cli {
namespace {

constexpr std::size_t k_flush_at = 64 * 1024;

// Printable ASCII other than the quote and the backslash: written as it is, as nlohmann writes
// it. Everything else (control characters, any UTF-8, invalid bytes) goes to nlohmann itself,
// so escapes and U+FFFD replacements stay exactly its own.
bool plain_ascii(std::string_view text) {
  for (const char c : text)
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  return true;
}

}  // namespace

JsonText::~JsonText() {
  try {
    flush();
  } catch (...) {  // a stream that throws on write: nothing more to do in a destructor
  }
}

void JsonText::flush() {
  m_out.write(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
  m_buffer.clear();
}

void JsonText::newline_indent(std::size_t depth) {
  m_buffer += '\n';
  m_buffer.append(depth * 2, ' ');
}

// An array element starts on its own line; an object member's line was started by key().
void JsonText::before_value() {
  if (m_levels.empty() || m_levels.back().object) return;
  auto& level = m_levels.back();
  if (level.count++ > 0) m_buffer += ',';
  newline_indent(m_levels.size());
}

JsonText& JsonText::key(std::string_view name) {
  auto& level = m_levels.back();
  if (level.count++ > 0) m_buffer += ',';
  newline_indent(m_levels.size());
  string(name);
  m_buffer += ": ";
  return *this;
}

void JsonText::begin(char open, bool object) {
  before_value();
  m_buffer += open;
  m_levels.push_back({object, 0});
}

// An empty container closes on its own line ("[]"), as nlohmann prints it.
void JsonText::end(char close) {
  const bool empty = m_levels.back().count == 0;
  m_levels.pop_back();
  if (!empty) newline_indent(m_levels.size());
  m_buffer += close;
  if (m_buffer.size() >= k_flush_at) flush();
}

void JsonText::begin_object() { begin('{', true); }
void JsonText::end_object() { end('}'); }
void JsonText::begin_array() { begin('[', false); }
void JsonText::end_array() { end(']'); }

void JsonText::string(std::string_view text) {
  if (plain_ascii(text)) {
    m_buffer += '"';
    m_buffer += text;
    m_buffer += '"';
    return;
  }
  m_buffer += nlohmann::json(std::string(text)).dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace);
}

void JsonText::value(std::string_view text) {
  before_value();
  string(text);
}

void JsonText::value(std::int64_t number) {
  before_value();
  char digits[24];
  const auto written = std::to_chars(digits, digits + sizeof digits, number);
  m_buffer.append(digits, written.ptr);
}

void JsonText::value(bool flag) {
  before_value();
  m_buffer += flag ? "true" : "false";
}

void JsonText::null() {
  before_value();
  m_buffer += "null";
}

void JsonText::value(const std::vector<std::string>& texts) {
  begin_array();
  for (const auto& text : texts) value(std::string_view(text));
  end_array();
}

}  // namespace keysafe::cli
