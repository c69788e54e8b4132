# The seed drill end to end, judged by a real TLS handshake:
# create -> request -> the openssl CLI CA signs -> install -> backup -> the store is lost ->
# a new store cannot install the certificate (exit 5, the missing-key diagnosis) -> restore ->
# export PEM -> openssl s_server serves it on loopback and openssl s_client verifies it against
# the root, for the right host name, and sees the installed certificate.
source "$KEYSAFE_TESTS/lib.sh"
require_tool openssl openssl
export KEYSAFE_OUT_PASSPHRASE="drill backup pass" KEYSAFE_IN_PASSPHRASE="drill backup pass"
jv() { mapfile -t V < <(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); [print(eval(e)) for e in sys.argv[1:]]' "$@"); }
cert_fp() { openssl x509 -noout -fingerprint -sha256 "$@" 2>/dev/null | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""; fi
}
on_exit stop_server

# --- create, request, sign, install -------------------------------------------------------------
new_store
make_ca
ks create www --dns www.example.test --dns example.test
expect_rc 0 "create"
[ -s www.req ] && ok || bad "create wrote the request"
openssl req -in www.req -noout -verify >/dev/null 2>&1 && ok || bad "openssl reads the request"
sign_csr www.req www.cer 90
[ -s www.cer ] && ok || bad "the openssl CA signed the request"
ks install www.cer --ca-file ca.pem
expect_rc 0 "install"
ks show www --json
jv 'd["state"]' 'd["fingerprint_sha256"]' 'd["spki_sha256"]' 'd["chain_trusted"]'
expect_eq "${V[0]:-}" "installed" "installed"
FP=${V[1]:-}; SPKI=${V[2]:-}
expect_eq "$FP" "$(cert_fp -in www.cer)" "the installed certificate is the CA's"
expect_eq "${V[3]:-}" "True" "chain verified to the root"

# --- backup, then the store is lost ---------------------------------------------------------------
ks backup www -o www.kbk --kdf-cost 10 --yes
expect_rc 0 "backup"
expect_in "verified" "$OUT" "backup verified"
expect_eq "$(stat -c %a www.kbk)" "600" "backup mode 0600"
store_remove
! store_exists && ok || bad "store deleted"

new_store
h=$(store_hash)
ks install www.cer
expect_rc 5 "a new store cannot install the certificate: its key is gone"
expect_in "no private key in this keystore matches" "$ERR" "diagnosis: no key matches"
expect_in "$SPKI" "$ERR" "diagnosis names the certificate's public key"
expect_in "restore" "$ERR" "diagnosis points to restore"
expect_eq "$(store_hash)" "$h" "the failed install changed nothing"

# --- restore, export -------------------------------------------------------------------------------
ks restore www.kbk
expect_rc 0 "restore"
ks show www --json
jv 'd["state"]' 'd["fingerprint_sha256"]' 'd["spki_sha256"]'
expect_eq "${V[0]:-}" "installed" "restored installed"
expect_eq "${V[1]:-}" "$FP" "restored certificate"
expect_eq "${V[2]:-}" "$SPKI" "restored key"
ks install www.cer
expect_rc 0 "installing the certificate again now finds its key"
ks export www --format pem --chain -o www.pem --yes
expect_rc 0 "export pem"
expect_eq "$(stat -c %a www.pem)" "600" "exported key file mode 0600"
expect_eq "$(openssl pkey -in www.pem -passin env:KEYSAFE_OUT_PASSPHRASE -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)" \
  "$SPKI" "openssl opens the exported key: the original key"

# --- serve it: openssl s_server on a free loopback port, openssl s_client verifies ----------------
PORT=""
for _try in 1 2 3 4 5 6 7 8 9 10; do
  p=$((20000 + RANDOM % 20000))
  openssl s_server -accept 127.0.0.1:$p -cert www.pem -key www.pem -pass env:KEYSAFE_OUT_PASSPHRASE \
    -www </dev/null >server.log 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 50); do
    grep -q "^ACCEPT" server.log 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null && grep -q "^ACCEPT" server.log; then PORT=$p; break; fi
  stop_server   # port busy (or worse): try another
done
if [ -n "$PORT" ]; then ok; else bad "openssl s_server did not start: $(cat server.log)"; fi

if [ -n "$PORT" ]; then
  OUT=$(openssl s_client -connect 127.0.0.1:$PORT -CAfile ca.pem -verify_return_error \
    -servername www.example.test -verify_hostname www.example.test -showcerts </dev/null 2>&1); RC=$?
  ERR=""
  expect_rc 0 "s_client handshake verifies"
  expect_in "Verify return code: 0 (ok)" "$OUT" "s_client: Verify return code 0"
  printf '%s\n' "$OUT" | awk '/-----BEGIN CERTIFICATE-----/{f=1} f{print} /-----END CERTIFICATE-----/{exit}' > served.pem
  expect_eq "$(cert_fp -in served.pem)" "$FP" "the served certificate is the installed one"
  # the other SAN too, and a name the certificate does not carry fails verification
  OUT=$(openssl s_client -connect 127.0.0.1:$PORT -CAfile ca.pem -verify_return_error \
    -servername example.test -verify_hostname example.test </dev/null 2>&1); RC=$?
  expect_rc 0 "s_client verifies the second DNS name"
  OUT=$(openssl s_client -connect 127.0.0.1:$PORT -CAfile ca.pem -verify_return_error \
    -servername other.example.test -verify_hostname other.example.test </dev/null 2>&1); RC=$?
  [ "$RC" != 0 ] && ok || bad "s_client accepted a host name the certificate does not carry"
  # a different root does not verify it
  make_ca other
  OUT=$(openssl s_client -connect 127.0.0.1:$PORT -CAfile other.pem -verify_return_error \
    -servername www.example.test </dev/null 2>&1); RC=$?
  [ "$RC" != 0 ] && ok || bad "s_client verified against an unrelated root"
fi
stop_server
finish
