// An iCalendar (RFC 5545) file with one event per current certificate's expiry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keysafe/store/keystore.hpp"

namespace keysafe::ops {

struct CalendarOptions {
  std::int64_t remind_days = 14;  // the VALARM fires this many days before the expiry
  std::int64_t now = 0;           // DTSTAMP
};

struct Calendar {
  std::string text;  // CRLF line endings, folded at 75 octets
  std::size_t events = 0;
};

// One VEVENT per entry with a current certificate (UID = its SHA-256 fingerprint, so a
// calendar re-imported after a renewal gains the new event and keeps the old one distinct).
Calendar expiry_calendar(store::Keystore& store, const CalendarOptions& options);

// RFC 5545 §3.3.11 TEXT escaping: backslash, semicolon, comma and newline.
std::string ical_escape(std::string_view text);
// RFC 5545 §3.1: a content line of more than 75 octets is folded with CRLF + space, never
// inside a UTF-8 sequence; the result ends with CRLF.
std::string ical_line(std::string_view line);

}  // namespace keysafe::ops
