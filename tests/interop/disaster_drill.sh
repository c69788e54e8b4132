#!/usr/bin/env bash
# The disaster drill, judged by a real nginx and the openssl CLI: 20 sites on one nginx
# (one port, SNI) with certificates from a local CA, one of them revoked; backup --all; the
# host is lost (nginx stopped, store and every deployed file wiped); ONE `keysafe recover`
# creates the store, restores everything and redeploys: every site serves its certificate
# again (openssl s_client with -servername, fingerprints compared), the CA issues a serial
# distinct from every earlier one, and the CRL still revokes the revoked certificate with a
# higher CRL number (openssl crl, openssl verify -crl_check).
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl
require_nginx
export KEYSAFE_OUT_PASSPHRASE="drill backup pass" KEYSAFE_IN_PASSPHRASE="drill backup pass"
SITES=20
fp_of() { openssl x509 -noout -fingerprint -sha256 "$@" 2>/dev/null | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
# served_fp NAME: the fingerprint of the leaf nginx serves for server name NAME.
served_fp() {
  openssl s_client -connect "127.0.0.1:$PORT" -servername "$1" </dev/null 2>/dev/null | fp_of
}
crl_number_dec() { python3 -c "import sys; print(int(sys.argv[1], 16))" "$(openssl crl -in "$1" -noout -crlnumber | sed 's/.*=//')"; }

PORT=$(free_port)
BLOCKS=""
for i in $(seq -w 1 $SITES); do
  BLOCKS+="$(nginx_tls_server "$PORT" "$T/sites/site-$i/fullchain.pem" "$T/sites/site-$i/privkey.pem" "site-$i.example.test")"$'\n'
done
nginx_config "$BLOCKS"
# A reload command that also starts nginx when it is not running (systemctl reload-or-restart
# does the same): after the disaster nginx is down until its files are back.
RELOAD_CMD="$NG -s reload 2>/dev/null || $NG"

# --- the host before the disaster ---------------------------------------------------------------
new_store
ks ca init corp-ca --key ec-p256 --subject "CN=Drill CA"
expect_rc 0 "ca init"
ks issue-bulk corp-ca --count $SITES --prefix site --dns-suffix .example.test
expect_rc 0 "issue-bulk: $SITES sites from the local CA"
# Files first (nginx -t needs every site's files), then nginx, then the recorded commands.
for i in $(seq -w 1 $SITES); do
  ks deploy site-$i --to sites/site-$i
  [ "$RC" = 0 ] || bad "deploy site-$i"
done
start_nginx
for i in $(seq -w 1 $SITES); do
  ks deploy site-$i --to sites/site-$i --test-cmd "$NG -t -q" --reload-cmd "$RELOAD_CMD" \
    --probe 127.0.0.1:$PORT --sni site-$i.example.test
  [ "$RC" = 0 ] || bad "deploy site-$i with test, reload and probe"
done
declare -A FP
for i in $(seq -w 1 $SITES); do
  ks show site-$i --json
  FP[$i]=$(jget .fingerprint_sha256)
done
expect_eq "$(served_fp site-05.example.test)" "${FP[05]}" "before: nginx serves site-05's certificate"
ks ca export corp-ca -o ca.pem
ks export site-07 --cert-only --format pem -o site-07.pem
ks export site-01 --cert-only --format pem -o site-01.pem
REVOKED_SERIAL=$(openssl x509 -in site-07.pem -noout -serial | cut -d= -f2)
ks ca revoke corp-ca site-07 --reason keyCompromise
expect_rc 0 "revoke site-07"
ks ca crl corp-ca -o before.crl
expect_rc 0 "CRL before the disaster"
N_BEFORE=$(crl_number_dec before.crl)
ks ca list --issued corp-ca --json
ISSUED_BEFORE=$OUT

ks backup --all -o drill.kbk --kdf-cost 10 --yes
expect_rc 0 "backup --all"

# --- the disaster: nginx down, store and deployed files gone -----------------------------------
kill "$(cat nginx/nginx.pid)"
for _ in $(seq 50); do [ -f nginx/nginx.pid ] || break; sleep 0.1; done
rm -rf sites; store_remove
! store_exists && [ ! -e sites ] && ok || bad "store and sites wiped"
OUT=$(openssl s_client -connect "127.0.0.1:$PORT" -servername site-01.example.test </dev/null 2>&1); RC=$?
[ "$RC" != 0 ] && ok || bad "nothing is served after the disaster"

# --- one command -------------------------------------------------------------------------------
START=$(date +%s)
ks recover drill.kbk --kdf-cost 10 --yes
expect_rc 0 "keysafe recover: exit 0, every target serves its certificate"
echo "recover took $(( $(date +%s) - START )) s"
expect_in "(created)" "$OUT" "recover created the store"
expect_eq "$(printf '%s\n' "$OUT" | grep -c ' deployed: 127.0.0.1:'"$PORT"' serves it')" "$SITES" "the table shows $SITES targets deployed and probed"
[ -f nginx/nginx.pid ] && ok || bad "the recorded reload command started nginx again"

for i in $(seq -w 1 $SITES); do
  got=$(served_fp site-$i.example.test)
  [ -n "$got" ] && [ "$got" = "${FP[$i]}" ] && ok || bad "site-$i serves its certificate again (got '$got', want '${FP[$i]}')"
done
OUT=$(openssl s_client -connect "127.0.0.1:$PORT" -servername site-01.example.test -CAfile ca.pem \
  -verify_return_error -verify_hostname site-01.example.test </dev/null 2>&1); RC=$?
expect_rc 0 "site-01 verifies against the CA, for its name"

ks status --timeout 2
expect_rc 0 "status: every target serves the newest certificate"
ks check
expect_rc 0 "check passes on the recovered store"

# --- the CA after the disaster: serials and CRL ------------------------------------------------
ks ca list --issued corp-ca --json
expect_eq "$OUT" "$ISSUED_BEFORE" "ca list --issued shows what it showed before"
ks create newsite --dns newsite.example.test
ks ca sign corp-ca --key newsite -o newsite.pem
expect_rc 0 "the recovered CA issues"
NEW_SERIAL=$(openssl x509 -in newsite.pem -noout -serial | cut -d= -f2)
[ -n "$NEW_SERIAL" ] && ok || bad "a new serial"
expect_not_in "\"$NEW_SERIAL\"" "$ISSUED_BEFORE" "the new serial is none of the earlier ones"
ks ca crl corp-ca -o after.crl
expect_rc 0 "CRL after the disaster"
openssl crl -in after.crl -noout -CAfile ca.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "openssl crl: the CRL verifies with the CA certificate"
N_AFTER=$(crl_number_dec after.crl)
[ "$N_AFTER" -gt "$N_BEFORE" ] && ok || bad "CRL number after ($N_AFTER) > before ($N_BEFORE)"
expect_in "$REVOKED_SERIAL" "$(openssl crl -in after.crl -noout -text)" "the CRL lists site-07's serial"
OUT=$(openssl verify -crl_check -CAfile ca.pem -CRLfile after.crl site-07.pem 2>&1); RC=$?
expect_rc 2 "openssl verify -crl_check rejects site-07"
expect_in "certificate revoked" "$OUT" "because it is revoked"
openssl verify -crl_check -CAfile ca.pem -CRLfile after.crl site-01.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "and accepts site-01"

ks audit --json
expect_eq "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["entries"] if r["action"] == "restored"))')" "1" "one restored event"
finish
