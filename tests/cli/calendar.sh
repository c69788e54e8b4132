#!/usr/bin/env bash
# keysafe calendar: the file parses with python3's icalendar library, has one event per current
# certificate at its notAfter with a VALARM N days before, CRLF endings, lines <= 75 octets.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

# The Debian package python3-icalendar lives in the system python, which may not be first on PATH.
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import icalendar' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || skip "python3 icalendar is missing (apt-get install python3-icalendar)"

new_store
ks ca init cal-root --days 3650
ks create www --dns www.example.test --dns a-very-long-name-to-force-line-folding.internal.example.test --ip 192.0.2.7
ks ca sign cal-root --key www --days 30
# A UTF-8 subject: the long DESCRIPTION folds through multi-byte characters.
ks create muenchen --dns xn--mnchen-3ya.example.test --subject "O=Stadtwerke München München München,L=München"
ks ca sign cal-root --key muenchen --days 90
expect_rc 0 "setup: certificates"
ks create pending --dns pending.example.test   # no certificate: no event
ks calendar -o certs.ics --remind-days 21
expect_rc 0 "calendar"
expect_in "3 expiry event" "$OUT" "three current certificates (two entries and the CA)"
ks calendar -o certs.ics
expect_rc 6 "no overwrite without --force"
ks --json calendar -o certs.ics --force --remind-days 21
expect_rc 0 "calendar --force --json"
expect_eq "$(jget '.events')" "3" "JSON counts events"
ks calendar -o bad.ics --remind-days -1
expect_rc 2 "negative reminder is a usage error"

ks --json list
EXPECTED=$(printf '%s' "$OUT" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    if e["not_after"]:
        print(e["name"], e["not_after"], e["fingerprint_sha256"])' | sort)

"$PY" - "$EXPECTED" <<'EOF' >"$T/cal.out" 2>&1
import datetime, sys, icalendar
raw = open("certs.ics", "rb").read()
problems = []
lines = raw.split(b"\r\n")
if lines[-1] != b"":
    problems.append("file does not end with CRLF")
if b"\n" in raw.replace(b"\r\n", b""):
    problems.append("bare LF line ending")
for l in lines:
    if len(l) > 75:
        problems.append("line longer than 75 octets: %r" % l[:80])
    try:
        l.decode("utf-8")
    except UnicodeDecodeError:
        problems.append("folding split a UTF-8 sequence: %r" % l)
if not any(l.startswith(b" ") for l in lines):
    problems.append("no folded line (the long SUMMARY should fold)")
cal = icalendar.Calendar.from_ical(raw)
if str(cal.get("VERSION")) != "2.0": problems.append("VERSION")
if not str(cal.get("PRODID", "")): problems.append("PRODID")
expected = {}
for row in sys.argv[1].splitlines():
    name, not_after, fp = row.split()
    expected[fp] = (name, datetime.datetime.strptime(not_after, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc))
events = list(cal.walk("VEVENT"))
if len(events) != len(expected): problems.append("events: %d, expected %d" % (len(events), len(expected)))
for ev in events:
    uid = str(ev.get("UID"))
    fp = uid.split("@")[0]
    if fp not in expected:
        problems.append("unexpected UID " + uid); continue
    name, when = expected[fp]
    start = ev.decoded("DTSTART")
    if start != when: problems.append("%s: DTSTART %s != notAfter %s" % (name, start, when))
    if ev.get("DTSTAMP") is None: problems.append(name + ": no DTSTAMP")
    summary = str(ev.get("SUMMARY"))
    if name not in summary: problems.append(name + ": SUMMARY lacks the entry name: " + summary)
    alarms = list(ev.walk("VALARM"))
    if len(alarms) != 1:
        problems.append(name + ": alarms %d" % len(alarms)); continue
    trig = alarms[0].decoded("TRIGGER")
    if trig != -datetime.timedelta(days=21): problems.append("%s: TRIGGER %s" % (name, trig))
    if str(alarms[0].get("ACTION")) != "DISPLAY": problems.append(name + ": ACTION")
    if name == "www":
        for n in ("www.example.test", "a-very-long-name-to-force-line-folding.internal.example.test", "192.0.2.7"):
            if n not in summary: problems.append("www SUMMARY lacks " + n)
print("\n".join(problems) if problems else "OK")
EOF
OUT=$(cat "$T/cal.out")
expect_eq "$OUT" "OK" "calendar parses with icalendar and has the right dates, UIDs and alarms"

ks calendar -o - --remind-days 7
expect_in "TRIGGER:-P7D" "$OUT" "calendar to standard output"
ks calendar --help
expect_in "EXAMPLES" "$OUT" "calendar --help has examples"

finish
