#!/usr/bin/env bash
# keysafe deploy with a real nginx on loopback: the deployed certificate is served and verifies
# against the CA (openssl s_client), a new certificate + reload is served, a failing test
# command and a real `nginx -t` failure (mismatched key and certificate) restore the previous
# files, which are still served; status flags stale and unreachable targets.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_nginx

fingerprint_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# served PORT [SNI]: the PEM leaf nginx serves, verified against ca.pem (empty if verification fails).
served() {
  openssl s_client -connect "127.0.0.1:$1" -servername "${2:-www.example.test}" -CAfile ca.pem \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 2>/dev/null
}
served_fp() { served "$@" | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
served_serial() { served "$@" | openssl x509 -noout -serial 2>/dev/null | cut -d= -f2; }

PORT=$(free_port)
PORT2=$(free_port)
mkdir -p tls mix/a mix/b
# The second site takes the certificate from one directory and the key from another:
# deploying another entry's key there makes a real mismatch for nginx -t.
nginx_config "$(nginx_tls_server $PORT $T/tls/fullchain.pem $T/tls/privkey.pem www.example.test)
$(nginx_tls_server $PORT2 $T/mix/a/fullchain.pem $T/mix/b/privkey.pem mix.example.test)"
TEST_CMD="$NG -t -q"
RELOAD_CMD="$NG -s reload"

new_store
make_ca
ks create www --dns www.example.test
sign_csr www.req www1.pem 90
ks install www1.pem --ca-file ca.pem
expect_rc 0 "install the first certificate"

# First deployment: nginx is not running yet, so no reload and no probe; nginx -t is the gate.
ks deploy www --to mix/a
expect_rc 0 "deploy www to mix/a"
ks deploy www --to mix/b
expect_rc 0 "deploy www to mix/b"
ks deploy www --to tls --test-cmd "$TEST_CMD"
expect_rc 0 "first deployment (tested by nginx -t)"
start_nginx
expect_eq "$(served_fp $PORT)" "$(fingerprint_of www1.pem)" "nginx serves the deployed certificate, verified against the CA"

# Recorded commands from now on: reload and probe.
ks deploy www --to tls --reload-cmd "$RELOAD_CMD" --probe 127.0.0.1:$PORT --sni www.example.test
expect_rc 0 "redeploy with reload and probe"
expect_in "127.0.0.1:$PORT serves it" "$OUT" "the summary says the probe saw it"
ks status
expect_rc 0 "status: every target serves the newest certificate"
expect_in "serves the newest certificate" "$OUT" "status says so"

# --- a new certificate (new serial) + reload is served -------------------------------------
sign_csr www.req www2.pem 90
ks install www2.pem --ca-file ca.pem
expect_rc 0 "install a new certificate for the same key"
[ "$(serial_of www1.pem)" != "$(serial_of www2.pem)" ] && ok || bad "the new certificate has a new serial"
ks status www --timeout 1
expect_rc 12 "status before redeploying: renewed but not deployed (12)"
expect_in "renewed but not deployed" "$OUT" "status says renewed but not deployed"
ks deploy www --to tls --json
expect_rc 0 "deploy the new certificate (recorded test, reload and probe)"
expect_eq "$(jget .tested)" "true" "it was tested with nginx -t"
expect_eq "$(jget .reloaded)" "true" "nginx was reloaded"
expect_eq "$(jget .probe.served_serial)" "$(serial_of www2.pem)" "the probe saw the new serial"
expect_eq "$(served_serial $PORT)" "$(serial_of www2.pem)" "openssl s_client sees the new serial"
expect_eq "$(served_fp $PORT)" "$(fingerprint_of www2.pem)" "and its fingerprint, verified against the CA"

# --- a failing test command: previous files restored and still served -----------------------
sign_csr www.req www3.pem 90
ks install www3.pem --ca-file ca.pem
HC=$(hash_of tls/fullchain.pem); HK=$(hash_of tls/privkey.pem)
ks deploy www --to tls --test-cmd "echo 'nginx: configuration test failed on purpose' >&2; false"
expect_rc 1 "a failing test command fails the deployment"
expect_in "previous files are back" "$ERR" "the error says the previous files are back"
expect_in "still serves them" "$ERR" "and still served"
expect_in "failed on purpose" "$ERR" "the command's output is shown"
expect_eq "$(hash_of tls/fullchain.pem)" "$HC" "fullchain.pem restored byte for byte"
expect_eq "$(hash_of tls/privkey.pem)" "$HK" "privkey.pem restored byte for byte"
$NG -s reload
expect_eq "$(served_serial $PORT)" "$(serial_of www2.pem)" "after a reload nginx still serves the previous certificate"

# --- the server serving an older certificate (deployed but not reloaded) ----------------------
ks deploy www --to tls --test-cmd "$TEST_CMD" --reload-cmd '' --probe-timeout 1
expect_rc 1 "without a reload the probe sees the old certificate: deploy fails"
expect_in "does not serve the deployed certificate" "$ERR" "the error says what is wrong"
expect_in "$(fingerprint_of www2.pem)" "$ERR" "and names what is served"
ks status www --timeout 1
expect_rc 12 "status: serving an older certificate (12)"
expect_in "serving an older certificate" "$OUT" "status says serving an older certificate"
ks deploy www --to tls --reload-cmd "$RELOAD_CMD"
expect_rc 0 "deploy with the reload again"
expect_eq "$(served_serial $PORT)" "$(serial_of www3.pem)" "the newest serial is served"

# --- a real nginx -t failure: mismatched key and certificate ----------------------------------
ks create other --dns other.example.test
sign_csr other.req other.pem 90
ks install other.pem --ca-file ca.pem
HB=$(hash_of mix/b/privkey.pem); HBC=$(hash_of mix/b/fullchain.pem)
ks deploy other --to mix/b --force --test-cmd "$TEST_CMD" --reload-cmd "$RELOAD_CMD" --probe 127.0.0.1:$PORT2
expect_rc 1 "nginx -t rejects a key that does not match the certificate"
expect_in "test command" "$ERR" "the error says the test command failed"
expect_in "key values mismatch" "$ERR" "nginx's own message is shown"
expect_in "previous files are back" "$ERR" "the error says the previous files are back"
expect_eq "$(hash_of mix/b/privkey.pem)" "$HB" "mix/b/privkey.pem restored byte for byte"
expect_eq "$(hash_of mix/b/fullchain.pem)" "$HBC" "mix/b/fullchain.pem restored byte for byte"
$TEST_CMD 2>/dev/null
RC=$?; expect_rc 0 "nginx -t passes again on the restored files"
$NG -s reload
expect_eq "$(served_fp $PORT2 mix.example.test)" "$(fingerprint_of www1.pem)" "the mixed site still serves its previous certificate"
expect_eq "$(served_serial $PORT)" "$(serial_of www3.pem)" "the main site is unaffected"
ks deployments --json
expect_eq "$(jget '.[] | select(.target_dir | endswith("/mix/b")) | .name')" "www" "the failed deployment left the record as it was"

# --- unreachable --------------------------------------------------------------------------------
ks status www --timeout 1 --json
expect_eq "$(jget '.[] | select(.target_dir | endswith("/tls")) | .state')" "current" "status before stopping nginx: the main site is current"
kill "$(cat nginx/nginx.pid)"
for _ in $(seq 50); do [ -f nginx/nginx.pid ] || break; sleep 0.1; done
ks status www --timeout 0.5 --json
expect_rc 13 "status with nginx stopped: unreachable (13)"
expect_eq "$(jget '.[] | select(.target_dir | endswith("/tls")) | .state')" "unreachable" "the probed target is unreachable"

ks audit --json
expect_in '"deployed"' "$OUT" "the audit log has deployed rows"
expect_in '"deploy-failed"' "$OUT" "and deploy-failed rows"
finish
