#!/usr/bin/env bash
# keysafe-test: sqlite-only — the ACME protocol's account features; the store part is cli.pg.acme's
# keysafe-test: run-serial — starts Pebble and pebble-challtestsrv
# What a CA may ask of an account and offer for an order, against real Pebbles: external
# account binding (a Pebble with externalAccountBindingRequired and an EAB key); account
# deactivation and revocation (Pebble's management API says "Revoked"); account key rollover
# (a copy of the store made before it signs with the old key: refused); alternate chains
# (--preferred-chain, stored with the entry: its renewal installs the same chain); a name the
# CA's policy refuses.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
new_store

# --- external account binding -------------------------------------------------------------------
EAB_KEY=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
PEBBLE_CONFIG_EXTRA="\"externalAccountBindingRequired\":true,\"externalAccountMACKeys\":{\"kid-1\":\"$EAB_KEY\"}" \
  pebble_start || { bad "the EAB pebble did not start"; finish; exit 1; }
printf '%s\n' "$EAB_KEY" >eab.key
printf '%s\n' "${EAB_KEY%?}A" >wrong.key
chmod 600 eab.key wrong.key
H0=$(store_hash)
ks acme account create eab --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 15 "without EAB the CA refuses the account (exit 15)"
expect_in "external account binding" "$ERR" "the error says the CA requires an external account binding"
expect_in "--eab-kid" "$ERR" "the fix names --eab-kid"
ks acme account create eab --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos --eab-kid kid-1 --eab-hmac-key-file wrong.key
expect_rc 15 "a wrong HMAC key is refused by the CA (exit 15)"
ks acme account create eab --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos --eab-kid kid-2 --eab-hmac-key-file eab.key
expect_rc 15 "an unknown key id is refused by the CA (exit 15)"
ks acme account create eab --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos --eab-kid kid-1
expect_rc 2 "--eab-kid without --eab-hmac-key-file is a usage error"
printf 'not base64url!\n' >bad.key
ks acme account create eab --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos --eab-kid kid-1 --eab-hmac-key-file bad.key
expect_rc 1 "an HMAC key file that is not base64url is refused before asking the CA"
expect_in "holds no base64url HMAC key" "$ERR" "the error says what the file lacks"
expect_eq "$(store_hash)" "$H0" "nothing stored after the refusals"
ks acme account create eab --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos --eab-kid kid-1 --eab-hmac-key-file eab.key --json
expect_rc 0 "with the CA's key id and HMAC key the account is created"
expect_eq "$(jget .status)" valid "the account is valid"
ks audit --json
expect_in "external account kid-1" "$OUT" "the binding is audited"
expect_not_in "$EAB_KEY" "$(cat "$KEYSAFE_STORE" | tr -d '\0' | strings)" "the HMAC key is not stored"

# --- a second Pebble: deactivation, revocation ----------------------------------------------------
PEBBLE_CONFIG_EXTRA='"domainBlocklist":["blocked.example.test"]' \
  pebble_start PEBBLE_ALTERNATE_ROOTS=1 || { bad "the second pebble did not start"; finish; exit 1; }
ks acme account create main --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account at the second Pebble"
ks acme issue rv --dns rv.example.test --account main --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --json
expect_rc 0 "a certificate to revoke"
SERIAL=$(jget .serial)
cert_status() { curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/cert-status-by-serial/$1"; }
expect_in '"Status": "Valid"' "$(cert_status "$SERIAL")" "Pebble says the new certificate is valid"
ks acme revoke rv --reason stolen
expect_rc 2 "an unknown reason is a usage error"
expect_in "keyCompromise" "$ERR" "the error lists the reasons"
ks acme revoke nosuch
expect_rc 1 "revoking an unknown entry fails"
ks acme revoke rv --reason keyCompromise --json
expect_rc 0 "acme revoke"
expect_eq "$(jget .serial)" "$SERIAL" "the revoked serial"
expect_eq "$(jget .reason)" keyCompromise "the reason"
STATUS=$(cert_status "$SERIAL")
expect_in '"Status": "Revoked"' "$STATUS" "Pebble's management API says the certificate is revoked"
expect_in '"Reason": 1' "$STATUS" "for keyCompromise (1)"
ks acme revoke rv
expect_rc 15 "revoking it again is the CA's refusal (exit 15)"
expect_in "revoked already" "$ERR" "alreadyRevoked in words"

# --- --preferred-chain: Pebble offers a chain to a second root (PEBBLE_ALTERNATE_ROOTS=1) -----------
curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/0" >root0.pem
curl -sf --cacert "$PEBBLE_CA" "$PEBBLE_MGMT/roots/1" >root1.pem
ROOT1_CN=$(openssl x509 -in root1.pem -noout -subject -nameopt RFC2253 | sed 's/^subject=CN=//')
expect_in "Pebble Root CA" "$ROOT1_CN" "the alternate root's CN from the management API"
verify_chain() { # FILE ROOT: the exported chain's leaf verifies to ROOT through its intermediates
  openssl x509 -in "$1" -out "$1.leaf" 2>/dev/null
  awk 'f{print} /END CERTIFICATE/{f=1}' "$1" >"$1.issuers"
  openssl verify -CAfile "$2" -untrusted "$1.issuers" "$1.leaf" >/dev/null 2>&1 && echo OK || echo FAILS
}
ks acme issue pc --dns pc.example.test --account main --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --preferred-chain "$ROOT1_CN" --json
expect_rc 0 "acme issue --preferred-chain with the alternate root's CN"
expect_eq "$(jget .chains_offered)" 2 "the CA offered two chains"
expect_eq "$(jget .chain_top_issuer)" "$ROOT1_CN" "the installed chain ends below the chosen root"
ks export pc --cert-only --chain --format pem -o pc-chain.pem
expect_eq "$(verify_chain pc-chain.pem root1.pem)" OK "the chosen chain verifies to /roots/1"
expect_eq "$(verify_chain pc-chain.pem root0.pem)" FAILS "and not to /roots/0"
ks show pc --json
expect_eq "$(jget .acme.preferred_chain)" "$ROOT1_CN" "the preferred chain is stored with the entry"
ks renew pc --json
expect_rc 0 "renew of the entry ordered with --preferred-chain"
expect_eq "$(jget .acme.preferred_chain)" "$ROOT1_CN" "the renewal asked for the stored chain"
expect_eq "$(jget .acme.chain_top_issuer)" "$ROOT1_CN" "and installed it"
ks export pc --cert-only --chain --format pem -o pc-renewed.pem
expect_eq "$(verify_chain pc-renewed.pem root1.pem)" OK "the renewed chain verifies to /roots/1"
expect_eq "$(verify_chain pc-renewed.pem root0.pem)" FAILS "and not to /roots/0 (the CA's default)"
ks acme issue pd --dns pd.example.test --account main --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --preferred-chain "No Such Root"
expect_rc 0 "a preferred chain the CA does not offer still issues"
expect_in "none of the 2 chain(s) the CA offers has a certificate issued by \"No Such Root\"" "$ERR" \
  "with a warning naming the CN"
ks export pd --cert-only --chain --format pem -o pd-chain.pem
expect_eq "$(verify_chain pd-chain.pem root0.pem)" OK "the default chain verifies to /roots/0"

# --- a name the CA's policy refuses (Pebble's domainBlocklist) --------------------------------------
ks list --json
COUNT=$(jget '. | length')
ks acme issue blocked --dns www.blocked.example.test --account main --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 15 "a name the CA's policy refuses is a CA refusal (exit 15)"
expect_in "the CA's policy refuses to issue for this name" "$ERR" "rejectedIdentifier in words"
expect_in "rejectedIdentifier" "$ERR" "the CA's problem type"
expect_in "blocked.example.test" "$ERR" "the CA's detail names the name"
ks show blocked --json
expect_eq "$(jget .state)" pending "the pending entry is kept"
expect_eq "$(jget .acme)" null "without ACME settings"
ks list --json
expect_eq "$(jget '. | length')" "$((COUNT + 1))" "and nothing else was added"
H1=$(store_hash)
ks acme issue bad --dns -bad.example.test --account main --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 2 "an invalid DNS name is refused before anything is asked (usage, exit 2)"
expect_in "is not a valid DNS name" "$ERR" "the error says the name is invalid"
expect_eq "$(store_hash)" "$H1" "and nothing is stored"

# --- account key rollover (RFC 8555 §7.3.5, Pebble's keyChange) --------------------------------------
ks acme account show main --json
OLD_THUMB=$(jget .jwk_thumbprint)
cp "$KEYSAFE_STORE" before-rollover.db  # a copy that keeps the old key
ks acme account rollover main --key rsa-3072
expect_rc 2 "a rollover to a key type JWS does not sign is a usage error"
ks acme account rollover nosuch
expect_rc 1 "a rollover of an unknown account fails"
ks acme account rollover main --key ec-p384 --json
expect_rc 0 "acme account rollover"
expect_eq "$(jget .old_jwk_thumbprint)" "$OLD_THUMB" "the answer names the old key"
ks acme account show main --json
NEW_THUMB=$(jget .jwk_thumbprint)
expect_eq "$(jget .key_algorithm)" ec-p384 "show: the new key's algorithm"
[ -n "$NEW_THUMB" ] && [ "$NEW_THUMB" != "$OLD_THUMB" ] && ok || bad "show: a new key thumbprint ($NEW_THUMB, was $OLD_THUMB)"
ks acme issue rk --dns rk.example.test --account main --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0 "an order signed by the new key is accepted"
KEYSAFE_STORE=$T/before-rollover.db ks acme issue ro --dns ro.example.test --account main \
  --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 15 "an order signed by the old key (the copy made before) is refused by the CA"
expect_in "the CA refused the order" "$ERR" "the CA's refusal"
H_OLD=$(sha256sum before-rollover.db | cut -d' ' -f1)
KEYSAFE_STORE=$T/before-rollover.db ks acme account rollover main
expect_rc 15 "a rollover the CA refuses (signed by the old key) is exit 15"
expect_in "the CA refused the account key rollover" "$ERR" "the error says what was refused"
expect_in "the CA said" "$ERR" "with the CA's detail"
expect_eq "$(sha256sum before-rollover.db | cut -d' ' -f1)" "$H_OLD" "the refused rollover left that store as it was"

ks acme account create spare --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email b@example.test --agree-tos
ks acme account deactivate spare </dev/null
expect_rc 6 "deactivation without --yes and without a terminal is refused"
ks acme account show spare --json
expect_eq "$(jget .status)" valid "the account is still valid"
ks acme account deactivate spare --yes --json
expect_rc 0 "acme account deactivate --yes"
expect_eq "$(jget .status)" deactivated "the CA's status is deactivated"
ks acme account show spare --json
expect_eq "$(jget .status)" deactivated "show: the status is recorded"
ks acme issue late --dns late.example.test --account spare --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 6 "an order with the deactivated account is refused"
ks acme account rollover spare
expect_rc 6 "a rollover of the deactivated account is refused before the CA is asked"
expect_in "the ACME account \"spare\" is deactivated" "$ERR" "the error names the account and its status"
ks show late --json
expect_rc 1 "nothing was made for the refused order"
ks acme account deactivate spare --yes
expect_rc 6 "deactivating it again is refused"

ks check
expect_rc 0 "check passes (the updated account row's MAC verifies)"
ks audit --verify
expect_rc 0 "the audit chain verifies"
ks audit --json
expect_in "acme-revoked" "$OUT" "the revocation is audited"
expect_in "acme-account-deactivated" "$OUT" "the deactivation is audited"
expect_in "acme-account-key-rolled-over" "$OUT" "the rollover is audited"
expect_in "$NEW_THUMB" "$OUT" "with the new key's thumbprint"

finish
