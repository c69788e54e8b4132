// keysafe calendar: the expiry dates of current certificates as an RFC 5545 iCalendar file.
#include "keysafe/ops/calendar.hpp"

#include <ctime>

#include "keysafe/store/authorities.hpp"

namespace keysafe::ops {
namespace {

// RFC 5545 §3.3.5 DATE-TIME in UTC ("form #2"): 20261125T170000Z.
std::string ical_time(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[20];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string ical_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == ';' || c == ',') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r' || (static_cast<unsigned char>(c) < 0x20 && c != '\t')) {
      // Control characters are not allowed in TEXT (§3.3.11); drop them.
    } else {
      out += c;
    }
  }
  return out;
}

std::string ical_line(std::string_view line) {
  std::string out;
  std::size_t room = 75;  // octets on this physical line, CRLF excluded
  std::size_t used = 0;
  std::size_t i = 0;
  while (i < line.size()) {
    // The length of the UTF-8 sequence starting at i: never split one across lines.
    const auto lead = static_cast<unsigned char>(line[i]);
    std::size_t n = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (i + n > line.size()) n = line.size() - i;
    if (used + n > room) {
      out += "\r\n ";
      used = 1;  // the leading space counts toward the 75 octets
    }
    out.append(line.substr(i, n));
    used += n;
    i += n;
  }
  out += "\r\n";
  return out;
}

Calendar expiry_calendar(store::Keystore& store, const CalendarOptions& options) {
  Calendar cal;
  std::string& t = cal.text;
  t += ical_line("BEGIN:VCALENDAR");
  t += ical_line("VERSION:2.0");
  t += ical_line("PRODID:-//keysafe//certificate expiry calendar//EN");
  t += ical_line("CALSCALE:GREGORIAN");
  t += ical_line("METHOD:PUBLISH");
  t += ical_line("X-WR-CALNAME:" + ical_escape("keysafe certificate expiry"));
  const std::string stamp = ical_time(options.now);
  for (const auto& e : store.entries()) {
    if (!e.current || e.superseded_by) continue;  // replaced by a renewal: not to be renewed
    const auto& c = *e.current;
    std::vector<std::string> names = c.dns;
    names.insert(names.end(), c.ip.begin(), c.ip.end());
    const bool ca = store::authority(store.database(), e.key.id).has_value();
    const std::string what = std::string(ca ? "CA certificate" : "certificate") + " of \"" +
                             e.key.name + "\"" + (names.empty() ? "" : " (" + join(names) + ")");
    t += ical_line("BEGIN:VEVENT");
    t += ical_line("UID:" + c.fingerprint_sha256 + "@keysafe");
    t += ical_line("DTSTAMP:" + stamp);
    t += ical_line("DTSTART:" + ical_time(c.not_after));
    t += ical_line("DTEND:" + ical_time(c.not_after + 3600));
    t += ical_line("SUMMARY:" + ical_escape("Expires: " + what));
    t += ical_line("DESCRIPTION:" +
                   ical_escape("The " + what + " expires.\nSubject: " + c.subject +
                               "\nIssuer: " + c.issuer + "\nSerial: " + c.serial +
                               "\nSHA-256: " + c.fingerprint_sha256 +
                               "\nRenew with: keysafe renew " + e.key.name));
    t += ical_line("CATEGORIES:" + ical_escape("certificate expiry"));
    t += ical_line("TRANSP:TRANSPARENT");
    t += ical_line("BEGIN:VALARM");
    t += ical_line("ACTION:DISPLAY");
    t += ical_line("TRIGGER:-P" + std::to_string(options.remind_days) + "D");
    t += ical_line("DESCRIPTION:" + ical_escape("Renew soon: " + what + " expires in " +
                                                std::to_string(options.remind_days) + " days"));
    t += ical_line("END:VALARM");
    t += ical_line("END:VEVENT");
    ++cal.events;
  }
  t += ical_line("END:VCALENDAR");
  return cal;
}

}  // namespace keysafe::ops
