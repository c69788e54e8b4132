#!/usr/bin/env bash
# ARI (RFC 9773) in renew --all, end to end: Pebble 2.4.0 has no renewalInfo, so a stand-in
# (tests/tools/ari_directory.py) serves Pebble's directory with renewalInfo added and chooses
# each certificate's window by its certID. An entry whose window has passed is renewed though
# its certificate has 5 years left (due: ari-window, replaces = its certID as openssl computes
# it); one whose window is a month away is listed not-due; a hostile renewalInfo document is
# named and the entry falls back to --due. renew NAME of a single entry sends replaces too (the
# stand-in forwards the orders to Pebble and logs what each newOrder carried).
# keysafe-test: sqlite-only — ARI is backend-neutral; Pebble makes it one of the slower scripts
# keysafe-test: run-serial — starts Pebble, pebble-challtestsrv and an HTTPS stand-in
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
new_store
pebble_start || { bad "pebble did not start"; finish; exit 1; }

ARI_PORT=$(free_port)
mkdir -p ari
PEBBLE_DIR=$(dirname "$PEBBLE_CA")
python3 "$KEYSAFE_TESTS/tools/ari_directory.py" "$ARI_PORT" "$PEBBLE_DIRECTORY" "$PEBBLE_CA" \
  "$PEBBLE_DIR/cert.pem" "$PEBBLE_DIR/key.pem" "$T/ari" >ari.out 2>&1 &
ARI_PID=$!
on_exit "kill $ARI_PID 2>/dev/null; wait $ARI_PID 2>/dev/null"
ARI_DIRECTORY="https://127.0.0.1:$ARI_PORT/dir"
for _ in $(seq 1 100); do curl -sf --cacert "$PEBBLE_CA" "$ARI_DIRECTORY" >/dev/null && break; sleep 0.1; done
expect_in "renewalInfo" "$(curl -sf --cacert "$PEBBLE_CA" "$ARI_DIRECTORY")" "the stand-in directory offers renewalInfo"

b64url() { xxd -r -p | base64 -w0 | tr '+/' '-_' | tr -d '='; }
# cert_id NAME: RFC 9773 §4.1 certID of the entry's certificate, computed with openssl.
cert_id() {
  ks export "$1" --cert-only --format pem -o "$1.pem" --force >/dev/null
  local kid serial
  kid=$(openssl x509 -in "$1.pem" -noout -ext authorityKeyIdentifier | tail -n +2 | tr -d ' :\n' | sed 's/^keyid//')
  serial=$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)
  [ $((${#serial} % 2)) = 1 ] && serial="0$serial"
  case "$serial" in [89A-Fa-f]*) serial="00$serial" ;; esac
  echo "$(printf '%s' "$kid" | b64url).$(printf '%s' "$serial" | b64url)"
}

ks acme account create ari --directory "$ARI_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account through the stand-in directory"
for n in now later hostile; do
  ks acme issue "$n" --dns "$n.example.test" --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  expect_rc 0 "acme issue $n"
done
NOW_ID=$(cert_id now)
cert_id later >ari/later
cert_id hostile >ari/bad
expect_in "." "$NOW_ID" "a certID for now"

ks renew --all --due 1 --json
expect_rc 0 "renew --all --due 1 with ARI"
expect_eq "$(jget .renewed)" 1 "one entry renewed (its window has passed)"
expect_eq "$(jget '.entries[0].name')" later "later is listed..."
expect_eq "$(jget '.entries[0].status')" not-due "...as not due"
expect_eq "$(jget '.entries[0].due')" ari-window "...because of its ARI window"
expect_eq "$(jget '.entries[0].ari.cert_id')" "$(cat ari/later)" "later's certID as openssl computes it"
expect_eq "$(jget '.entries[0].ari.explanation_url')" "https://ca.example/why" "the CA's explanation URL"
expect_in "T" "$(jget '.entries[0].ari.retry_after')" "Retry-After is reported"
expect_eq "$(jget '.entries[1].name')" now "now is renewed..."
expect_eq "$(jget '.entries[1].status')" renewed "...renewed"
expect_eq "$(jget '.entries[1].due')" ari-window "...because its ARI window has passed (5 years left)"
expect_eq "$(jget '.entries[1].ari.cert_id')" "$NOW_ID" "now's certID as openssl computes it"
expect_eq "$(jget '.entries[1].renewal.acme.replaces')" "$NOW_ID" "the order replaces that certID"
expect_eq "$(jget '.entries | length')" 2 "hostile is not listed: its document is refused, and --due 1 is not due"
expect_in "/ari/$(cat ari/bad)" "$(cat ari/log)" "hostile's renewalInfo was asked"
ks renew --all --due 1
expect_in "not due \"later\": the CA's renewal window (ARI)" "$OUT" "the text output says why later is not due"
expect_not_in "renewed \"hostile\"" "$OUT" "hostile is not renewed"
expect_eq "$(jq -r 'select(.replaces != null) | .replaces' ari/orders | head -n 1)" "$NOW_ID" \
  "the first order with replaces Pebble got names now's certID (the stand-in logs newOrder payloads)"

# --- renew NAME asks the window too and sends replaces, though the window is a month away ------
ks renew later --json
expect_rc 0 "renew later (a single entry: the administrator's word, not the window, decides)"
expect_eq "$(jget .acme.replaces)" "$(cat ari/later)" "--json: the order replaces later's certID"
expect_eq "$(tail -n 1 ari/orders | jq -r .replaces)" "$(cat ari/later)" "the newOrder Pebble got says replaces"
ks check
expect_rc 0 "check passes"
finish
