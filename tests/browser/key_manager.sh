#!/usr/bin/env bash
# keysafe serve's Key Manager page in headless Chromium (tests/browser/key_manager.mjs): unlock,
# New key, the request downloaded and signed by the test's CA, Install certificate, a lost-key
# upload's diagnosis, the Back up dialog (its file restored here with the CLI into a fresh
# store), the expiry view, the audit log, keyboard use, 400 px, axe-core on every view.
# Needs /usr/bin/chromium and tests/browser/node_modules (npm ci there, or scripts/setup.sh).
# keysafe-test: sqlite-only — the page renders what the API answers; cli.pg.serve covers the API on PostgreSQL
source "$KEYSAFE_TESTS/lib.sh"
require_tool node nodejs
require_tool /usr/bin/chromium chromium
for module in playwright-core axe-core; do
  [ -d "$KEYSAFE_TESTS/browser/node_modules/$module" ] ||
    skip "$module is not installed (cd tests/browser && npm ci, or run scripts/setup.sh)"
done
new_store
make_ca
ks create www.example.com --dns www.example.com; expect_rc 0 "create"
sign_csr www.example.com.req www.pem
ks install www.pem; expect_rc 0 "install"
ks create pending.example.com --dns pending.example.com; expect_rc 0 "create a pending entry"
# A certificate from the same CA for a key the store never held (the lost-key case).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout lost.key \
  -subj /CN=lost.example.com -addext subjectAltName=DNS:lost.example.com -out lost.req 2>/dev/null
sign_csr lost.req lost.pem

PORT=$(free_port)
"$KEYSAFE_BIN" serve --listen "127.0.0.1:$PORT" >"$T/serve.log" 2>&1 &
SERVER=$!
on_exit 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null'
for _ in $(seq 100); do grep -q '^SHA-256 fingerprint' "$T/serve.log" && break; sleep 0.1; done
grep -q '^SHA-256 fingerprint' "$T/serve.log" && ok || bad "keysafe serve did not start: $(cat "$T/serve.log")"

SHOTS="${KEYSAFE_BUILD_DIR:-$T}/browser-screenshots/key_manager"
rm -rf "$SHOTS"; mkdir -p "$SHOTS"
printf '%s\n' "$KEYSAFE_PASSPHRASE" >"$T/pass"; chmod 600 "$T/pass"
OUT=$(cd "$KEYSAFE_TESTS/browser" && node key_manager.mjs "https://127.0.0.1:$PORT" "$T/pass" "$SHOTS" "$T" 2>&1); RC=$?
printf '%s\n' "$OUT"
expect_rc 0 "the browser checks pass"
expect_in "all browser checks passed" "$OUT" "every browser check ran"
[ "$(ls "$SHOTS"/*.png 2>/dev/null | wc -l)" -ge 10 ] && ok || bad "a screenshot of each step was written to $SHOTS"

# What the page did is in the store: the key it created holds the CA's certificate.
ks show shop.example.com --json
expect_eq "$(jget .state "$OUT") $(jget .key_algorithm "$OUT")" "installed ec-p384" "the key made on the page is installed"
ks show pending.example.com --json
expect_eq "$(jget .state "$OUT")" pending "the lost-key upload left the pending entry alone"

# The downloaded backup restores with the CLI into a fresh store.
if [ -s backup.kbk ]; then
  export KEYSAFE_STORE="$T/restored.db"
  ks init --kdf-cost 10; expect_rc 0 "a fresh store"
  ks restore backup.kbk --in-passphrase-file backup.pass; expect_rc 0 "the page's backup restores with the CLI"
  ks list --json
  expect_eq "$(printf '%s' "$OUT" | jq -r '[.[] | .name + "=" + .state] | sort | join(" ")')" \
    "pending.example.com=pending shop.example.com=installed www.example.com=installed" \
    "the restored store holds every entry"
else
  bad "the page's backup was not downloaded"
fi
expect_not_in "$KEYSAFE_PASSPHRASE" "$(cat "$T/serve.log")" "the log never holds the passphrase"
expect_not_in "backup pass 1" "$(cat "$T/serve.log")" "nor the backup passphrase"
finish
