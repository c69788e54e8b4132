#!/usr/bin/env bash
# renew --all --due DAYS does not loop (issue 14, item 3): a local-CA certificate whose whole
# validity (20 days) is shorter than --due 30 is renewed once, when less than a third of it is
# left, with a warning naming its validity and --due; the next run renews nothing.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl

new_store
export KEYSAFE_OUT_PASSPHRASE="export passphrase for tests"
ks ca init local-root --days 3650
ks ca export local-root -o root.pem
ks export local-root --format pem -o root-all.pem --yes
openssl pkey -in root-all.pem -passin env:KEYSAFE_OUT_PASSPHRASE -out root.key 2>/dev/null
[ -s root.key ] && ok || bad "setup: the local CA's key exported for openssl ca"
# "short": a 20-day certificate from the local CA, 15 days of it gone (openssl ca backdates).
ks create short --dns short.example.test -o short.req
sign_dated short.req short.crt "-15 days" "+5 days" root.pem root.key
ks install short.crt
expect_rc 0 "setup: the backdated 20-day certificate installed"
# "fresh": a 20-day certificate issued now: 20 of 20 days left, not due under --due 30.
ks create fresh --dns fresh.example.test -o /dev/null --force
ks ca sign local-root --key fresh --days 20
# "long": 90 days, 25 left: due under --due 30 as always (a third of 90 is 30).
ks create long --dns long.example.test -o long.req
sign_dated long.req long.crt "-65 days" "+25 days" root.pem root.key
ks install long.crt
SHORT_SERIAL=$(ks --json show short; jget .serial)
FRESH_SERIAL=$(ks --json show fresh; jget .serial)

ks --json renew --all --due 30
expect_rc 0 "first renew --all --due 30"
NAMES=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(e["name"]+":"+e["status"] for e in json.load(sys.stdin)["entries"])))')
expect_eq "$NAMES" "long:renewed short:renewed" "the first run renews short (5 of 20 days left) and long, not fresh"
expect_in "valid for 20 days" "$ERR" "a warning names the renewed certificate's validity"
expect_in "--due 30" "$ERR" "and --due"
expect_not_in "\"long\" is valid for" "$ERR" "no such warning for the 90-day certificate"
[ "$(ks --json show short; jget .serial)" != "$SHORT_SERIAL" ] && ok || bad "short has a new certificate"
expect_eq "$(ks --json show fresh; jget .serial)" "$FRESH_SERIAL" "fresh untouched"
expect_eq "$(ks --json show short; jget .days_left)" "$(ks --json show fresh; jget .days_left)" "the renewed short certificate is valid for 20 days, like fresh"

ks renew --all --due 30
expect_rc 0 "second renew --all --due 30"
expect_in "0 renewed" "$OUT" "the second run renews nothing"
expect_not_in "skipped \"" "$OUT" "and skips nothing (the replaced entries are not mentioned)"
expect_not_in "replaced" "$OUT" "no replaced entry in its output"
ks --json list --all
COUNT=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["name"].startswith("short.replaced-")))')
expect_eq "$COUNT" "1" "exactly one replaced short entry after two runs"

ks renew --help
expect_in "third of its validity" "$OUT" "renew --help documents the rule"
finish
