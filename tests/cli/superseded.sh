#!/usr/bin/env bash
# A renewed entry's predecessor (NAME.replaced-DATE) is superseded (issue 14, item 2): state
# "superseded", listed only with list --all, never by list --expiring, check, calendar, status
# or renew --all; its key stays until deleted, and with a verified backup no --force is needed.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
TODAY=$(date -u +%Y%m%d)
OLD="www.replaced-$TODAY"

new_store
export KEYSAFE_OUT_PASSPHRASE="backup passphrase for tests"
ks ca init local-root --days 3650
ks create www --dns www.example.test -o /dev/null --force
ks ca sign local-root --key www --days 10       # expires within 30 days
ks backup www -o www.kbk --yes --kdf-cost 10
expect_rc 0 "setup: www backed up"
OLD_SPKI=$(ks --json show www; jget .spki_sha256)
mkdir -p site
ks deploy www --to site --layout pem
expect_rc 0 "setup: www deployed"
ks renew www --days 90
expect_rc 0 "renew www with a new key"
expect_in "$OLD" "$OUT" "the previous entry is kept as $OLD"
# Deploy the superseded entry somewhere: status must not report it.
mkdir -p old-site
ks deploy "$OLD" --to old-site --layout pem
expect_rc 0 "setup: the superseded entry deployed on its own"

ks --json show "$OLD"
expect_eq "$(jget .state)" "superseded" "show: state superseded"
expect_eq "$(jget .superseded_by)" "www" "show: superseded_by names the renewed entry"
expect_eq "$(jget .spki_sha256)" "$OLD_SPKI" "its key stays"
ks show "$OLD"
expect_in "replaced by \"www\"" "$OUT" "show's text says what replaced it"

ks list
expect_not_in "$OLD" "$OUT" "list hides the superseded entry"
expect_in "www" "$OUT" "list shows the renewed entry"
ks --json list --all
expect_in "\"$OLD\"" "$OUT" "list --all shows it"
expect_in '"superseded"' "$OUT" "with state superseded"

ks list --expiring 30
expect_rc 0 "list --expiring 30: nothing expiring (the superseded entry does not count)"
expect_not_in "$OLD" "$OUT" "list --expiring does not list it"
ks list --expiring 30 --all
expect_rc 0 "not even with --all"

ks check
expect_not_in "$OLD" "$OUT$ERR" "check says nothing about the superseded entry"

ks calendar -o cal.ics
expect_rc 0 "calendar"
expect_not_in "$OLD" "$(cat cal.ics)" "the calendar has no event for it"
expect_not_in "replaced" "$(cat cal.ics)" "nor any renew advice for it"

ks status
expect_not_in "$OLD" "$OUT$ERR" "status does not report the superseded entry's target"
expect_in "site" "$OUT" "status reports www's own target"

ks renew --all --due 3650
expect_not_in "$OLD" "$OUT$ERR" "renew --all does not mention it (not even as skipped)"
expect_not_in "skipped \"www.replaced" "$OUT" "no skip line for it"

# An existing store: the replacement recorded by an earlier keysafe (keys.renews_key_id) is
# recognised, whatever the entry is called.
ks renew www --days 90
SECOND="www.replaced-$TODAY-2"
ks --json show "$SECOND"
expect_eq "$(jget .state)" "superseded" "the second replaced entry is superseded too"
ks --json show "$OLD"
expect_eq "$(jget .state)" "superseded" "the first stays superseded"

ks delete "$OLD"
expect_rc 0 "a superseded entry with a verified backup is deleted without --force"
ks show "$OLD"
expect_rc 1 "it is gone"
ks delete "$SECOND"
expect_rc 6 "a superseded entry never backed up still needs --force"
expect_in "no verified backup" "$ERR" "and says why"
finish
