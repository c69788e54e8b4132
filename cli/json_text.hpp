// JSON text written straight to a stream, laid out byte for byte as
// nlohmann::json::dump(2, ' ', false, error_handler_t::replace) lays it out.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keysafe::cli {

// For documents too large to build as a tree of nlohmann::json values first: `list --json`
// over 100,000 entries spent a third of its time building, dumping and freeing that tree. The
// caller writes each object's keys in sorted order (nlohmann::json keeps them sorted);
// tests/unit/render_test.cpp compares the output with nlohmann's for the same document.
class JsonText final {
 public:
  explicit JsonText(std::ostream& out) : m_out(out) {}
  ~JsonText();  // flushes
  JsonText(const JsonText&) = delete;
  JsonText& operator=(const JsonText&) = delete;

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  // The next member of the current object; its value follows.
  JsonText& key(std::string_view name);

  void value(std::string_view text);
  void value(const char* text) { value(std::string_view(text)); }
  void value(std::int64_t number);
  void value(bool flag);
  void null();
  void value(const std::vector<std::string>& texts);
  template <class T>
  void value(const std::optional<T>& v) {
    if (v) value(*v);
    else null();
  }

  // Writes what is buffered (the destructor does too).
  void flush();

 private:
  struct Level {
    bool object;
    std::size_t count;
  };
  void before_value();
  void begin(char open, bool object);
  void end(char close);
  void newline_indent(std::size_t depth);
  void string(std::string_view text);

  std::ostream& m_out;
  std::string m_buffer;
  std::vector<Level> m_levels;
};

}  // namespace keysafe::cli
