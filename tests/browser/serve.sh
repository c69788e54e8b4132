#!/usr/bin/env bash
# keysafe serve's web page in headless Chromium (tests/browser/serve.mjs): unlock, the table of
# entries, lock. Needs /usr/bin/chromium and tests/browser/node_modules (scripts/setup.sh).
# keysafe-test: sqlite-only — the page renders what the API answers; cli.pg.serve covers the API on PostgreSQL
source "$KEYSAFE_TESTS/lib.sh"
require_tool node nodejs
require_tool /usr/bin/chromium chromium
[ -d "$KEYSAFE_TESTS/browser/node_modules/playwright-core" ] ||
  skip "playwright-core is not installed (cd tests/browser && npm ci, or run scripts/setup.sh)"
new_store
make_ca
ks create www.example.com --dns www.example.com; expect_rc 0 "create"
sign_csr www.example.com.req www.pem
ks install www.pem; expect_rc 0 "install"
ks create pending.example.com --dns pending.example.com; expect_rc 0 "create a pending entry"

PORT=$(free_port)
"$KEYSAFE_BIN" serve --listen "127.0.0.1:$PORT" >"$T/serve.log" 2>&1 &
SERVER=$!
on_exit 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null'
for _ in $(seq 100); do grep -q '^SHA-256 fingerprint' "$T/serve.log" && break; sleep 0.1; done
grep -q '^SHA-256 fingerprint' "$T/serve.log" && ok || bad "keysafe serve did not start: $(cat "$T/serve.log")"

SHOTS="${KEYSAFE_BUILD_DIR:-$T}/browser-screenshots/serve"
mkdir -p "$SHOTS"
printf '%s\n' "$KEYSAFE_PASSPHRASE" >"$T/pass"; chmod 600 "$T/pass"
OUT=$(cd "$KEYSAFE_TESTS/browser" && node serve.mjs "https://127.0.0.1:$PORT" "$T/pass" "$SHOTS" 2>&1); RC=$?
printf '%s\n' "$OUT"
expect_rc 0 "the browser checks pass"
expect_in "all browser checks passed" "$OUT" "every browser check ran"
[ -s "$SHOTS/3-unlocked.png" ] && ok || bad "a screenshot of the unlocked page was written"
expect_not_in "$KEYSAFE_PASSPHRASE" "$(cat "$T/serve.log")" "the log never holds the passphrase"
finish
