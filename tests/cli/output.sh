#!/usr/bin/env bash
# Output: `-o -` is standard output for every command that writes a file; a private key or
# binary output (PKCS#12, DER) never goes to a terminal whatever the flags, and off a terminal a
# private key still needs --yes. A write error on standard output is an error (exit 1), not
# lost output with exit 0. `show` and `list` keep their columns.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool python3 python3
export KEYSAFE_OUT_PASSPHRASE="export pass 1"

# on_tty ARGS...: keysafe with standard output on a pseudo-terminal (stdin /dev/null); sets RC,
# ERR, and OUT to what reached the terminal.
on_tty() {
  OUT=$(python3 - "$KEYSAFE_BIN" "$@" 2>"$T/.stderr" <<'PY'
import os, pty, subprocess, sys, threading
master, slave = pty.openpty()
seen = bytearray()
def drain():
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        seen.extend(data)
reader = threading.Thread(target=drain, daemon=True)
reader.start()
p = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE)
os.close(slave)
reader.join(5)
sys.stderr.buffer.write(p.stderr)
sys.stdout.write(f"{p.returncode}\n{len(seen)}\n")
PY
  )
  RC=$(printf '%s\n' "$OUT" | sed -n 1p)
  OUT_BYTES=$(printf '%s\n' "$OUT" | sed -n 2p)
  ERR=$(<"$T/.stderr")
}

new_store
make_ca
ks create www --dns www.example.test;  expect_rc 0 "create www"
sign_csr www.req www.cer 90
ks install www.cer --ca-file ca.pem;   expect_rc 0 "install www"
ks ca init corp-root;                  expect_rc 0 "ca init"

# --- export -o - -------------------------------------------------------------------------------
ks export www --cert-only --format pem -o -
expect_rc 0 "export --cert-only -o -"
expect_eq "$(printf '%s\n' "$OUT" | openssl x509 -noout -fingerprint -sha256 2>/dev/null)" \
  "$(openssl x509 -in www.cer -noout -fingerprint -sha256)" "the certificate arrives on standard output"
[ ! -e ./- ] && ok || bad "export -o - wrote a file named -"
expect_in "standard output" "$ERR" "what was written is said on standard error"

"$KEYSAFE_BIN" export www --cert-only --format der -o - > www.der 2>/dev/null; RC=$?
expect_rc 0 "export --cert-only --format der -o - into a file"
expect_eq "$(openssl x509 -inform der -in www.der -noout -fingerprint -sha256 2>/dev/null)" \
  "$(openssl x509 -in www.cer -noout -fingerprint -sha256)" "DER through standard output"

"$KEYSAFE_BIN" --yes export www --format pfx -o - > www.pfx 2>/dev/null </dev/null; RC=$?
expect_rc 0 "export --format pfx -o - --yes into a file"
openssl pkcs12 -in www.pfx -passin "pass:$KEYSAFE_OUT_PASSPHRASE" -nodes -noout 2>/dev/null \
  && ok || bad "the PKCS#12 from standard output opens with the export password"

OUT=$(setsid -w "$KEYSAFE_BIN" export www --format pem -o - </dev/null 2>"$T/.stderr"); RC=$?
ERR=$(<"$T/.stderr")
expect_rc 6 "a private key to standard output off a terminal without --yes is refused"
expect_in "--yes" "$ERR" "the refusal names --yes"
expect_not_in "PRIVATE KEY" "$OUT" "no key was written"

# --- never to a terminal, whatever the flags -------------------------------------------------------
for args in "export www --format pem -o - --yes" "export www --format pfx -o - --yes" \
  "export www --cert-only --format der -o -" "ca export corp-root --format der -o -" \
  "ca crl corp-root --format der -o -"; do
  # shellcheck disable=SC2086
  on_tty $args
  expect_rc 6 "$args to a terminal is refused"
  expect_in "refusing to write" "$ERR" "$args: the refusal says what"
  expect_in "terminal" "$ERR" "$args: the refusal names the terminal"
  expect_eq "$OUT_BYTES" "0" "$args: nothing reached the terminal"
done
on_tty export www --cert-only --format pem -o -
expect_rc 0 "a PEM certificate may go to a terminal"
[ "${OUT_BYTES:-0}" -gt 100 ] && ok || bad "the PEM certificate reached the terminal ($OUT_BYTES bytes)"

# --- other commands with -o - ------------------------------------------------------------------
ks request www -o -
expect_in "BEGIN CERTIFICATE REQUEST" "$OUT" "request -o -"
ks ca export corp-root -o -
expect_in "BEGIN CERTIFICATE" "$OUT" "ca export -o -"
ks calendar -o -
expect_in "BEGIN:VCALENDAR" "$OUT" "calendar -o -"
[ ! -e ./- ] && ok || bad "no file named - was written"

# --- backup -o -: the verified backup on standard output, the summary on standard error ------
KEYSAFE_OUT_PASSPHRASE="backup pass 12345" "$KEYSAFE_BIN" --yes backup --all -o - --kdf-cost 10 \
  > piped.kbk 2>"$T/.stderr" </dev/null; RC=$?
ERR=$(<"$T/.stderr")
expect_rc 0 "backup --all -o - --yes into a file"
expect_in "backed up" "$ERR" "the summary goes to standard error"
[ ! -e ./- ] && ok || bad "backup -o - wrote a file named -"
if on_sqlite; then RESTORE_TO="$(mktemp -d "$T/restore.XXXXXX")/s.db"; else RESTORE_TO=$(store_at restore_to); fi
KEYSAFE_STORE="$RESTORE_TO" KEYSAFE_IN_PASSPHRASE="backup pass 12345" \
  "$KEYSAFE_BIN" restore piped.kbk --dry-run > "$T/.restore" 2>&1; RC=$?
expect_rc 0 "the backup from standard output opens and verifies (restore --dry-run)"
expect_in "www" "$(<"$T/.restore")" "it holds www"
OUT=$(setsid -w env KEYSAFE_OUT_PASSPHRASE="backup pass 12345" "$KEYSAFE_BIN" backup --all \
  -o - --kdf-cost 10 </dev/null 2>"$T/.stderr"); RC=$?
ERR=$(<"$T/.stderr")
expect_rc 6 "backup -o - off a terminal without --yes is refused"
expect_in "--yes" "$ERR" "the refusal names --yes"
expect_eq "$OUT" "" "nothing was written without --yes"
on_tty --yes backup --all -o - --kdf-cost 10
expect_rc 6 "backup -o - --yes to a terminal is refused"
expect_in "refusing to write a backup" "$ERR" "the refusal says what"
expect_eq "$OUT_BYTES" "0" "backup to a terminal: nothing reached it"
"$KEYSAFE_BIN" --yes --json backup --all -o - --kdf-cost 10 >/dev/null 2>"$T/.stderr" </dev/null
RC=$?; ERR=$(<"$T/.stderr")
expect_rc 2 "backup --json -o - is a usage error (both want standard output)"

# --- a write error on standard output ---------------------------------------------------------
if [ -w /dev/full ]; then
  for args in "list" "show www" "list --json" "export www --cert-only --format pem -o -" "--help"; do
    # shellcheck disable=SC2086
    "$KEYSAFE_BIN" $args > /dev/full 2>"$T/.stderr"; RC=$?
    ERR=$(<"$T/.stderr")
    expect_rc 1 "keysafe $args > /dev/full"
    expect_in "standard output" "$ERR" "keysafe $args > /dev/full: the error names standard output"
  done
else
  skip "/dev/full is not writable here"
fi

# --- show and list ---------------------------------------------------------------------------
ks show www
expect_in "sha-256 fingerprint: " "$OUT" "show: a space after the longest label"
VALUE_COLUMNS=$(printf '%s\n' "$OUT" | awk -F': *' '{ print index($0, $2) }' | sort -u | wc -l)
expect_eq "$VALUE_COLUMNS" "1" "show: every value starts in the same column"

ks create a-rather-long-entry-name-for-a-test.internal.example.test --dns x.example.test
expect_rc 0 "create an entry with a long name"
ks list
HEADER=$(printf '%s\n' "$OUT" | sed -n 1p)
COL=$(printf '%s\n' "$HEADER" | awk '{ print index($0, "STATE") }')
BAD=$(printf '%s\n' "$OUT" | sed 1d | awk -v c="$COL" 'substr($0, c - 1, 1) != " " || substr($0, c, 1) == " " { print }')
expect_eq "$BAD" "" "list: every STATE value starts under STATE, long names included"
NAMES_COL=$(printf '%s\n' "$HEADER" | awk '{ print index($0, "NAMES") }')
expect_eq "$(printf '%s\n' "$OUT" | grep www.example.test | cut -c"$NAMES_COL"- | awk '{print $1}')" \
  "www.example.test" "list: the NAMES column is in line"

finish
