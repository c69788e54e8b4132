#!/usr/bin/env bash
# renew redeploys: an entry issued by a local CA in the store and deployed to a real nginx is
# renewed (same key, then a new key); each renewal redeploys to the recorded target and nginx
# serves the new serial, verified against the CA.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_nginx

served() {
  openssl s_client -connect "127.0.0.1:$PORT" -servername www.example.test -CAfile ca.pem \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 2>/dev/null
}
served_serial() { served | openssl x509 -noout -serial 2>/dev/null | cut -d= -f2; }
served_pub() { served | openssl x509 -noout -pubkey 2>/dev/null | sha256sum | cut -d' ' -f1; }

PORT=$(free_port)
mkdir -p tls
nginx_config "$(nginx_tls_server $PORT $T/tls/fullchain.pem $T/tls/privkey.pem)"

new_store
ks ca init localca
expect_rc 0 "a local root CA"
ks ca export localca -o ca.pem
expect_rc 0 "its certificate for the trust store"
ks create www --dns www.example.test
ks ca sign localca --key www --days 30
expect_rc 0 "the local CA issues www's certificate (installed at once)"
ks deploy www --to tls --test-cmd "$NG -t -q"
expect_rc 0 "deploy www"
start_nginx
ks deploy www --to tls --reload-cmd "$NG -s reload" --probe 127.0.0.1:$PORT --sni www.example.test
expect_rc 0 "record reload and probe"
S1=$(served_serial)
[ -n "$S1" ] && ok || bad "nginx serves www's certificate, verified against the local CA"

# Same key: renew completes at once (local CA) and the hook redeploys.
ks renew www --same-key
expect_rc 0 "renew www with the same key"
expect_in "redeployed" "$OUT$ERR" "renew says it redeployed"
S2=$(served_serial)
[ -n "$S2" ] && [ "$S2" != "$S1" ] && ok || bad "nginx serves a new serial after renew ($S1 -> $S2)"
ks status www
expect_rc 0 "status: current after the renewal"

# New key: the deployments follow the new key.
P2=$(served_pub)
ks renew www
expect_rc 0 "renew www with a new key"
S3=$(served_serial)
[ -n "$S3" ] && [ "$S3" != "$S2" ] && ok || bad "nginx serves a new serial after renewing with a new key ($S2 -> $S3)"
[ "$(served_pub)" != "$P2" ] && ok || bad "and the new key"
ks deployments --json
expect_eq "$(jget '.[0].name')" "www" "the deployment belongs to www (the new key)"
expect_eq "$(jget '.[0].is_current')" "true" "and holds its current certificate"
ks status www
expect_rc 0 "status: current after the new-key renewal"
finish
