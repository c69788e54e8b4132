#!/usr/bin/env bash
# keysafe-test: sqlite-only — the ACME protocol's account features; the store part is cli.pg.acme's
# keysafe-test: run-serial — starts Pebble and pebble-challtestsrv
# What a CA may ask of an account and offer for an order, against real Pebbles: external
# account binding (a Pebble with externalAccountBindingRequired and an EAB key).
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

finish
