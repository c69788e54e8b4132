#!/usr/bin/env bash
# keysafe deploy --layout haproxy with a real haproxy on loopback: the one-file PEM is served,
# a new certificate + reload (-sf) is served, a failing check restores the previous file, which
# is still served; status flags renewed-but-not-deployed and unreachable.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$HAPROXY" ] || skip "haproxy is not installed (apt-get install haproxy)"

fingerprint_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
served() {
  openssl s_client -connect "127.0.0.1:$PORT" -servername www.example.test -CAfile ca.pem \
    -verify_return_error </dev/null 2>/dev/null | openssl x509 2>/dev/null
}
served_fp() { served | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
served_serial() { served | openssl x509 -noout -serial 2>/dev/null | cut -d= -f2; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p haproxy certs
cat >haproxy/haproxy.cfg <<CFG
global
  maxconn 64
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend www
  bind 127.0.0.1:$PORT ssl crt $T/certs/haproxy.pem
  http-request return status 200 content-type text/plain string ok
CFG
HA="$HAPROXY -f $T/haproxy/haproxy.cfg"
PIDFILE="$T/haproxy/haproxy.pid"
TEST_CMD="$HA -c -q"
# Daemon mode with a pid file; a reload starts a new process that takes over (-sf) the old one.
RELOAD_CMD="$HA -D -p $PIDFILE -sf \$(cat $PIDFILE)"
stop_haproxy() { for p in $(cat "$PIDFILE" 2>/dev/null); do kill "$p" 2>/dev/null; done; }
on_exit stop_haproxy

new_store
make_ca
ks create www --dns www.example.test
sign_csr www.req www1.pem 90
ks install www1.pem --ca-file ca.pem
ks deploy www --to certs --layout haproxy --test-cmd "$TEST_CMD"
expect_rc 0 "first deployment, checked by haproxy -c"
expect_eq "$(ls certs)" "haproxy.pem" "one PEM file"
$HA -D -p "$PIDFILE" || { bad "haproxy did not start"; finish; exit 1; }
expect_eq "$(served_fp)" "$(fingerprint_of www1.pem)" "haproxy serves the deployed certificate, verified against the CA"

ks deploy www --to certs --reload-cmd "$RELOAD_CMD" --probe 127.0.0.1:$PORT --sni www.example.test
expect_rc 0 "deploy again with reload and probe"
expect_in "127.0.0.1:$PORT serves it" "$OUT" "the probe confirmed it"

sign_csr www.req www2.pem 90
ks install www2.pem --ca-file ca.pem
[ "$(serial_of www1.pem)" != "$(serial_of www2.pem)" ] && ok || bad "the new certificate has a new serial"
ks status --timeout 1
expect_rc 12 "status: renewed but not deployed"
ks deploy www --to certs --json
expect_rc 0 "deploy the new certificate (recorded layout, test, reload -sf, probe)"
expect_eq "$(jget .layout)" "haproxy" "the recorded layout was reused"
expect_eq "$(jget .probe.served_serial)" "$(serial_of www2.pem)" "the probe saw the new serial"
expect_eq "$(served_serial)" "$(serial_of www2.pem)" "openssl s_client sees the new serial"
ks status
expect_rc 0 "status: current"

# A failing check: the previous file comes back and is still served.
sign_csr www.req www3.pem 90
ks install www3.pem --ca-file ca.pem
H=$(hash_of certs/haproxy.pem)
ks deploy www --to certs --test-cmd "$HA -c -q && echo 'refused on purpose' && false"
expect_rc 1 "a failing check fails the deployment"
expect_in "previous files are back" "$ERR" "the error says the previous file is back"
expect_in "refused on purpose" "$ERR" "the output is shown"
expect_eq "$(hash_of certs/haproxy.pem)" "$H" "haproxy.pem restored byte for byte"
expect_eq "$(served_serial)" "$(serial_of www2.pem)" "haproxy still serves the previous certificate"
ks deploy www --to certs --test-cmd "$TEST_CMD"
expect_rc 0 "deploy with the real check again"
expect_eq "$(served_serial)" "$(serial_of www3.pem)" "the newest serial is served"

stop_haproxy
ks status --timeout 0.5
expect_rc 13 "status: haproxy stopped, unreachable"
finish
