# ca trust / ca untrust against real clients: curl (no --cacert) to a private nginx on loopback
# serving a certificate of a local CA fails before `ca trust`, succeeds after, and fails again
# after `ca untrust`; certutil -L lists the CA in an NSS database after trust, not after
# untrust. This changes the system trust store: a unique CA name, and an exit hook (on_exit) that
# removes it whatever happens.
source "$KEYSAFE_TESTS/lib.sh"
require_tool curl curl
require_tool certutil libnss3-tools
require_tool update-ca-certificates ca-certificates
require_nginx
[ "$(id -u)" = 0 ] || skip "ca trust changes the system trust store: run as root"

CA="kstest-$$-$RANDOM"
SYSFILE="/usr/local/share/ca-certificates/keysafe-$CA.crt"
cleanup_trust() {
  if [ -e "$SYSFILE" ]; then rm -f "$SYSFILE"; update-ca-certificates >/dev/null 2>&1; fi
}
on_exit cleanup_trust

new_store
ks ca init "$CA" --key ec-p256 --days 30; expect_rc 0 "ca init"
ks create site --dns localhost --ip 127.0.0.1; expect_rc 0 "create site"
ks ca sign "$CA" --key site; expect_rc 0 "ca sign --key site"
ks export site --format pem --cert-only --chain -o site.pem; expect_rc 0 "export the certificate"
KEYSAFE_OUT_PASSPHRASE=x ks export site --format pem -o site-key.pem --yes; expect_rc 0 "export the key"
openssl pkey -in site-key.pem -passin pass:x -out site.key 2>/dev/null

PORT=$(free_port)
nginx_config "$(nginx_tls_server "$PORT" "$T/site.pem" "$T/site.key")"
start_nginx
fetch() { curl -sS --max-time 10 "https://127.0.0.1:$PORT/" 2>&1; }

# --- before: the CA is not trusted
R=$(fetch); RC_CURL=$?
[ "$RC_CURL" != 0 ] && ok || bad "curl trusted the local CA before ca trust: $R"
expect_in "certificate" "$R" "curl names the certificate problem"

# --- a user other than root cannot change the system store
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1; then
  OUT=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$KEYSAFE_BIN" ca untrust "$CA" 2>&1); RC=$?
  expect_rc 6 "ca untrust as a user is refused"
  expect_in "only be changed by root" "$OUT" "says root is needed"
fi

# --- trust: the system store and an NSS database
mkdir nssdb && certutil -N -d sql:nssdb --empty-password
ks ca trust "$CA" --nss nssdb; expect_rc 0 "ca trust"
expect_in "system trust store" "$OUT" "says where it went"
[ -f "$SYSFILE" ] && ok || bad "no $SYSFILE after ca trust"
R=$(fetch); RC_CURL=$?
expect_eq "$RC_CURL/$R" "0/ok" "curl trusts the local CA after ca trust (no --cacert)"
OUT=$(certutil -L -d sql:nssdb); expect_in "keysafe $CA" "$OUT" "certutil -L lists the CA after trust"
expect_in "C,," "$OUT" "trusted for TLS servers"
ks ca trust "$CA" --nss nssdb; expect_rc 0 "ca trust again"

# --- untrust: gone from both
ks ca untrust "$CA" --nss nssdb; expect_rc 0 "ca untrust"
expect_in "removed" "$OUT" "says what it removed"
[ -e "$SYSFILE" ] && bad "$SYSFILE still there after untrust" || ok
R=$(fetch); RC_CURL=$?
[ "$RC_CURL" != 0 ] && ok || bad "curl still trusts the CA after ca untrust: $R"
OUT=$(certutil -L -d sql:nssdb); expect_not_in "keysafe $CA" "$OUT" "certutil -L no longer lists it"
ks ca untrust "$CA" --nss nssdb; expect_rc 0 "untrust again: nothing to do"
expect_in "not in the system trust store" "$OUT" "says it was not there"

# --- errors
ks ca trust no-such-ca; expect_rc 1 "ca trust of an unknown CA"
ks ca trust site; expect_rc 1 "ca trust of an entry that is no CA"
ks ca untrust ../../etc/passwd; expect_rc 2 "untrust refuses a name that is a path"
ks ca trust "$CA" --nss missing-db --no-system; expect_rc 1 "a missing NSS directory"
expect_in "certutil -N" "$OUT$ERR" "says how to create one"
ks ca trust "$CA" --no-system; expect_rc 2 "--no-system without --nss"
finish
