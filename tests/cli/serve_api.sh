# keysafe-test: sqlite-only — the API's routes over the store; the backend's part (sessions, reads) is cli.pg.serve, and the tokens' expiry is set back with sqlite3
#!/usr/bin/env bash
# keysafe serve's API beyond sessions (issue 18): read-only bearer tokens (serve token
# create|list|revoke); the write routes with an unlocked session and X-CSRF-Token (create,
# request download, certificate upload with the lost-key diagnosis, backup, PKCS#12 export);
# check, audit, deployments and status equal to the CLI's --json; openapi.json lists every route.
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

# --- writes: an unlocked session and its CSRF token --------------------------------------------
printf '{"passphrase": "%s"}' "$KEYSAFE_PASSPHRASE" >"$T/pass.json"
req POST /api/v1/entries --data-binary '{"name": "api.example.com", "dns": ["api.example.com"]}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "401 unauthorized" "create without a session: 401"
req POST /api/v1/session --data-binary @"$T/pass.json"; expect_eq "$STATUS" 200 "unlock"
CSRF=$(jget .csrf_token "$BODY")
req POST /api/v1/entries --data-binary '{"name": "api.example.com", "dns": ["api.example.com"]}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "403 csrf" "create without X-CSRF-Token: 403"
ks serve token create writer -o "$T/writer.token"
treq POST /api/v1/entries "$(cat "$T/writer.token")" --data-binary '{"name": "api.example.com"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "403 read-only-token" "create with a token: 403"
# wreq METHOD PATH [curl args]: a session write with the CSRF token.
wreq() { local m=$1 p=$2; shift 2; req "$m" "$p" -H "X-CSRF-Token: $CSRF" "$@"; }

wreq POST /api/v1/entries --data-binary '{"name": "api.example.com", "dns": ["api.example.com", "www.api.example.com"], "key": "ec-p384"}'
expect_eq "$STATUS $(jget .name "$BODY") $(jget .state "$BODY") $(jget .key_algorithm "$BODY")" "201 api.example.com pending ec-p384" "POST /api/v1/entries creates a pending entry: 201"
expect_eq "$(jget .request_url "$BODY")" "/api/v1/entries/api.example.com/request" "it says where the request is"
ks show api.example.com --json
expect_eq "$(jget .state "$OUT") $(printf '%s' "$OUT" | jq -c .dns)" 'pending ["api.example.com","www.api.example.com"]' "the CLI sees the new entry"
wreq POST /api/v1/entries --data-binary '{"name": "api.example.com", "dns": ["other.example.com"]}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "409 already-exists" "a taken name: 409"
wreq POST /api/v1/entries --data-binary '{"name": "k2", "key": "rsa-512"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 usage" "an unknown key type: 400"
wreq POST /api/v1/entries --data-binary '{"name": "../etc", "dns": ["x.example"]}'
expect_eq "$STATUS" 400 "a path in the name: 400"
for body in 'not json' '[]' '{"name": 42}' '{"name": "k3", "dns": "x"}' '{"dns": ["x.example"]}'; do
  wreq POST /api/v1/entries --data-binary "$body"
  expect_eq "$STATUS" 400 "create body '$body': 400"
done

# The request, as keysafe request prints it.
req GET /api/v1/entries/api.example.com/request
expect_eq "$STATUS" 200 "GET .../request: 200"
ks request api.example.com -o -
expect_eq "$BODY" "$OUT" "the PEM is the stored request (keysafe request)"
grep -qi '^content-disposition: attachment; filename="api.example.com.req"' "$T/h" && ok || bad "the request downloads as NAME.req"
treq GET /api/v1/entries/api.example.com/request "$(cat "$T/writer.token")"
expect_eq "$STATUS" 200 "a token downloads the request"
req GET /api/v1/entries/nosuch/request; expect_eq "$STATUS" 404 "the request of an unknown entry: 404"
req GET '/api/v1/entries/..%2Fstore.db/request'; expect_eq "$STATUS" 400 "an encoded path in the request route: 400"

# The certificate: PEM, then the same as DER; a request, another entry's and a lost key's refused.
curl -sk -b "$T/jar" "$BASE/api/v1/entries/api.example.com/request" -o "$T/api.req"
sign_csr "$T/api.req" "$T/api.pem"
wreq POST /api/v1/entries/api.example.com/certificate --data-binary @"$T/api.req"
expect_eq "$STATUS $(jget .error.code "$BODY")" "409 request-not-certificate" "a request uploaded as certificate: 409"
wreq POST /api/v1/entries/api.example.com/certificate --data-binary @www.pem
expect_eq "$STATUS $(jget .error.code "$BODY")" "409 key-certificate-mismatch" "another entry's certificate: 409"
expect_in "www.example.com" "$(jget .error.summary "$BODY")" "it names the entry the certificate is for"
wreq POST /api/v1/entries/api.example.com/certificate --data-binary @"$T/api.pem"
expect_eq "$STATUS $(jget .name "$BODY") $(jget .already_installed "$BODY")" "201 api.example.com false" "the certificate is installed: 201"
ks show api.example.com --json; expect_eq "$(jget .state "$OUT")" installed "the entry is installed"
openssl x509 -in "$T/api.pem" -outform DER -out "$T/api.der"
wreq POST /api/v1/entries/api.example.com/certificate --data-binary @"$T/api.der" -H 'Content-Type: application/octet-stream'
expect_eq "$STATUS $(jget .already_installed "$BODY")" "200 true" "the same certificate as DER: already installed"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/lost.key" -subj /CN=lost.example.com -addext subjectAltName=DNS:lost.example.com -out "$T/lost.req" 2>/dev/null
sign_csr "$T/lost.req" "$T/lost.pem"
wreq POST /api/v1/entries/api.example.com/certificate --data-binary @"$T/lost.pem"
expect_eq "$STATUS $(jget .error.code "$BODY")" "409 key-not-found" "a certificate for a key the store lacks: 409"
expect_in "no private key in this keystore matches" "$(jget .error.summary "$BODY")" "with install's lost-key diagnosis"
expect_in "restore the key from its backup" "$(jget .error.fix "$BODY")" "and its fix"
wreq POST /api/v1/entries/api.example.com/certificate --data-binary 'garbage'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 bad-input" "garbage as certificate: 400"
wreq POST /api/v1/entries/nosuch/certificate --data-binary @"$T/api.pem"
expect_eq "$STATUS" 404 "a certificate for an unknown entry: 404"

# Backup: confirm required, then the file restores with the CLI.
wreq POST /api/v1/backup --data-binary '{"names": ["api.example.com"], "passphrase": "backup pass 1"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "422 confirm-required" "a backup without confirm: 422"
expect_in "impersonate" "$(jget .error.cause "$BODY")" "the refusal states the warning"
wreq POST /api/v1/backup --data-binary '{"names": ["api.example.com"], "confirm": true}'
expect_eq "$STATUS" 400 "a backup without passphrase: 400"
wreq POST /api/v1/backup --data-binary '{"names": ["nosuch"], "passphrase": "backup pass 1", "confirm": true}'
expect_eq "$STATUS" 404 "a backup of an unknown entry: 404"
wreq POST /api/v1/backup --data-binary '{"names": ["api.example.com"], "all": true, "passphrase": "p", "confirm": true}'
expect_eq "$STATUS" 400 "names and all together: 400"
STATUS=$(curl -sk -b "$T/jar" -H "X-CSRF-Token: $CSRF" -D "$T/h" -o "$T/api.kbk" -w '%{http_code}' \
  --data-binary '{"names": ["api.example.com"], "passphrase": "backup pass 1", "confirm": true, "kdf_cost": 14}' "$BASE/api/v1/backup")
expect_eq "$STATUS" 200 "POST /api/v1/backup: 200"
grep -qi '^content-disposition: attachment; filename="api.example.com-' "$T/h" && ok || bad "the backup downloads as a file"
printf "backup pass 1" >"$T/bpass"; chmod 600 "$T/bpass"
OUT=$(KEYSAFE_STORE="$T/restored.db" KEYSAFE_PASSPHRASE="restored store pass" "$KEYSAFE_BIN" init --kdf-cost 10 2>&1) || bad "init a second store: $OUT"
OUT=$(KEYSAFE_STORE="$T/restored.db" KEYSAFE_PASSPHRASE="restored store pass" "$KEYSAFE_BIN" restore "$T/api.kbk" --in-passphrase-file "$T/bpass" 2>&1); RC=$?
expect_rc 0 "the downloaded backup restores with the CLI"
OUT=$(KEYSAFE_STORE="$T/restored.db" "$KEYSAFE_BIN" show api.example.com --json 2>&1)
expect_eq "$(jget .state "$OUT")" installed "the restored entry has its certificate"
ks audit --json; expect_in "HTTPS download api.example.com-" "$OUT" "the backup is audited as an HTTPS download"

# PKCS#12 export.
wreq POST /api/v1/entries/api.example.com/export --data-binary '{"passphrase": "p12 pass"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "422 confirm-required" "an export without confirm: 422"
STATUS=$(curl -sk -b "$T/jar" -H "X-CSRF-Token: $CSRF" -o "$T/api.p12" -w '%{http_code}' \
  --data-binary '{"passphrase": "p12 pass", "confirm": true}' "$BASE/api/v1/entries/api.example.com/export")
expect_eq "$STATUS" 200 "POST .../export: 200"
openssl pkcs12 -in "$T/api.p12" -passin pass:'p12 pass' -nodes 2>/dev/null | openssl pkey -pubout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1 >"$T/p12.spki"
ks show api.example.com --json
expect_eq "$(cat "$T/p12.spki")" "$(jget .spki_sha256 "$OUT")" "the PKCS#12 opens with its passphrase and holds the entry's key"
wreq POST /api/v1/entries/pending-nosuch/export --data-binary '{"passphrase": "p", "confirm": true}'
expect_eq "$STATUS" 404 "export of an unknown entry: 404"
ks audit --json; expect_in "api.example.com.p12 (keysafe serve)" "$OUT" "the export is audited"
grep -q 'backup pass 1\|p12 pass' "$T/serve.log" && bad "the log holds a passphrase" || ok

# --- check, audit, deployments, status: the CLI's --json --------------------------------------
MONTOKEN=$(cat "$T/writer.token")
ks check --json
req GET /api/v1/check
expect_eq "$STATUS" 200 "GET /api/v1/check: 200"
# The CLI's fixes name the store (--store, as it was given); the API's do not.
expect_eq "$(printf '%s' "$BODY" | jq -S 'del(.keys_opened)')" "$(printf '%s' "$OUT" | sed "s| --store $KEYSAFE_STORE||g" | jq -S 'del(.keys_opened)')" "check: the document of check --json"
expect_eq "$(jget .keys_opened "$BODY")" 2 "a session's check opens every key"
treq GET /api/v1/check "$MONTOKEN"
expect_eq "$STATUS $(jget .keys_opened "$BODY")" "200 0" "a token's check reads without opening keys"
req GET '/api/v1/check?name=../x'; expect_eq "$STATUS" 400 "check ?name= is validated"
ks audit --json
req GET /api/v1/audit
expect_eq "$STATUS" 200 "GET /api/v1/audit: 200"
expect_eq "$(printf '%s' "$BODY" | jq -S .)" "$(printf '%s' "$OUT" | jq -S .)" "audit: the document of audit --json"
req GET '/api/v1/audit?verify=true'
expect_eq "$(jget .intact "$BODY") $(jget .head_verified "$BODY")" "true true" "audit ?verify=true with a session verifies the head"
mkdir -p "$T/www"
ks deploy www.example.com --to "$T/www"; expect_rc 0 "deploy (for deployments and status)"
ks deployments --json
treq GET /api/v1/deployments "$MONTOKEN"
expect_eq "$STATUS" 200 "GET /api/v1/deployments with a token: 200"
expect_eq "$(printf '%s' "$BODY" | jq -S .)" "$(printf '%s' "$OUT" | jq -S .)" "deployments: the document of deployments --json"
expect_eq "$(printf '%s' "$BODY" | jq length)" 1 "one deployment listed"
ks status --json
req GET /api/v1/status
expect_eq "$STATUS" 200 "GET /api/v1/status: 200"
expect_eq "$(printf '%s' "$BODY" | jq -S .)" "$(printf '%s' "$OUT" | sed "s| --store $KEYSAFE_STORE||g" | jq -S .)" "status: the document of status --json"
expect_eq "$(printf '%s' "$BODY" | jq -r '.[0].state')" current "the deployment is current"
for path in /api/v1/check /api/v1/audit /api/v1/deployments /api/v1/status; do
  STATUS=$(curl -sk -o /dev/null -w '%{http_code}' "$BASE$path")
  expect_eq "$STATUS" 401 "$path without session or token: 401"
done

ks serve token create load -o "$T/load.token"; expect_rc 0 "a read-only token"
LOAD=$(cat "$T/load.token")
# --- ?summary=true: the table's fields of list --json, compact ---------------------------------
req GET '/api/v1/entries?summary=true'
ks list --json
expect_eq "$STATUS $(printf '%s' "$BODY" | jq -S -c .)" "200 $(printf '%s' "$OUT" | jq -S -c '[.[] | {name, state, not_after, days_left, backed_up}]')" \
  "GET /api/v1/entries?summary=true: name, state, not_after, days_left, backed_up of each entry"
expect_eq "$(printf '%s\n' "$BODY" | wc -l)" 1 "on one line"

# --- the local CA over the API: ca sign for a stored key, revoke ---------------------------------
ks ca init test-ca --key ec-p256; expect_rc 0 "ca init"
ks create intranet --dns intranet.corp --dns wiki.intranet.corp; expect_rc 0 "create intranet"
req POST /api/v1/ca/test-ca/sign --data-binary '{"name": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "403 csrf" "ca sign without X-CSRF-Token: 403"
treq POST /api/v1/ca/test-ca/sign "$LOAD" --data-binary '{"name": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "403 read-only-token" "ca sign with a token: 403"
wreq POST /api/v1/ca/nosuch-ca/sign --data-binary '{"name": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "404 not-found" "ca sign by an unknown CA: 404"
wreq POST /api/v1/ca/www.example.com/sign --data-binary '{"name": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "404 not-found" "an entry that is no CA cannot sign: 404"
wreq POST /api/v1/ca/test-ca/sign --data-binary '{"name": "nosuch"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "404 not-found" "ca sign for an unknown entry: 404"
wreq POST /api/v1/ca/test-ca/sign --data-binary '{"name": "../x"}'
expect_eq "$STATUS" 400 "ca sign for an invalid name: 400"
wreq POST /api/v1/ca/.hidden/sign --data-binary '{"name": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 usage" "an invalid CA name: 400"
wreq POST /api/v1/ca/..%2Fx/sign --data-binary '{"name": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "404 not-found" "a CA name with a slash matches no route: 404"
wreq POST /api/v1/ca/test-ca/sign --data-binary '{"name": "intranet", "days": 0}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 bad-input" "days 0: 400"
wreq POST /api/v1/ca/test-ca/sign --data-binary '{"name": "intranet", "profile": "mail"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 bad-input" "an unknown profile: 400"
ks show intranet --json; expect_eq "$(jget .state "$OUT")" pending "the refused requests signed nothing"
wreq POST /api/v1/ca/test-ca/sign --data-binary '{"name": "intranet", "days": 30}'
expect_eq "$STATUS $(jget .ca "$BODY") $(jget .installed "$BODY") $(jget .name "$BODY") $(jget .profile "$BODY")" \
  "201 test-ca true intranet server" "POST /api/v1/ca/test-ca/sign: 201, installed into the entry"
SIGNED=$(jget .certificate.serial "$BODY")
expect_eq "$(printf '%s' "$BODY" | jq -r '.certificate.dns | join(",")')" "intranet.corp,wiki.intranet.corp" "the certificate has the entry's names"
ks show intranet --json
expect_eq "$(jget .state "$OUT") $(jget .serial "$OUT") $(jget .days_left "$OUT")" "installed $SIGNED 30" "the entry holds the CA's certificate, 30 days"
ks audit --json; expect_in "$SIGNED" "$(printf '%s' "$OUT" | jq -r '.entries[] | select(.action == "issued" and .entry == "test-ca") | .detail')" "the issue is audited under the CA"

req POST /api/v1/ca/test-ca/revoke --data-binary '{"what": "intranet"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "403 csrf" "ca revoke without X-CSRF-Token: 403"
wreq POST /api/v1/ca/test-ca/revoke --data-binary '{"what": "nosuch"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 usage" "neither an entry nor a serial: 400"
wreq POST /api/v1/ca/test-ca/revoke --data-binary '{"what": "0A0B0C"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "404 not-found" "a serial the CA never issued: 404"
wreq POST /api/v1/ca/test-ca/revoke --data-binary '{"what": "www.example.com"}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "404 not-found" "an entry whose certificate another CA issued: 404"
wreq POST /api/v1/ca/test-ca/revoke --data-binary '{}'
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 bad-input" "revoke without \"what\": 400"
wreq POST /api/v1/ca/test-ca/revoke --data-binary '{"what": "intranet", "reason": "superseded"}'
expect_eq "$STATUS $(jget .serial "$BODY") $(jget .name "$BODY") $(jget .reason "$BODY") $(jget .already_revoked "$BODY")" \
  "200 $SIGNED intranet superseded false" "POST /api/v1/ca/test-ca/revoke: 200, the entry's certificate revoked"
ks ca list --issued test-ca --json
expect_eq "$(printf '%s' "$OUT" | jq -r --arg s "$SIGNED" '.[] | select(.serial == $s) | .revocation_reason')" superseded "the CA lists the serial as revoked"
wreq POST /api/v1/ca/test-ca/revoke --data-binary "{\"what\": \"$SIGNED\"}"
expect_eq "$STATUS $(jget .already_revoked "$BODY")" "200 true" "revoking it again by serial: already revoked"

# --- body limit on every write route: one byte over --max-body (default 1 MiB) is 413 --------
head -c $((1048576 + 1)) /dev/zero | tr '\0' 'a' >"$T/over"
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T/limit"
ks list --json; before=$OUT
for path in /api/v1/entries /api/v1/entries/api.example.com/certificate /api/v1/backup \
            /api/v1/entries/api.example.com/export /api/v1/session; do
  wreq POST "$path" --data-binary @"$T/over"
  expect_eq "$STATUS $(jget .error.code "$BODY")" "413 too-large" "POST $path with 1 MiB + 1 byte: 413"
done
wreq POST /api/v1/entries/api.example.com/certificate --data-binary @"$T/limit"
expect_eq "$STATUS $(jget .error.code "$BODY")" "400 bad-input" "exactly 1 MiB is read (and refused as no certificate): 400, not 413"
ks list --json; expect_eq "$OUT" "$before" "the refused bodies changed nothing"
req GET /api/v1/session; expect_eq "$(jget .unlocked "$BODY")" true "and the session is still unlocked"

# --- no compression: Debian's httplib would brotli-compress at quality 11 (29 s for 10,000 entries)
# and compressed answers holding the csrf_token are what BREACH reads ---------------------------
for path in /api/v1/entries /api/v1/session /app.js; do
  curl -sk -o /dev/null -D "$T/h" -b "$T/jar" -H 'Accept-Encoding: br, gzip, deflate' "$BASE$path"
  grep -qi '^content-encoding' "$T/h" && bad "GET $path is compressed: $(grep -i '^content-encoding' "$T/h")" || ok
done

# --- concurrent reads with a bearer token: 10 clients x 50 requests over five routes -----------
# One python process (threads), a new TLS connection per request as curl makes, so that 500
# process starts do not swamp a 2-core machine; each answer must be 200 and JSON.
OUT=$(python3 - "$BASE" "$LOAD" <<'PY'
import json, ssl, sys, threading, time, http.client, urllib.parse
base, token = sys.argv[1], sys.argv[2]
host = urllib.parse.urlsplit(base)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
routes = ["/api/v1/entries", "/api/v1/entries/www.example.com", "/api/v1/check", "/api/v1/audit", "/api/v1/deployments"]
results, lock = [], threading.Lock()
def client(c):
    for i in range(50):
        path = routes[(c + i) % 5]
        try:
            conn = http.client.HTTPSConnection(host.hostname, host.port, context=ctx, timeout=30)
            conn.request("GET", path, headers={"Authorization": "Bearer " + token})
            r = conn.getresponse(); body = r.read(); conn.close()
            json.loads(body); outcome = str(r.status)
        except Exception as e:
            outcome = type(e).__name__
        with lock: results.append((path, outcome))
start = time.monotonic()
threads = [threading.Thread(target=client, args=(c,)) for c in range(10)]
for t in threads: t.start()
for t in threads: t.join()
print("elapsed_ms %d" % ((time.monotonic() - start) * 1000))
for path, outcome in results: print(path, outcome)
PY
)
ms=$(printf '%s\n' "$OUT" | awk '/^elapsed_ms/ {print $2}')
expect_eq "$(printf '%s\n' "$OUT" | grep '^/' | awk '{print $2}' | sort | uniq -c | sed 's/^ *//')" "500 200" "10 clients x 50 token reads over five routes: all 200 and JSON"
expect_eq "$(printf '%s\n' "$OUT" | grep '^/' | awk '{print $1}' | sort -u | wc -l)" 5 "every route was read"
echo "concurrent: 500 token reads of 5 routes by 10 clients in ${ms} ms"

# --- openapi.json: every route the server registers is in it ----------------------------------
req GET /api/v1/openapi.json
expect_eq "$STATUS $(jget .openapi "$BODY")" "200 3.1.0" "GET /api/v1/openapi.json: an OpenAPI 3.1 document"
SRC="$KEYSAFE_TESTS/../server/web_server.cpp"
ROUTES=$(grep -oE 's\.(Get|Post|Delete|Put|Patch)\((R"\()?"?/api/v1/[^",)]*(\)[^"]*)?' "$SRC" |
  sed -E 's/^s\.([A-Za-z]+)\((R"\()?"?/\1 /; s/\(\[\^\/\]\+\)/{name}/; s/\(\.\*\)/{name}/; s/\)$//' | sort -u)
[ "$(printf '%s\n' "$ROUTES" | wc -l)" -ge 13 ] && ok || bad "the routes were read from web_server.cpp: $ROUTES"
while read -r method path; do
  m=$(printf '%s' "$method" | tr 'A-Z' 'a-z')
  printf '%s' "$BODY" | jq -e --arg p "$path" --arg m "$m" '.paths[$p][$m]' >/dev/null && ok || bad "openapi.json lacks $method $path"
done <<<"$ROUTES"
# And every GET route it lists answers something other than "no such route".
for path in $(printf '%s' "$BODY" | jq -r '.paths | to_entries[] | select(.value.get) | .key' | sed 's/{name}/www.example.com/'); do
  STATUS=$(curl -sk -o "$T/b" -w '%{http_code}' "$BASE$path")
  [ "$STATUS" = 404 ] && grep -q 'nothing here' "$T/b" && bad "openapi.json lists $path, which the server lacks" || ok
done

stop_server
finish
