#!/usr/bin/env bash
# keysafe adopt haproxy with a real HAProxy on loopback: a bind line with a `crt` directory
# (one PEM with certificate and key; one PEM with the key in its FILE.key companion; dot files
# and companions skipped), relative to the global crt-base, and a bind line with a crt-list
# whose SNI filter names the site. Two problems (a PEM whose key does not match, a crt file
# that is missing) are added after haproxy runs and removed before any reload. adopt imports
# the three pairs, reports the problems, records the deployments (the combined PEM as one file,
# its mode kept); status exit 0; the local CA re-issues one entry, renew writes the original
# PEM and haproxy serves it after the reload through the pidfile. Nothing under the
# configuration directory changes during --dry-run or adoption.
# keysafe-test: sqlite-only — it tests reading HAProxy's configuration and files, not the store backend
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool haproxy haproxy
export PATH="$PATH:$(dirname "$(command -v haproxy)")"   # the recorded commands call `haproxy`

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
served_fp() {
  openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'
}
H=$T/haproxy
conf_sums() { (cd "$H" && find . -type f ! -name haproxy.pid | sort |
  while read -r f; do sha256sum "$f"; stat -c '%n %a %u %g' "$f"; done); }

new_store
ks ca init test-ca --subject "CN=adopt test CA"
expect_rc 0 "a local CA"
C=$H/certs
mkdir -p "$C" "$H/lists"
issue() {  # issue NAME DNS KEYOPT: key and certificate by the store's CA
  openssl req -new -newkey $3 -nodes -keyout "$T/$1.key" -subj "/CN=$2" \
    -addext "subjectAltName=DNS:$2" -out "$T/$1.csr" 2>/dev/null
  ks ca sign test-ca "$T/$1.csr" -o "$T/$1.crt"
  expect_rc 0 "the CA signs $1"
}
issue a a.test "ec -pkeyopt ec_paramgen_curve:P-256"
issue b b.test rsa:2048
issue c c.test "ec -pkeyopt ec_paramgen_curve:P-256"
cat "$T/a.crt" "$T/a.key" >"$C/a.pem"                  # certificate, chain and key in one file
cp "$T/b.crt" "$C/b.pem"; cp "$T/b.key" "$C/b.pem.key"  # the key in the FILE.key companion
cat "$T/c.crt" "$T/c.key" >"$H/c.pem"
cp "$C/a.pem" "$C/.hidden.pem"                           # haproxy skips dot files
chmod 0600 "$C/a.pem" "$C/b.pem.key" "$H/c.pem"
printf '# sites by name\n\nc.pem [alpn http/1.1] c.test !www.c.test\n' >"$H/lists/crt-list.txt"

P1=$(free_port); P2=$(free_port); P3=$(free_port)
write_config() {
  cat >"$H/haproxy.cfg" <<CONF
global
  pidfile $H/haproxy.pid
  crt-base $H
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend dir
  bind 127.0.0.1:$P1 ssl crt certs   # a directory, relative to crt-base
  http-request return status 200 content-type text/plain string "ok"
listen list
  bind 127.0.0.1:$P2 ssl crt-list "$H/lists/crt-list.txt"
  http-request return status 200 content-type text/plain string "ok"
$1
CONF
}
write_config ""
haproxy -c -q -f "$H/haproxy.cfg" || { bad "haproxy -c refused the configuration"; finish; exit 1; }
haproxy -D -f "$H/haproxy.cfg" || { bad "haproxy did not start"; finish; exit 1; }
on_exit "[ -f '$H/haproxy.pid' ] && kill \$(cat '$H/haproxy.pid') 2>/dev/null"
expect_eq "$(served_fp $P1 a.test)" "$(fp_of "$T/a.crt")" "haproxy serves a.test from the directory"
expect_eq "$(served_fp $P1 b.test)" "$(fp_of "$T/b.crt")" "and b.test with its key in b.pem.key"
expect_eq "$(served_fp $P2 c.test)" "$(fp_of "$T/c.crt")" "and c.test from the crt-list"
# haproxy refuses to start with these: they come after it runs.
cat "$T/a.crt" "$T/c.key" >"$C/mismatch.pem"
write_config "frontend missing
  bind 127.0.0.1:$P3 ssl crt $H/missing.pem"

BEFORE=$(conf_sums)
ks adopt haproxy --config "$H/haproxy.cfg" --dry-run --json
expect_rc 1 "dry run: two pairs cannot be adopted (exit 1)"
expect_eq "$(jget '.pairs | length')" "5" "a, b, mismatch from the directory, c from the list, the missing file"
expect_eq "$(jget .adoptable)" "3" "3 adoptable"
expect_eq "$(jget '.pairs[0].certificate')" "$C/a.pem" "the directory's files in order"
expect_eq "$(jget '.pairs[0].files[0].role')" "combined" "a.pem holds certificate, chain and key"
expect_eq "$(jget '.pairs[0].files | length')" "1" "one file for a"
expect_eq "$(jget '.pairs[0].sni')" "a.test" "SNI from the certificate's name"
expect_eq "$(jget '.pairs[1].files[1].path')" "$C/b.pem.key" "b's key from its companion"
expect_eq "$(jget '.pairs[3].entry')" "c.test" "the crt-list's SNI filter names c"
expect_eq "$(jget '.pairs[3].probe')" "127.0.0.1:$P2" "c probed on its bind address"
ks deployments --json
expect_eq "$(jget '. | length')" "0" "the dry run records nothing"
expect_eq "$(conf_sums)" "$BEFORE" "the dry run changes nothing under the configuration directory"

ks adopt haproxy --config "$H/haproxy.cfg" --yes
expect_rc 1 "adopt: exit 1, two pairs not adopted"
expect_in "3 of 5 pairs adopted" "$OUT" "the summary counts"
expect_in "does not match the certificate" "$OUT" "the mismatched key is reported"
expect_in "$H/missing.pem" "$OUT" "the missing file is reported"
expect_eq "$(conf_sums)" "$BEFORE" "adoption changes nothing under the configuration directory"
ks deployments --json
expect_eq "$(jget '. | length')" "3" "3 deployments"
expect_in "\"test_cmd\": \"haproxy -c -q -f $H/haproxy.cfg\"" "$OUT" "haproxy -c on the configuration read"
expect_in "\"reload_cmd\": \"haproxy -D -f $H/haproxy.cfg -sf \$(cat $H/haproxy.pid)\"" "$OUT" "the reload through the pidfile"

rm "$C/mismatch.pem"; write_config ""   # before any reload
ks status
expect_rc 0 "status: every adopted site serves the newest certificate"

OLD=$(fp_of "$C/a.pem")
ks renew a.test --same-key
expect_rc 0 "renew a.test from the local CA, redeployed"
NEW=$(fp_of "$C/a.pem")
[ "$NEW" != "$OLD" ] && ok || bad "a.pem holds the new certificate"
expect_eq "$(stat -c %a "$C/a.pem")" "600" "a.pem keeps its mode"
expect_eq "$(grep -c 'PRIVATE KEY-----' "$C/a.pem")" "2" "a.pem still holds the key"
expect_eq "$(served_fp $P1 a.test)" "$NEW" "haproxy serves the new certificate after the reload"
expect_eq "$(served_fp $P2 c.test)" "$(fp_of "$H/c.pem")" "c.test still serves its own"
ks status
expect_rc 0 "status after the renewal"
finish
