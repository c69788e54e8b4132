# keysafe-test: sqlite-only — the API's routes over the store; the backend's part (sessions, reads) is cli.pg.serve, and the tokens' expiry is set back with sqlite3
#!/usr/bin/env bash
# keysafe serve's API beyond sessions (issue 18): read-only bearer tokens (serve token
# create|list|revoke).
source "$KEYSAFE_TESTS/lib.sh"
require_tool curl curl
require_tool jq jq
require_tool sqlite3 sqlite3
new_store
make_ca
ks create www.example.com --dns www.example.com; expect_rc 0 "create"
sign_csr www.example.com.req www.pem
ks install www.pem; expect_rc 0 "install"

PORT=$(free_port)
BASE="https://127.0.0.1:$PORT"
SERVER=""
stop_server() { [ -n "$SERVER" ] && kill -TERM "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; SERVER=""; }
on_exit stop_server
start_server() {
  "$KEYSAFE_BIN" serve --listen "127.0.0.1:$PORT" "$@" >"$T/serve.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    grep -q '^SHA-256 fingerprint' "$T/serve.log" && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
  done
  bad "keysafe serve did not start: $(cat "$T/serve.log")"; finish; exit 1
}
# req METHOD PATH [curl args...]: sets STATUS and BODY, with the cookie jar.
req() {
  local method=$1 path=$2; shift 2
  STATUS=$(curl -sk --path-as-is -o "$T/body" -D "$T/h" -w '%{http_code}' -X "$method" \
    -b "$T/jar" -c "$T/jar" "$@" "$BASE$path")
  BODY=$(cat "$T/body")
}
# treq METHOD PATH TOKEN [curl args...]: without the cookie jar, with a bearer token.
treq() {
  local method=$1 path=$2 token=$3; shift 3
  STATUS=$(curl -sk --path-as-is -o "$T/body" -w '%{http_code}' -X "$method" \
    -H "Authorization: Bearer $token" "$@" "$BASE$path")
  BODY=$(cat "$T/body")
}

# --- tokens: create, list, revoke ------------------------------------------------------------
ks serve token create monitoring --expires 30 -o "$T/mon.token"
expect_rc 0 "serve token create"
expect_in "monitoring" "$OUT" "create names the token"
expect_eq "$(stat -c %a "$T/mon.token")" 600 "the token file is 0600"
MON=$(cat "$T/mon.token")
[[ "$MON" =~ ^ksst_[0-9a-f]{64}$ ]] && ok || bad "the file holds the bare token: '$MON'"
H=$(printf '%s' "$MON" | sha256sum | cut -d' ' -f1)
expect_eq "$(sqlite3 "$KEYSAFE_STORE" "SELECT token_sha256 FROM serve_tokens WHERE name = 'monitoring'")" "$H" "the store keeps only the token's SHA-256"
[ "$(sqlite3 "$KEYSAFE_STORE" "SELECT count(*) FROM serve_tokens WHERE token_sha256 LIKE '%$MON%' OR name LIKE '%$MON%'")" = 0 ] && ok || bad "the bare token is not in the store"
expect_eq "$(sqlite3 "$KEYSAFE_STORE" "PRAGMA user_version")" 14 "the store is at schema v14"

before=$(hash_of "$T/mon.token")
ks serve token create other -o "$T/mon.token"
expect_rc 6 "a token is never written over an existing file (already-exists)"
expect_eq "$(hash_of "$T/mon.token")" "$before" "the existing file is unchanged"
ln -s "$T/elsewhere" "$T/link.token"
ks serve token create other -o "$T/link.token"
[ "$RC" != 0 ] && ok || bad "a token is never written through a symlink"
[ ! -e "$T/elsewhere" ] && ok || bad "nothing was written at the symlink's target"
ks serve token create monitoring -o "$T/again.token"
[ "$RC" != 0 ] && [ ! -e "$T/again.token" ] && ok || bad "a taken token name is refused and writes no file"
ks serve token create ../x -o "$T/bad.token"; expect_rc 2 "an invalid token name is a usage error"
ks serve token create short --expires 0 -o "$T/bad.token"; expect_rc 2 "--expires 0 is refused"

ks serve token create scripts -o "$T/scripts.token"; expect_rc 0 "a token without expiry"
SCRIPTS=$(cat "$T/scripts.token")
ks serve token list --json
expect_rc 0 "serve token list --json"
expect_eq "$(printf '%s' "$OUT" | jq -r '[.[] | .name + ":" + .state] | join(",")')" "monitoring:live,scripts:live" "list shows both tokens, live"
expect_eq "$(printf '%s' "$OUT" | jq -r '.[] | select(.name == "scripts") | .expires_at')" "null" "no --expires: expires_at null"
[ "$(printf '%s' "$OUT" | jq -r '.[] | select(.name == "monitoring") | .expires_at')" != null ] && ok || bad "--expires sets expires_at"
ks serve token list; expect_in "monitoring  live" "$OUT" "the plain list shows name and state"
ks audit --json
expect_in "serve-token-created" "$OUT" "token creation is audited"
expect_not_in "$MON" "$OUT" "the audit log has no token"

# --- tokens over HTTPS: reads only -------------------------------------------------------------
start_server
treq GET /api/v1/entries "$MON"
expect_eq "$STATUS" 200 "a token reads the entries without a session"
ks list --json
expect_eq "$(printf '%s' "$BODY" | jq -S .)" "$(printf '%s' "$OUT" | jq -S .)" "the same document as list --json"
treq GET /api/v1/entries/www.example.com "$MON"
expect_eq "$STATUS $(jget .name "$BODY")" "200 www.example.com" "a token reads one entry"
treq GET /api/v1/entries "ksst_$(printf '0%.0s' $(seq 64))"
expect_eq "$STATUS $(jget .error.code "$BODY")" "401 unauthorized" "an unknown token: 401"
treq GET /api/v1/entries "$MON" -H "Cookie: __Host-keysafe-session=$(printf 'a%.0s' $(seq 64))"
expect_eq "$STATUS" 200 "a stale cookie beside a token still reads"
treq DELETE /api/v1/session "$MON"
expect_eq "$STATUS $(jget .error.code "$BODY")" "403 read-only-token" "a write with a token: 403"
expect_in "only reads" "$(jget .error.summary "$BODY")" "the 403 says a token only reads"
grep -q "$MON" "$T/serve.log" && bad "the log has the token" || ok

ks serve token revoke scripts; expect_rc 0 "serve token revoke"
treq GET /api/v1/entries "$SCRIPTS"
expect_eq "$STATUS $(jget .error.code "$BODY")" "401 unauthorized" "a revoked token: 401"
expect_in "revoked" "$(jget .error.summary "$BODY")" "the 401 says it was revoked"
ks serve token list --json
expect_eq "$(printf '%s' "$OUT" | jq -r '.[] | select(.name == "scripts") | .state')" revoked "list shows it revoked"
ks serve token revoke nosuch; expect_rc 1 "revoking an unknown token: not found"; expect_in "no serve token" "$ERR" "and says so"
ks audit --json; expect_in "serve-token-revoked" "$OUT" "revocation is audited"

sqlite3 "$KEYSAFE_STORE" "UPDATE serve_tokens SET expires_at = 1 WHERE name = 'monitoring'"
treq GET /api/v1/entries "$MON"
expect_eq "$STATUS $(jget .error.code "$BODY")" "401 unauthorized" "an expired token: 401"
expect_in "expired" "$(jget .error.summary "$BODY")" "the 401 says it expired"

stop_server
finish
