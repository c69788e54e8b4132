#!/usr/bin/env bash
# acme account create|list|show and acme issue (DNS names and --ip) against a real Pebble with real HTTP-01
# validation (tests/pebble.sh): answered by keysafe itself (--http-listen) and by files in a
# webroot served by a separate web server (--webroot); the installed chain verifies to Pebble's
# root with openssl; refusals (a wrong CA file, nothing answering the challenge) are specific
# errors with their exit codes, and leave the store as documented.
# keysafe-test: run-serial — starts Pebble, pebble-challtestsrv and a web server
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
new_store
pebble_start || { bad "pebble did not start"; finish; exit 1; }

leaf_spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }

# --- accounts -----------------------------------------------------------------------------------
make_ca wrong
H0=$(store_hash)
ks acme account create --directory "$PEBBLE_DIRECTORY" --directory-ca-file wrong.pem \
  --email a@example.test --agree-tos
expect_rc 1 "an account whose directory's HTTPS does not verify under the CA file fails"
expect_in "could not be verified" "$ERR" "the error says the server could not be verified"
expect_in "wrong.pem" "$ERR" "the error names the CA file it trusted"
expect_in "--directory-ca-file" "$ERR" "the fix names the option"
expect_eq "$(store_hash)" "$H0" "the store is unchanged after the failed account"
ks acme account create --directory "$PEBBLE_DIRECTORY" --email a@example.test --agree-tos
expect_rc 1 "without a CA file Pebble's private CA is not trusted (system store)"
expect_in "system store" "$ERR" "the error says it trusted the system store"
expect_eq "$(store_hash)" "$H0" "the store is unchanged after that too"
ks acme account create --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" --email a@example.test
expect_rc 2 "an account without --agree-tos is a usage error"
expect_in "--agree-tos" "$ERR" "the error names --agree-tos"
ks acme account create --directory "http://127.0.0.1:1/dir" --email a@example.test --agree-tos
expect_rc 2 "a directory that is not https is a usage error"
ks acme account create --directory "https://127.0.0.1:$(free_port)/dir" --email a@example.test --agree-tos
expect_rc 1 "a directory where nothing listens fails"
expect_in "could not be reached" "$ERR" "the error says the server could not be reached"
expect_eq "$(store_hash)" "$H0" "the store is unchanged after both"

ks acme account create pebble --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos --json
expect_rc 0 "an account at Pebble"
expect_eq "$(jget .status)" valid "the CA says the account is valid"
expect_eq "$(jget .directory)" "$PEBBLE_DIRECTORY" "the directory is recorded"
expect_in "https://127.0.0.1" "$(jget .account_url)" "the account URL is the CA's"
expect_eq "$(jget .contact)" '["mailto:a@example.test"]' "the contact is recorded"
expect_eq "$(jget .key_algorithm)" ec-p256 "the default account key is P-256"
ks acme account create pebble --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 6 "a second account of the same name is refused"
# KEYSAFE_ACME_CA_FILE instead of the option, and an RSA account key (RS256).
KEYSAFE_ACME_CA_FILE="$PEBBLE_CA" ks acme account create rsa --directory "$PEBBLE_DIRECTORY" \
  --email b@example.test --agree-tos --key rsa-2048 --json
expect_rc 0 "an RSA account with the CA file from KEYSAFE_ACME_CA_FILE"
expect_eq "$(jget .key_algorithm)" rsa-2048 "its key is RSA"
expect_eq "$(jget .directory_ca)" true "the CA file is stored with the account"
ks acme account list --json
expect_rc 0 "account list"
expect_eq "$(jget '. | length')" 2 "two accounts listed"
expect_eq "$(jget '.[0].name')" pebble "in name order"
ks acme account list
expect_in "pebble  $PEBBLE_DIRECTORY  valid  ec-p256" "$OUT" "the text listing names the account"
ks acme account show rsa
expect_rc 0 "account show"
expect_in "its own CA file" "$OUT" "show says the directory has its own CA file"
ks acme account show nosuch
expect_rc 1 "showing an unknown account fails"
expect_in "no ACME account" "$ERR" "and says so"
# The account key is sealed: no PEM private key in the store file.
if on_sqlite; then
  if grep -qa "PRIVATE KEY" "$KEYSAFE_STORE"; then bad "a private key in clear in the store"; else ok; fi
fi

# --- issue: HTTP-01 answered by keysafe itself ------------------------------------------------
pebble_root root.pem
expect_in "BEGIN CERTIFICATE" "$(cat root.pem)" "Pebble's root from its management API"
ks acme issue web --dns a.example.test --dns b.example.test --account pebble \
  --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --json
expect_rc 0 "acme issue with --http-listen"
expect_eq "$(jget .entry_created)" true "a new entry was made"
expect_eq "$(jget .challenge)" http-01-listen "the challenge is recorded"
SPKI=$(jget .spki_sha256)
ks export web --cert-only --chain --format pem -o web-chain.pem
expect_rc 0 "export the certificate and chain"
openssl x509 -in web-chain.pem -out web-leaf.pem 2>/dev/null
awk 'f{print} /END CERTIFICATE/{f=1}' web-chain.pem >web-issuers.pem
OV=$(openssl verify -CAfile root.pem -untrusted web-issuers.pem web-leaf.pem 2>&1)
expect_eq "$OV" "web-leaf.pem: OK" "the installed chain verifies to Pebble's root with openssl"
expect_eq "$(leaf_spki web-leaf.pem)" "$SPKI" "the certificate carries the stored key"
SAN=$(openssl x509 -in web-leaf.pem -noout -ext subjectAltName 2>/dev/null)
expect_in "DNS:a.example.test" "$SAN" "the first name is in the certificate"
expect_in "DNS:b.example.test" "$SAN" "the second name is in the certificate"
ks show web --json
expect_eq "$(jget .state)" installed "show: the entry is installed"
expect_eq "$(jget .acme.account)" pebble "show: the entry's ACME account"
expect_eq "$(jget .acme.directory)" "$PEBBLE_DIRECTORY" "show: the entry's ACME directory"
expect_eq "$(jget .acme.challenge)" http-01-listen "show: the entry's challenge"

# --- issue: HTTP-01 from a webroot served by another web server -------------------------------
mkdir -p www
python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$PEBBLE_HTTP_PORT" >web.log 2>&1 &
WEB_PID=$!
on_exit "kill $WEB_PID 2>/dev/null; wait $WEB_PID 2>/dev/null"
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PEBBLE_HTTP_PORT/" >/dev/null && break; sleep 0.1; done
ks create site --dns c.example.test --key ec-p384 -o site.req
expect_rc 0 "a pending entry made by create"
SITE_SPKI=$(openssl req -in site.req -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
ks acme issue site --account pebble --webroot www
expect_rc 0 "acme issue of the pending entry with --webroot"
expect_in "issued and installed the certificate of \"site\"" "$OUT" "the summary names the entry"
expect_in "validated c.example.test" "$ERR" "progress says the name was validated"
expect_in "GET /.well-known/acme-challenge/" "$(cat web.log)" "the CA fetched the token from the web server"
if [ -e www/.well-known ]; then bad "the token files and directories were not removed: $(find www)"; else ok; fi
ks export site --cert-only --chain --format pem -o site-chain.pem
openssl x509 -in site-chain.pem -out site-leaf.pem 2>/dev/null
awk 'f{print} /END CERTIFICATE/{f=1}' site-chain.pem >site-issuers.pem
expect_eq "$(openssl verify -CAfile root.pem -untrusted site-issuers.pem site-leaf.pem 2>&1)" \
  "site-leaf.pem: OK" "the webroot certificate verifies to Pebble's root"
expect_eq "$(leaf_spki site-leaf.pem)" "$SITE_SPKI" "it carries the pending entry's own key (its request)"
ks show site --json
expect_eq "$(jget .acme.challenge)" http-01-webroot "show: the webroot challenge"
expect_eq "$(jget .acme.challenge_param)" "$T/www" "show: the webroot directory, absolute"
kill "$WEB_PID" 2>/dev/null; wait "$WEB_PID" 2>/dev/null

# --- issue: an IP identifier (RFC 8738) beside a DNS name, both by HTTP-01 ----------------------
ks acme issue addr --ip 127.0.0.1 --dns ip.example.test --account pebble \
  --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --json
expect_rc 0 "acme issue with --ip and --dns"
ks export addr --cert-only --format pem -o addr-leaf.pem
SAN=$(openssl x509 -in addr-leaf.pem -noout -ext subjectAltName 2>/dev/null)
expect_in "IP Address:127.0.0.1" "$SAN" "the certificate carries the IP address"
expect_in "DNS:ip.example.test" "$SAN" "and the DNS name"
ks acme issue addr6 --ip 127.0.0.1 --account pebble --dns-hook true
expect_rc 2 "an IP address with DNS-01 is a usage error"
expect_in "cannot be validated by DNS-01" "$ERR" "the error says why"

# --- refusals ---------------------------------------------------------------------------------
# Nothing answers on the validator's port: the CA's own words, exit 15, the pending entry kept.
ks acme issue down --dns d.example.test --account pebble --http-listen "127.0.0.1:$(free_port)"
expect_rc 15 "a challenge nobody answers is a CA refusal (exit 15)"
expect_in "the CA refused the http-01 challenge for d.example.test" "$ERR" "the error names the challenge and name"
expect_in "connection" "$ERR" "the CA's detail says what it saw"
ks show down --json
expect_eq "$(jget .state)" pending "the pending entry is kept for a retry"
ks acme issue down --account pebble --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0 "the retry with a listener the CA reaches reuses the pending entry"
ks show down --json
expect_eq "$(jget .state)" installed "the pending entry is installed by the retry"
ks acme issue web --dns a.example.test --account pebble --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 6 "acme issue of an entry with a certificate is refused"
ks acme issue x --dns x.example.test --account pebble
expect_rc 2 "acme issue without a challenge method is a usage error"
ks acme issue x --dns x.example.test --account pebble --http-listen 127.0.0.1:1 --webroot www
expect_rc 2 "--http-listen and --webroot together are a usage error"
ks acme issue x --dns x.example.test --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 2 "with two accounts, --account is needed"
expect_in "--account" "$ERR" "the error names --account"

# --- badNonce: a second Pebble rejecting half of all nonces -----------------------------------
FIRST_DIRECTORY=$PEBBLE_DIRECTORY
pebble_start PEBBLE_WFE_NONCEREJECT=50 || { bad "the second pebble did not start"; finish; exit 1; }
ks acme account create nonces --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account while Pebble rejects 50 % of nonces (badNonce retried)"
ks acme issue nonce --dns n.example.test --account nonces --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0 "issuance while Pebble rejects 50 % of nonces"
ks show nonce --json
expect_eq "$(jget .state)" installed "the entry is installed despite the rejected nonces"
expect_eq "$(jget .acme.directory)" "$PEBBLE_DIRECTORY" "ordered from the second Pebble"
expect_not_in "$FIRST_DIRECTORY" "$(jget .acme.directory)" "not from the first"

# --- the store as a whole ---------------------------------------------------------------------
ks check
expect_rc 0 "check passes with the ACME rows (their MACs verify)"
ks audit --verify
expect_rc 0 "the audit chain verifies"
ks audit --json
expect_in "acme-account-created" "$OUT" "account creation is audited"
expect_in "acme-issued" "$OUT" "issuance is audited"

finish
