#!/usr/bin/env bash
# keysafe renew of entries ordered by ACME, against a real Pebble (tests/pebble.sh) and a real
# nginx on loopback: renew NAME runs a new order with the stored account and challenge, the new
# certificate is installed and redeployed, and nginx serves it (openssl s_client); a new key by
# default, the same with --same-key; a refused order exits 15 and keeps the pending renewal,
# which the retry reuses. A backup --all restored into a new store renews there (ACME accounts
# and settings travel in backups).
# keysafe-test: sqlite-only — the ACME renewal logic is backend-neutral (cli.pg.acme covers the ACME tables on PostgreSQL); Pebble and nginx make it one of the slower scripts
# keysafe-test: run-serial — starts Pebble, pebble-challtestsrv, nginx and a web server
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
require_nginx
new_store
pebble_start || { bad "pebble did not start"; finish; exit 1; }
pebble_root root.pem

spki_of() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
# served: the leaf nginx serves for www.example.test, verified against Pebble's root.
served() {
  openssl s_client -connect "127.0.0.1:$PORT" -servername www.example.test -CAfile root.pem \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 2>/dev/null >served.pem
  if [ -s served.pem ]; then echo served.pem; else echo /dev/null; fi
}
current_leaf() { ks export "$1" --cert-only --format pem -o "$1-now.pem" --force >/dev/null; echo "$1-now.pem"; }

ks acme account create pebble --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account at Pebble"
ks acme issue www --dns www.example.test --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0 "acme issue www with --http-listen"

# --- deployed to nginx ------------------------------------------------------------------------
PORT=$(free_port)
mkdir -p tls
nginx_config "$(nginx_tls_server "$PORT" "$T/tls/fullchain.pem" "$T/tls/privkey.pem" www.example.test)"
ks deploy www --to tls --test-cmd "$NG -t -q"
expect_rc 0 "first deployment of www"
start_nginx
ks deploy www --to tls --reload-cmd "$NG -s reload" --probe "127.0.0.1:$PORT" --sni www.example.test
expect_rc 0 "deploy again with the reload and probe recorded"
L1=$(current_leaf www); cp "$L1" leaf1.pem
expect_eq "$(fp_of "$(served)")" "$(fp_of leaf1.pem)" "nginx serves the issued certificate (verified to Pebble's root)"

# --- renew NAME: a new key, a new order, redeployed ------------------------------------------
ks renew www --json
expect_rc 0 "renew of an ACME entry"
expect_eq "$(jget .completed)" true "the renewal completed"
expect_eq "$(jget .acme.account)" pebble "--json: the account"
expect_eq "$(jget .acme.challenge)" http-01-listen "--json: the stored challenge"
expect_in "https://127.0.0.1" "$(jget .acme.order_url)" "--json: the order URL is Pebble's"
expect_eq "$(jget .acme.replaces)" null "no replaces: Pebble 2.4.0 offers no renewalInfo"
REPLACED=$(jget .replaced_name)
expect_in "www.replaced-" "$REPLACED" "the old key is kept in history"
expect_in "127.0.0.1:$PORT" "$(jget .notes)" "the after-renewal redeploy ran"
L2=$(current_leaf www); cp "$L2" leaf2.pem
expect_eq "$(jget .certificate.fingerprint_sha256)" "$(fp_of leaf2.pem)" "the new certificate is current"
[ "$(spki_of leaf2.pem)" != "$(spki_of leaf1.pem)" ] && ok || bad "renew without --same-key changes the key"
expect_eq "$(fp_of "$(served)")" "$(fp_of leaf2.pem)" "nginx serves the renewed certificate"
ks show "$REPLACED" --json
expect_eq "$(jget .fingerprint_sha256)" "$(fp_of leaf1.pem)" "the replaced entry keeps the old certificate"

# --- renew --same-key ---------------------------------------------------------------------------
ks renew www --same-key --json
expect_rc 0 "renew --same-key of an ACME entry"
expect_eq "$(jget .replaced_name)" null "no entry replaced with the same key"
L3=$(current_leaf www); cp "$L3" leaf3.pem
expect_eq "$(spki_of leaf3.pem)" "$(spki_of leaf2.pem)" "--same-key keeps the public key"
[ "$(fp_of leaf3.pem)" != "$(fp_of leaf2.pem)" ] && ok || bad "--same-key still makes a new certificate"
expect_eq "$(fp_of "$(served)")" "$(fp_of leaf3.pem)" "nginx serves the same-key renewal"

# --- a refused order keeps the pending renewal; the retry reuses it -------------------------
mkdir -p www-root
python3 -m http.server --bind 127.0.0.1 --directory "$T/www-root" "$PEBBLE_HTTP_PORT" >web.log 2>&1 &
WEB_PID=$!
on_exit "kill $WEB_PID 2>/dev/null; wait $WEB_PID 2>/dev/null"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PEBBLE_HTTP_PORT/" >/dev/null && break; sleep 0.1; done
ks acme issue site --dns site.example.test --webroot www-root
expect_rc 0 "acme issue site with --webroot"
kill "$WEB_PID"; wait "$WEB_PID" 2>/dev/null
# Pebble reuses a valid authorization 1 time in 100 even at PEBBLE_AUTHZREUSE=0 (wfe.go tests
# rand.Intn(100) > percent), and then no challenge runs: renew again until one is asked for.
for _ in 1 2 3; do
  ks renew site
  case "$ERR" in *"the CA holds a valid authorization for site.example.test"*) continue ;; esac
  break
done
expect_rc 15 "renew while nothing serves the webroot: the CA refused (exit 15)"
expect_in "the CA refused the http-01 challenge" "$ERR" "the CA's refusal is shown"
ks show site.renewal --json
expect_eq "$(jget .state)" pending "the pending renewal is kept"
PENDING_SPKI=$(jget .spki_sha256)
python3 -m http.server --bind 127.0.0.1 --directory "$T/www-root" "$PEBBLE_HTTP_PORT" >web2.log 2>&1 &
WEB_PID=$!
on_exit "kill $WEB_PID 2>/dev/null; wait $WEB_PID 2>/dev/null"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PEBBLE_HTTP_PORT/" >/dev/null && break; sleep 0.1; done
ks renew site --json
expect_rc 0 "the retry renews"
expect_in "site.replaced-" "$(jget .replaced_name)" "the retry completed the renewal"
ks show site --json
expect_eq "$(jget .spki_sha256)" "$PENDING_SPKI" "the retry used the pending renewal's key"
kill "$WEB_PID"; wait "$WEB_PID" 2>/dev/null

ks check
expect_rc 0 "check passes after the renewals"

# --- ACME accounts and settings travel in backups; a restored ACME entry renews ----------------
export KEYSAFE_OUT_PASSPHRASE="acme backup pass" KEYSAFE_IN_PASSPHRASE="acme backup pass"
ks acme account show pebble --json
THUMB=$(jget .jwk_thumbprint)
ks backup www -o www.kbk --kdf-cost 10 --yes --json
expect_rc 0 "backup of one ACME entry"
expect_eq "$(jget .acme_accounts)/$(jget .acme_entries)" 1/1 "it carries the account the entry uses and its settings"
ks backup --all -o all.kbk --kdf-cost 10 --yes
expect_rc 0 "backup --all"
expect_in "with ACME: 1 account(s) (their keys) and 4 entries' ACME settings" "$OUT" "the backup says it holds ACME"
use_store restored
new_store
ks restore all.kbk --dry-run
expect_in "acme-account create  pebble" "$OUT" "the plan names the account"
expect_in "acme-settings create  www: account \"pebble\", http-01-listen 127.0.0.1:$PEBBLE_HTTP_PORT" "$OUT" \
  "and the entry's ACME settings"
ks restore all.kbk
expect_rc 0 "restore into a new, empty store"
ks acme account show pebble --json
expect_eq "$(jget .jwk_thumbprint)/$(jget .directory_ca)" "$THUMB/true" "the account, its key and its CA file are back"
ks show www --json
expect_eq "$(jget .acme.account)/$(jget .acme.challenge)" pebble/http-01-listen "www's ACME settings are back"
ks renew www --json
expect_rc 0 "renew of the restored ACME entry in the new store"
expect_in "https://127.0.0.1" "$(jget .acme.order_url)" "a new order at Pebble"
L4=$(current_leaf www); cp "$L4" leaf4.pem
expect_eq "$(fp_of "$(served)")" "$(fp_of leaf4.pem)" "nginx serves the certificate renewed from the restored store"
ks restore all.kbk --json
expect_eq "$(jget '[.acme_accounts[].action, .acme_entries[].action] | unique | join(",")')" \
  "unchanged" "restoring again changes nothing ACME"
ks check
expect_rc 0 "check passes on the restored store"
ks audit --verify
expect_rc 0 "its audit chain verifies"
finish
