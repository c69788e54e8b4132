#!/usr/bin/env bash
# Every command keysafe prints as a fix runs as printed (issue 14, item 4): the main diagnoses
# are triggered on a store named with --store (a path with a space; on PostgreSQL a URI whose
# options hold a '&' and a '?', which a shell would take), each printed
# "keysafe ..." command is extracted and run as printed, and it must succeed (or fail only for
# the reason its message names). Placeholders in capitals (BACKUP-FILE, FULLCHAIN-FILE,
# ROOT.pem) are filled in with this test's files; a command that writes private keys gets
# --yes, the answer an administrator gives at the terminal (there is none here).
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl

unset KEYSAFE_STORE
export HOME="$T/home"; mkdir -p "$HOME"   # the default store: somewhere else, and missing
export KEYSAFE_OUT_PASSPHRASE="backup passphrase for tests" KEYSAFE_IN_PASSPHRASE="backup passphrase for tests"
if on_sqlite; then
  mkdir -p "$T/my stores"
  S="$T/my stores/keys.db"
else
  S="$(store_at fixes)?application_name=keysafe-test&connect_timeout=10"
fi
QS="'$S'"   # as a shell prints it quoted
k() { ks --store "$S" "$@"; }
k init --kdf-cost 10
expect_rc 0 "setup: a store at a path with a space"

# fixes_in TEXT: each "keysafe ..." command in TEXT, one a line (quotes kept as printed).
fixes_in() {
  python3 - "$1" <<'PY'
import re, sys
text = sys.argv[1]
stops = ("\n", "&&", "||", ";", ", or ", ", ", " (", ")")
for m in re.finditer(r"(?<![\w/.-])keysafe (?=--store|[a-z])", text):
    i, quoted, out = m.start(), False, ""
    while i < len(text):
        if text[i] == "'":
            quoted = not quoted
        elif not quoted and any(text.startswith(s, i) for s in stops):
            break
        out += text[i]; i += 1
    out = out.rstrip(" .,:")
    word = out.split()[1] if len(out.split()) > 1 else ""
    # prose that merely names the program ("keysafe does not ...") is not a command
    if word in ("does", "never", "reads", "writes", "uses", "refuses", "signs"): continue
    print(out)
PY
}
# run_fix CMD: runs a printed command in bash (keysafe = the binary under test), placeholders
# filled in; sets RC/OUT/ERR.
run_fix() {
  local cmd=$1
  cmd=${cmd//BACKUP-FILE/other.kbk}; cmd=${cmd//FULLCHAIN-FILE/fullchain.pem}
  cmd=${cmd//ROOT.pem/ca.pem}
  case "$cmd" in *" backup "*|*" export "*) cmd="$cmd --yes" ;; esac
  OUT=$(cd "$T" && KS="$KEYSAFE_BIN" bash -c 'keysafe() { "$KS" "$@"; }; '"$cmd" 2>"$T/.stderr"); RC=$?
  ERR=$(cat "$T/.stderr")
}
# expect_fixes_name_store TEXT WHAT: every printed command names the store, quoted.
expect_fixes_name_store() {
  local n=0 f
  while IFS= read -r f; do
    [ -z "$f" ] && continue
    n=$((n + 1))
    case "$f" in *"--store $QS"*) ok ;; *) bad "$2: the fix names the store: $f" ;; esac
  done <<<"$(fixes_in "$1")"
  [ "$n" -gt 0 ] && ok || bad "$2: no fix command printed"
}

make_ca
# --- the lost key on install: a free name, every SAN, the store ---------------------------------
# The certificate's key is in another store's backup, under another name.
OTHER=$(store_at other)
ks --store "$OTHER" init --kdf-cost 10
ks --store "$OTHER" create www-old --dns www.example.test --dns example.test -o lost.req
ks --store "$OTHER" backup www-old -o other.kbk --yes --kdf-cost 10
expect_rc 0 "setup: the key backed up from another store"
sign_csr lost.req lost.crt 90
k create www.example.test --dns www.example.test --dns example.test -o www.req
k install lost.crt
expect_rc 5 "install of a certificate whose key is elsewhere"
LOST=$ERR
expect_fixes_name_store "$LOST" "lost key"
CREATE=$(fixes_in "$LOST" | grep " create ")
expect_eq "$CREATE" "keysafe --store $QS create www.example.test-2 --dns www.example.test --dns example.test" \
  "the re-key fix: a free name and every SAN"
run_fix "$CREATE"
expect_rc 0 "the re-key fix runs as printed"
ks --json --store "$S" show www.example.test-2
expect_eq "$(jget .dns)" '["www.example.test","example.test"]' "with both names"
RESTORE=$(fixes_in "$LOST" | grep " restore " | head -1)
INSTALL=$(fixes_in "$LOST" | grep " install " | head -1)
expect_eq "$INSTALL" "keysafe --store $QS install lost.crt" "the install fix names the file"
run_fix "$RESTORE && $INSTALL"
expect_rc 0 "restore from the backup, then install: runs as printed"
ks --json --store "$S" show www-old
expect_eq "$(jget .state)" "installed" "the certificate found its key"

# --- name in use ---------------------------------------------------------------------------
k create www.example.test --dns www.example.test -o /dev/null --force
expect_rc 6 "create with a name in use"
expect_fixes_name_store "$ERR" "name in use"
run_fix "$(fixes_in "$ERR" | head -1)"
expect_rc 0 "the name-in-use fix runs"

# --- check: untrusted chain, expiring, never backed up --------------------------------------
sign_csr www.req www.crt 90
cat www.crt ca.pem > fullchain.pem
k install www.crt
k ca init local-root --days 3650
k ca export local-root -o root.pem
k export local-root --format pem -o root-all.pem --yes
openssl pkey -in root-all.pem -passin env:KEYSAFE_OUT_PASSPHRASE -out root.key 2>/dev/null
k create soon --dns soon.example.test -o soon.req
sign_dated soon.req soon.crt "-80 days" "+10 days" root.pem root.key   # 10 of 90 days left
k install soon.crt
k check
CHECK=$OUT
expect_in "www.example.test: the chain was not verified" "$CHECK" "check warns about the chain"
expect_in "soon: the certificate expires in" "$CHECK" "check warns about the expiry"
expect_in "never backed up" "$CHECK" "check warns about backups"
expect_fixes_name_store "$CHECK" "check"
while IFS= read -r fix; do
  [ -z "$fix" ] && continue
  run_fix "$fix"
  expect_rc 0 "check's fix runs as printed: $fix"
done <<<"$(fixes_in "$CHECK" | grep -v " restore \| init \| delete " | sort -u)"
ks --json --store "$S" show www.example.test
expect_eq "$(jget .chain_trusted)" "true" "the chain fix made the chain trusted"
k check
expect_not_in "soon: the certificate expires" "$OUT" "the expiry fix renewed soon"
ks --json --store "$S" list --all
expect_in '"soon.replaced-' "$OUT" "renew soon left the old entry superseded"

# --- delete refused ------------------------------------------------------------------------
k create gone --dns gone.example.test -o /dev/null --force
k ca sign local-root --key gone --days 90
k delete gone
expect_rc 6 "delete of a key never backed up"
expect_fixes_name_store "$ERR" "delete"
run_fix "$(fixes_in "$ERR" | head -1)"
expect_rc 0 "the backup fix runs"
k delete gone
expect_rc 0 "then delete needs no --force"

# --- a missing store (a file; on PostgreSQL pg_store.sh has the missing database) -------------
if on_sqlite; then
ks --store "$T/new stores/keys.db" list
expect_rc 4 "a missing store"
FIX=$(fixes_in "$ERR" | head -1)
expect_eq "$FIX" "keysafe init --store '$T/new stores/keys.db'" "the init fix names the path, quoted"
run_fix "$FIX"
expect_rc 0 "the init fix runs"
[ -f "$T/new stores/keys.db" ] && ok || bad "it made the store at that path"
fi

# --- a locked store (SQLite's write lock) -----------------------------------------------------
if on_sqlite; then
python3 - "$S" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[1] + ".held", "w").close()
time.sleep(8)
PY
HOLDER=$!
for _ in $(seq 50); do [ -f "$S.held" ] && break; sleep 0.1; done
k create locked --dns locked.example.test -o /dev/null --force
expect_in "lock" "$ERR" "a locked store is diagnosed"
while IFS= read -r f; do
  [ -z "$f" ] && continue
  case "$f" in *"--store $QS"*) ok ;; *) bad "locked: the fix names the store: $f" ;; esac
done <<<"$(fixes_in "$ERR")"
kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null
fi

# --- the store named by KEYSAFE_STORE: named in fixes too; the default store: not --------------
OUT=$(KEYSAFE_STORE="$S" "$KEYSAFE_BIN" create soon --dns soon.example.test -o /dev/null 2>&1)
expect_in "keysafe --store $QS show soon" "$OUT" "a store named by KEYSAFE_STORE is named in the fix"
ks init --kdf-cost 10
ks create a --dns a.example.test -o /dev/null --force
ks create a --dns a.example.test -o /dev/null --force
expect_in "keysafe show a" "$ERR" "the default store: the fix has no --store"
expect_not_in "--store" "$ERR" "and names no store"
finish
