// keysafe calendar: an iCalendar file with a reminder before each certificate expires.
#include <ostream>

#include "commands.hpp"
#include "keysafe/ops/calendar.hpp"
#include "keysafe/files/io.hpp"
#include "render.hpp"

namespace keysafe::cli {

Action setup_calendar(CLI::App& cmd) {
  auto output = std::make_shared<std::string>();
  auto remind = std::make_shared<std::int64_t>(14);
  auto force = std::make_shared<bool>(false);
  cmd.add_option("-o,--output", *output, "the .ics file (- for standard output)")
      ->type_name("FILE")
      ->required();
  cmd.add_option("--remind-days", *remind, "days before each expiry for the reminder (default 14)")
      ->type_name("N");
  cmd.add_flag("--force", *force, "overwrite an existing file");
  cmd.footer(R"(
One event per current certificate, at its notAfter time (UTC), with a reminder N days
before. Subscribe to the file from a calendar client, or import it; regenerate it after
renewals (each event's UID is the certificate's SHA-256 fingerprint). Needs no passphrase.

EXAMPLES:
  keysafe calendar -o certificates.ics
  keysafe calendar -o /var/www/internal/keysafe.ics --remind-days 30 --force)");
  return [output, remind, force](Context& ctx) {
    if (*remind < 0 || *remind > 3650)
      throw Error(Errc::Usage, "--remind-days must be between 0 and 3650",
                  std::to_string(*remind) + " was given", "for example: --remind-days 30");
    if (*output != "-" && !*force &&
        std::filesystem::exists(std::filesystem::symlink_status(*output)))
      throw Error(Errc::AlreadyExists, "\"" + *output + "\" already exists",
                  "keysafe does not overwrite files unless told to",
                  "choose another file with -o, or add --force");
    auto store = ctx.open_store();
    const auto cal = ops::expiry_calendar(store, {*remind, ctx.env.now()});
    if (*output == "-") {
      ctx.out << cal.text;
      return 0;
    }
    files::write_file_atomically(*output, cal.text, 0644,
                               *force ? files::Overwrite::Allow : files::Overwrite::Refuse);
    if (ctx.options.json) {
      ctx.out << nlohmann::json{{"output", *output}, {"events", cal.events},
                                {"remind_days", *remind}}
                     .dump(2, ' ', false, k_invalid_utf8)
              << '\n';
      return 0;
    }
    ctx.out << "wrote " << cal.events << " expiry event(s) with reminders " << *remind
            << " days before to " << *output << '\n';
    return 0;
  };
}

}  // namespace keysafe::cli
