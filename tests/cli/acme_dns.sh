#!/usr/bin/env bash
# keysafe-test: sqlite-only — DNS-01 is the ACME client's logic, the store part is cli.pg.acme's
# keysafe-test: run-serial — starts Pebble and pebble-challtestsrv
# acme issue with DNS-01 against a real Pebble whose DNS is pebble-challtestsrv: the
# --dns-hook command adds and removes the TXT records through challtestsrv's management API,
# keysafe waits at --dns-resolver (challtestsrv's DNS) until they are served; a wildcard and
# its base name; the hook's environment has no secret; a failing hook, a record that never
# appears and a record the CA does not find are specific errors that keep the pending entry.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
new_store
pebble_start || { bad "pebble did not start"; finish; exit 1; }

# The hook: logs each call and its environment, then sets or clears the record in challtestsrv.
cat >hook.sh <<H
#!/bin/sh
echo "\$KEYSAFE_ACME_ACTION \$KEYSAFE_ACME_DOMAIN \$KEYSAFE_ACME_TXT_NAME \$KEYSAFE_ACME_TXT_VALUE" >>"$T/hook.log"
env >>"$T/hook.env"
case "\$KEYSAFE_ACME_ACTION" in
  add) curl -sf -d "{\"host\":\"\$KEYSAFE_ACME_TXT_NAME.\",\"value\":\"\$KEYSAFE_ACME_TXT_VALUE\"}" "$CHALLTEST_MGMT/set-txt" ;;
  remove) curl -sf -d "{\"host\":\"\$KEYSAFE_ACME_TXT_NAME.\"}" "$CHALLTEST_MGMT/clear-txt" ;;
  *) exit 9 ;;
esac
H
chmod 755 hook.sh

ks acme account create pebble --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account at Pebble"
pebble_root root.pem

# --- a wildcard and its base name, the records checked at challtestsrv's DNS ---------------------
ks acme issue wild --dns '*.w.example.test' --dns w.example.test \
  --dns-hook "$T/hook.sh" --dns-resolver "$CHALLTEST_DNS" --json
expect_rc 0 "acme issue of a wildcard and its base name by DNS-01"
expect_eq "$(jget .challenge)" dns-01-hook "the challenge is recorded as dns-01-hook"
expect_eq "$(jget .challenge_param)" "{\"hook\":\"$T/hook.sh\",\"resolver\":\"$CHALLTEST_DNS\"}" \
  "the hook and resolver are its parameter"
LOG=$(cat hook.log)
expect_in "add *.w.example.test _acme-challenge.w.example.test " "$LOG" "the hook added the wildcard's record"
expect_in "add w.example.test _acme-challenge.w.example.test " "$LOG" "and the base name's record"
expect_eq "$(grep -c '^add ' hook.log)" 2 "two records added"
expect_eq "$(grep -c '^remove ' hook.log)" 2 "both removed afterwards"
expect_eq "$(grep '^add ' hook.log | cut -d' ' -f4 | sort -u | wc -l)" 2 "with two different values"
expect_eq "$(grep '^add ' hook.log | cut -d' ' -f4 | grep -cE '^[A-Za-z0-9_-]{43}$')" 2 \
  "each value is a base64url SHA-256 (43 characters)"
ENV=$(cat hook.env)
expect_in "KEYSAFE_ACME_ACTION=remove" "$ENV" "the environment dump is there to check"
expect_not_in "KEYSAFE_PASSPHRASE=" "$ENV" "the hook does not see the passphrase variable"
expect_not_in "$KEYSAFE_PASSPHRASE" "$ENV" "nor the passphrase"
ks export wild --cert-only --chain --format pem -o wild-chain.pem
openssl x509 -in wild-chain.pem -out wild-leaf.pem 2>/dev/null
awk 'f{print} /END CERTIFICATE/{f=1}' wild-chain.pem >wild-issuers.pem
expect_eq "$(openssl verify -CAfile root.pem -untrusted wild-issuers.pem wild-leaf.pem 2>&1)" \
  "wild-leaf.pem: OK" "the DNS-01 certificate verifies to Pebble's root"
SAN=$(openssl x509 -in wild-leaf.pem -noout -ext subjectAltName 2>/dev/null)
expect_in "DNS:*.w.example.test" "$SAN" "the certificate has the wildcard"
expect_in "DNS:w.example.test" "$SAN" "and the base name"
ks show wild --json
expect_eq "$(jget .acme.challenge)" dns-01-hook "show: the entry's challenge"
expect_eq "$(jget .acme.challenge_param)" "{\"hook\":\"$T/hook.sh\",\"resolver\":\"$CHALLTEST_DNS\"}" \
  "show: the stored hook and resolver"

# --- failures -------------------------------------------------------------------------------------
# A hook that fails on add: its output in the error, remove still run, the pending entry kept.
cat >fail.sh <<'H'
#!/bin/sh
echo "$KEYSAFE_ACME_ACTION" >>"$KEYSAFE_TEST_LOG"
[ "$KEYSAFE_ACME_ACTION" = remove ] && exit 0
echo "no API token for zone example.test" >&2
exit 3
H
chmod 755 fail.sh
export KEYSAFE_TEST_LOG="$T/fail.log"
ks acme issue failing --dns f.example.test --dns-hook "$T/fail.sh"
expect_rc 1 "a failing --dns-hook fails the issue (exit 1)"
expect_in "the --dns-hook command failed to add the TXT record _acme-challenge.f.example.test" "$ERR" \
  "the error names the hook and the record"
expect_in "exit status 3" "$ERR" "and the hook's exit status"
expect_in "no API token for zone example.test" "$ERR" "and its output"
expect_eq "$(tr '\n' ' ' <fail.log)" "add remove " "remove ran after the failed add"
ks show failing --json
expect_eq "$(jget .state)" pending "the pending entry is kept"
expect_eq "$(jget .acme)" null "and nothing else: no ACME settings stored"
ks acme issue failing --json --dns-hook "$T/fail.sh"
expect_rc 1 "again with --json"
expect_eq "$(jget .error.code)" deploy-failed "the JSON error code"

# A hook that adds nothing while keysafe watches the resolver: a bounded wait, then an error.
ks acme issue silent --dns s.example.test --dns-hook true --dns-resolver "$CHALLTEST_DNS" --dns-wait 2
expect_rc 1 "a record that never appears at the resolver fails after --dns-wait"
expect_in "the TXT record _acme-challenge.s.example.test did not appear at the DNS server $CHALLTEST_DNS within 2 s" \
  "$ERR" "the error names the record, the server and the bound"
# The same without --dns-resolver: the CA looks, finds nothing, and refuses (exit 15).
ks acme issue silent --dns-hook true
expect_rc 15 "a record the CA does not find is a CA refusal (exit 15)"
expect_in "the CA refused the dns-01 challenge for s.example.test" "$ERR" "the error names the challenge"
expect_in "_acme-challenge.s.example.test" "$ERR" "the CA's detail names the record it looked up"
ks show silent --json
expect_eq "$(jget .state)" pending "the pending entry is kept after both"
# The retry with the working hook reuses the pending entry.
ks acme issue silent --dns-hook "$T/hook.sh" --dns-resolver "$CHALLTEST_DNS"
expect_rc 0 "the retry with a working hook"
ks show silent --json
expect_eq "$(jget .state)" installed "the pending entry is installed by the retry"

# Usage errors.
ks acme issue x --dns '*.x.example.test' --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 2 "a wildcard with HTTP-01 is a usage error"
expect_in "needs DNS-01" "$ERR" "the error says the wildcard needs DNS-01"
ks acme issue x --dns x.example.test --dns-hook true --dns-resolver localhost
expect_rc 2 "a resolver that is not ADDR:PORT is a usage error"
ks acme issue x --dns x.example.test --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --dns-resolver "$CHALLTEST_DNS"
expect_rc 2 "--dns-resolver without --dns-hook is a usage error"
ks acme issue x --dns x.example.test --dns-hook true --dns-wait 5
expect_rc 2 "--dns-wait without --dns-resolver is a usage error"
ks acme issue x --dns x.example.test --webroot . --dns-hook true
expect_rc 2 "--webroot and --dns-hook together are a usage error"

ks audit --verify
expect_rc 0 "the audit chain verifies"
finish
