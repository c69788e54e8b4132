#!/usr/bin/env bash
# keysafe adopt nginx with a real nginx on loopback: an `include` of a directory, 4 server
# blocks over 3 good pairs (one pair shared by two blocks), a block with a variable in its
# path and one whose key does not match (added after nginx started, removed before any
# reload). adopt imports the 3 pairs (one already in the store: linked), reports the two
# problems, records 4 deployments of the exact files; status exit 0; the local CA re-issues
# one entry and renew writes the original paths, which nginx serves after the reload.
# Nothing under the configuration directory changes during --dry-run or adoption.
# keysafe-test: sqlite-only — it tests reading nginx's configuration and files, not the store backend
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_nginx
export PATH="$PATH:$(dirname "$NGINX")"   # the recorded commands call `nginx`

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
served_fp() {
  openssl s_client -connect "127.0.0.1:$1" -servername "$2" </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'
}
# Every file under the configuration directory but what nginx itself writes.
conf_sums() { (cd "$T/nginx" && find . -type f ! -name nginx.pid ! -name error.log | sort | xargs sha256sum; find . -type f ! -name nginx.pid ! -name error.log | sort | xargs stat -c '%n %a %u %g'); }

new_store
ks ca init test-ca --subject "CN=adopt test CA"
expect_rc 0 "a local CA"
C=$T/nginx/certs
mkdir -p "$C" "$T/nginx/sites"
# issue NAME DNS [KEYOPT]: key and certificate by the store's CA, as files nginx reads.
issue() {
  openssl req -new -newkey ${3:-ec -pkeyopt ec_paramgen_curve:P-256} -nodes -keyout "$C/$1.key" \
    -subj "/CN=$2" -addext "subjectAltName=DNS:$2" -out "$T/$1.csr" 2>/dev/null
  ks ca sign test-ca "$T/$1.csr" -o "$C/$1.crt"
  expect_rc 0 "the CA signs $1"
}
issue a a.test
issue b b.test rsa:2048
issue c c.test
chmod 0640 "$C"/*.key

P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port); P5=$(free_port); P6=$(free_port)
nginx_config "  include sites/*;"
site() {  # site FILE PORT NAME CERT KEY
  { printf 'server {\n  listen 127.0.0.1:%s ssl;\n  server_name %s;\n' "$2" "$3"
    printf '  ssl_certificate "%s";  # comment\n  ssl_certificate_key %s;\n  location / { return 200 "ok\\n"; }\n}\n' "$4" "$5"; } >"$T/nginx/sites/$1"
}
site a.conf $P1 a.test certs/a.crt certs/a.key            # paths relative to nginx.conf's directory
site b.conf $P2 b.test "$C/b.crt" "$C/b.key"
site b2.conf $P3 www.b.test "$C/b.crt" "$C/b.key"         # the same pair as b.conf
site c.conf $P4 c.test "$C/c.crt" "$C/c.key"
site var.conf $P5 var.test '$ssl_server_name.crt' '$ssl_server_name.key'
start_nginx
expect_eq "$(served_fp $P3 www.b.test)" "$(fp_of "$C/b.crt")" "nginx serves the shared pair"
# nginx refuses to start with a mismatched pair: the block comes after it runs.
site bad.conf $P6 bad.test "$C/a.crt" "$C/c.key"

# The pair of c is in the store already: adopt links it.
cat "$C/c.crt" "$C/c.key" >"$T/c-pair.pem"
ks import "$T/c-pair.pem" --name c-existing
expect_rc 0 "c imported beforehand"

BEFORE=$(conf_sums)
ks adopt nginx --config "$T/nginx/nginx.conf" --dry-run --json
expect_rc 1 "dry run: two pairs cannot be adopted (exit 1)"
expect_eq "$(jget .dry_run)" "true" "dry run says so"
expect_eq "$(jget '.pairs | length')" "6" "6 pairs in 6 server blocks"
expect_eq "$(jget .adoptable)" "4" "4 adoptable"
ks deployments --json
expect_eq "$(jget '. | length')" "0" "the dry run records nothing"
expect_eq "$(conf_sums)" "$BEFORE" "the dry run changes nothing under the configuration directory"

ks_notty adopt nginx --config "$T/nginx/nginx.conf"
expect_rc 6 "off a terminal, adopt needs --yes"
expect_in "--yes" "$ERR" "the error names --yes"

ks adopt nginx --config "$T/nginx/nginx.conf" --yes
expect_rc 1 "adopt: exit 1, two pairs not adopted"
expect_in "4 of 6 pairs adopted" "$OUT" "the summary counts"
expect_in "a variable in the path (\$ssl_server_name.crt)" "$OUT" "the variable path is reported"
expect_in "does not match the certificate" "$OUT" "the mismatched key is reported"
expect_in "already in the store (linked, not duplicated)" "$OUT" "c is linked"
expect_in "one entry, another deployment" "$OUT" "the shared pair"
expect_eq "$(conf_sums)" "$BEFORE" "adoption changes nothing under the configuration directory"
ks list --json
expect_eq "$(jget '. | length')" "4" "3 entries + the CA: c not duplicated"
ks deployments --json
expect_eq "$(jget '. | length')" "4" "4 deployments"
expect_in "\"layout\": \"files\"" "$OUT" "layout files"
expect_in "$C/b.key#www.b.test@127.0.0.1:$P3" "$OUT" "the second block of the shared pair has its own deployment"
expect_in "\"test_cmd\": \"nginx -t -q -c $T/nginx/nginx.conf\"" "$OUT" "nginx -t on the configuration read"
expect_in "\"reload_cmd\": \"nginx -s reload -c $T/nginx/nginx.conf\"" "$OUT" "the reload command"
expect_in "\"probe\": \"127.0.0.1:$P1\"" "$OUT" "the listen address is probed"
expect_in "\"sni\": \"a.test\"" "$OUT" "with the server name"

rm "$T/nginx/sites/bad.conf"   # before any reload
BEFORE=$(conf_sums)
ks status
expect_rc 0 "status: every adopted site serves the newest certificate"

# The local CA re-issues a.test; renew writes the original paths and reloads nginx.
OLD=$(fp_of "$C/a.crt")
MODE=$(stat -c %a "$C/a.key")
ks renew a.test --same-key
expect_rc 0 "renew a.test from the local CA, redeployed"
NEW=$(fp_of "$C/a.crt")
[ "$NEW" != "$OLD" ] && ok || bad "certs/a.crt holds the new certificate"
expect_eq "$(stat -c %a "$C/a.key")" "$MODE" "the key file keeps its mode"
expect_eq "$(served_fp $P1 a.test)" "$NEW" "nginx serves the new certificate after the reload"
ks status
expect_rc 0 "status after the renewal"
expect_eq "$(served_fp $P3 www.b.test)" "$(fp_of "$C/b.crt")" "the other sites still serve theirs"
finish
