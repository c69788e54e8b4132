# keysafe export end to end: confirmation without a terminal, file rules (0600, no overwrite
# without --force, never through a symlink or over a device), certificate-only exports without
# any passphrase, PEM with chain opened by openssl, wrong combinations, and the PKCS#12 profiles
# as `openssl pkcs12 -info` reports them.
source "$KEYSAFE_TESTS/lib.sh"
# jv EXPR...: Python expressions over d = the JSON in $OUT, one line each, into the array V.
jv() { mapfile -t V < <(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); [print(eval(e)) for e in sys.argv[1:]]' "$@"); }
# ks_notty ARGS...: keysafe with stdin /dev/null and no controlling terminal.
ks_notty() {
  local setsid=()
  command -v setsid >/dev/null 2>&1 && setsid=(setsid -w)
  OUT=$("${setsid[@]}" "$KEYSAFE_BIN" "$@" </dev/null 2>"$T/.stderr"); RC=$?
  ERR=$(<"$T/.stderr")
  return 0
}
# ks_nopass ARGS...: the same with no export password and an empty store passphrase (or the
# real store passphrase when KEYSAFE_PASSPHRASE_KEEP=1).
ks_nopass() {
  local pass=""
  [ "${KEYSAFE_PASSPHRASE_KEEP:-}" = 1 ] && pass=$KEYSAFE_PASSPHRASE
  OUT=$(env -u KEYSAFE_OUT_PASSPHRASE KEYSAFE_PASSPHRASE="$pass" setsid -w "$KEYSAFE_BIN" "$@" </dev/null 2>"$T/.stderr"); RC=$?
  ERR=$(<"$T/.stderr")
  return 0
}
cert_fp() { openssl x509 -noout -fingerprint -sha256 "$@" 2>/dev/null | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
key_spki() { openssl pkey "$@" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
split_certs() {
  awk -v p="$1" '/-----BEGIN CERTIFICATE-----/{n++; f=p "-" n ".pem"} f{print > f} /-----END CERTIFICATE-----/{f=""} END{print n+0}'
}
nothing_written() { if [ -e "$1" ] || [ -L "$1" ]; then bad "$2: $1 was written"; else ok; fi; }
no_temp_files() {
  shopt -s nullglob
  local left=(.*.keysafe-* *.keysafe-*)
  shopt -u nullglob
  if [ "${#left[@]}" -gt 0 ]; then bad "$1: a temp file was left behind: ${left[*]}"; else ok; fi
}
export KEYSAFE_OUT_PASSPHRASE="export pass 1"

# A root, an intermediate, an installed EC entry with the intermediate as its chain, a pending
# entry and a certificate-only entry.
make_ca root
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=Export Test Intermediate" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > inter.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 3650 \
  -extfile inter.ext -out inter.pem 2>/dev/null
new_store
ks create www --dns www.example.test;          expect_rc 0 "create www"
sign_csr www.req www.cer 90 inter
cat www.cer inter.pem > www-full.pem
ks install www-full.pem --ca-file root.pem;    expect_rc 0 "install www with its intermediate"
ks show www --json
jv 'd["spki_sha256"]' 'd["fingerprint_sha256"]'
SPKI=${V[0]:-}; FP=${V[1]:-}
expect_eq "$FP" "$(cert_fp -in www.cer)" "installed fingerprint"
INTER_FP=$(cert_fp -in inter.pem)
ks create pend --dns pend.example.test;        expect_rc 0 "create a pending entry"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout orphan.key -out orphan.pem \
  -subj /CN=orphan.example.test -days 30 2>/dev/null
ks import orphan.pem --name orphan;            expect_rc 0 "import a certificate alone"
ks show orphan --json
jv 'd["state"]'
expect_eq "${V[0]:-}" "no-key" "orphan is certificate-only"
# Exports append audit rows (issue: every export is audited) and change nothing else.
content_hash() { store_dump | grep -v "^INSERT INTO audit" | sha256sum | cut -d" " -f1; }
H=$(content_hash)

# --- no terminal, no --yes: refused, nothing written --------------------------------------------
for fmt in pfx pem; do
  ks_notty export www --format $fmt -o noyes.$fmt
  expect_rc 6 "$fmt export without --yes and without a terminal is refused"
  expect_in "impersonate" "$ERR" "$fmt: the warning names the risk"
  expect_in "--yes" "$ERR" "$fmt: the refusal names --yes"
  nothing_written noyes.$fmt "$fmt export without --yes"
done
ks_notty export www --format pfx -o noyes.pfx --force
expect_rc 6 "--force is not --yes"
nothing_written noyes.pfx "--force without --yes"
no_temp_files "refused exports"

# --- key exports: 0600, verified, never over an existing file without --force --------------------
ks export www --format pfx --chain -o www.pfx --yes
expect_rc 0 "pfx export with --yes"
expect_in "verified" "$OUT" "export reports the read-back"
expect_eq "$(stat -c %a www.pfx)" "600" "pfx mode 0600"
ks export www --format pem --chain -o www.pem --yes
expect_rc 0 "pem export with --yes"
expect_eq "$(stat -c %a www.pem)" "600" "pem mode 0600"
ks --json export www --format pfx --profile compat --chain -o www-compat.pfx --yes
expect_rc 0 "compat pfx export, --json"
jv 'd["private_key"]' 'd["certificates"]' 'd["verified"]'
expect_eq "${V[*]:-}" "True 2 True" "--json: private key, leaf + intermediate, verified"
expect_eq "$(stat -c %a www-compat.pfx)" "600" "compat pfx mode 0600"

before=$(sha256sum www.pfx)
ks export www --format pfx -o www.pfx --yes
expect_rc 6 "export over an existing file refused"
expect_in "--force" "$ERR" "the refusal names --force"
expect_eq "$(sha256sum www.pfx)" "$before" "existing file untouched"
echo "not a key" > plain.txt; chmod 644 plain.txt
ks export www --format pem -o plain.txt --yes
expect_rc 6 "export over an existing text file refused"
expect_eq "$(cat plain.txt)" "not a key" "text file untouched"
ks export www --format pem -o plain.txt --yes --force
expect_rc 0 "--force replaces"
expect_eq "$(stat -c %a plain.txt)" "600" "a replaced 0644 file becomes 0600"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" plain.txt && ok || bad "--force wrote the key"
ks export www --format pfx -o www.pfx --yes --force
expect_rc 0 "--force replaces a pfx"
[ "$(sha256sum www.pfx)" != "$before" ] && ok || bad "--force did not replace the pfx"
no_temp_files "exports with --force"

# Never through a symlink (dangling or not), never over a device.
ln -s "$T/elsewhere.pfx" link.pfx
ks export www --format pfx -o link.pfx --yes
expect_rc 6 "export to a dangling symlink refused"
ks export www --format pfx -o link.pfx --yes --force
expect_rc 6 "export through a dangling symlink refused, even with --force"
nothing_written "$T/elsewhere.pfx" "export through a symlink"
[ -L link.pfx ] && ok || bad "the symlink was replaced"
echo "precious" > target.txt
ln -s target.txt link2.pem
ks export www --format pem -o link2.pem --yes --force
expect_rc 6 "export through a symlink to a file refused with --force"
expect_eq "$(cat target.txt)" "precious" "the symlink's target is untouched"
ks export www --cert-only --format pem -o link2.pem --force
expect_rc 6 "certificate export through a symlink refused"
expect_eq "$(cat target.txt)" "precious" "the symlink's target is still untouched"
for extra in "" "--force"; do
  ks export www --format pfx -o /dev/null --yes $extra
  expect_rc 6 "export over /dev/null refused ${extra:-without --force}"
  [ -c /dev/null ] && ok || bad "/dev/null is no longer a character device"
done
ks export www --cert-only --format der -o /dev/null --force
expect_rc 6 "certificate export over /dev/null refused"
[ -c /dev/null ] && ok || bad "/dev/null is no longer a character device"
no_temp_files "refused symlink/device exports"

# --- certificate-only: no store passphrase, no export password, no --yes, no warning -----------
ks_nopass export www --cert-only --format pem -o cert.pem
expect_rc 0 "cert-only pem without any passphrase"
expect_not_in "impersonate" "$ERR" "cert-only pem: no key warning"
ks_nopass export www --cert-only --format pem --chain -o chain.pem
expect_rc 0 "cert-only pem --chain without any passphrase"
ks_nopass export www --cert-only --format der -o cert.der
expect_rc 0 "cert-only der without any passphrase"
ks_nopass export orphan --cert-only --format pem -o orphan-out.pem
expect_rc 0 "a certificate-only entry exports its certificate"
expect_eq "$(cert_fp -in cert.pem)" "$FP" "openssl x509 reads the pem certificate"
expect_eq "$(cert_fp -in cert.der -inform DER)" "$FP" "openssl x509 reads the der certificate"
expect_eq "$(cert_fp -in orphan-out.pem)" "$(cert_fp -in orphan.pem)" "the certificate-only entry's certificate"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' cert.pem)" "1" "cert.pem: one certificate"
expect_eq "$(split_certs chainpart < chain.pem)" "2" "chain.pem: leaf + intermediate"
expect_eq "$(cert_fp -in chainpart-1.pem) $(cert_fp -in chainpart-2.pem)" "$FP $INTER_FP" "chain.pem: leaf first, then the intermediate"
if grep -q "PRIVATE KEY" cert.pem chain.pem; then bad "a cert-only export holds a key"; else ok; fi
expect_eq "$(stat -c %a cert.pem)" "644" "cert-only files are not secret (0644)"
openssl verify -CAfile root.pem -untrusted inter.pem cert.pem >/dev/null 2>&1 && ok || bad "the exported certificate verifies to the root"

# --- PEM with --chain: openssl opens the encrypted key; the certificate and chain follow ---------
grep -q "BEGIN ENCRYPTED PRIVATE KEY" www.pem && ok || bad "pem: the key is encrypted PKCS#8"
if grep -q -e "BEGIN PRIVATE KEY" -e "BEGIN EC PRIVATE KEY" www.pem; then bad "pem: a plaintext key"; else ok; fi
expect_eq "$(key_spki -in www.pem -passin env:KEYSAFE_OUT_PASSPHRASE)" "$SPKI" "openssl pkey opens the key with the password"
OUT=$(openssl pkey -in www.pem -passin pass:wrong -noout 2>&1); RC=$?
[ "$RC" != 0 ] && ok || bad "openssl pkey opened the key with a wrong password"
expect_eq "$(sed -n '1p' www.pem)" "-----BEGIN ENCRYPTED PRIVATE KEY-----" "pem: the key comes first"
expect_eq "$(split_certs pempart < www.pem)" "2" "pem --chain: two certificates after the key"
expect_eq "$(cert_fp -in pempart-1.pem) $(cert_fp -in pempart-2.pem)" "$FP $INTER_FP" "pem: the certificate, then the chain"
OUT=$(openssl asn1parse -in www.pem 2>&1)
expect_in "PBES2" "$OUT" "pem key: PBES2"
expect_in "aes-256-cbc" "$OUT" "pem key: AES-256-CBC"
expect_in "hmacWithSHA256" "$OUT" "pem key: PBKDF2-HMAC-SHA256"
# --out-passphrase-file instead of the environment.
printf 'from a file\n' > out.pw && chmod 600 out.pw
(unset KEYSAFE_OUT_PASSPHRASE; "$KEYSAFE_BIN" export www --format pem -o pwfile.pem --yes --out-passphrase-file out.pw >/dev/null 2>&1)
RC=$?; expect_rc 0 "export with --out-passphrase-file"
expect_eq "$(key_spki -in pwfile.pem -passin file:out.pw)" "$SPKI" "the password came from the file"
# No export password and no terminal: usage error, nothing written.
KEYSAFE_PASSPHRASE_KEEP=1 ks_nopass export www --format pem -o nopw.pem --yes
expect_rc 2 "no export password and no terminal"
nothing_written nopw.pem "export without a password"
# An empty export password would leave the key unprotected: refused, nothing written.
KEYSAFE_OUT_PASSPHRASE="" ks export www --format pfx -o emptypw.pfx --yes
expect_rc 2 "an empty export password is refused"
expect_in "empty" "$ERR" "says the password is empty"
nothing_written emptypw.pfx "export with an empty password"
: > empty.pw && chmod 600 empty.pw
ks export www --format pem -o emptypw.pem --yes --out-passphrase-file empty.pw
expect_rc 2 "an empty --out-passphrase-file is refused"
nothing_written emptypw.pem "export with an empty password file"
# A directory that does not exist, a directory as the output: clean errors.
ks export www --format pfx -o nodir/x.pfx --yes
[ "$RC" != 0 ] && [ "$RC" -lt 128 ] && ok || bad "export into a missing directory (rc=$RC)"
expect_in "keysafe: error:" "$ERR" "missing directory: an error message"
mkdir adir
ks export www --format pfx -o adir --yes --force
expect_rc 6 "export over a directory refused"
[ -d adir ] && [ -z "$(ls -A adir)" ] && ok || bad "the directory was changed"
# A wrong store passphrase: exit 3, nothing written.
KEYSAFE_PASSPHRASE="wrong" ks export www --format pem -o wrongstore.pem --yes
expect_rc 3 "key export with a wrong store passphrase"
nothing_written wrongstore.pem "export with a wrong store passphrase"

# --- wrong combinations: clear errors, nothing written --------------------------------------------
ks export www --cert-only --format pfx -o c.pfx
expect_rc 2 "--cert-only --format pfx"
expect_in "keysafe: error:" "$ERR" "--cert-only pfx: error message"
expect_in "PEM or DER" "$ERR" "--cert-only pfx: says PEM or DER"
nothing_written c.pfx "--cert-only pfx"
ks export www --format der -o k.der --yes
expect_rc 2 "der with a private key"
expect_in "--cert-only" "$ERR" "der with a key: names --cert-only"
nothing_written k.der "der with a key"
ks export www --format der --cert-only --chain -o kc.der
expect_rc 2 "der with --chain"
expect_in "--chain" "$ERR" "der --chain: says why"
nothing_written kc.der "der with --chain"
ks export pend --cert-only --format pem -o pend.pem
expect_rc 1 "a pending entry has no certificate to export"
expect_in "no certificate yet" "$ERR" "pending --cert-only: says no certificate yet"
nothing_written pend.pem "pending --cert-only"
ks export orphan --format pem -o orphan-key.pem --yes
[ "$RC" != 0 ] && [ "$RC" -lt 128 ] && ok || bad "a certificate-only entry has no key to export (rc=$RC)"
expect_in "no private key" "$ERR" "no-key entry: says no private key"
nothing_written orphan-key.pem "key export of a no-key entry"
ks export nosuch --format pem -o nosuch.pem --yes
expect_rc 1 "unknown entry"
expect_in "no entry named" "$ERR" "unknown entry: message"
nothing_written nosuch.pem "unknown entry"
ks export www --format p12 -o x.p12 --yes
expect_rc 2 "unknown format"
ks export www --format pfx --profile legacy -o x.p12 --yes
expect_rc 2 "unknown profile"
nothing_written x.p12 "bad options"
no_temp_files "failed exports"
expect_eq "$(content_hash)" "$H" "exports change nothing but the audit log"
ks audit --json
expect_in '"action": "exported"' "$OUT" "exports are in the audit log"

# --- the PKCS#12 profiles as openssl pkcs12 -info reports them ------------------------------------
OUT=$(openssl pkcs12 -in www.pfx -passin env:KEYSAFE_OUT_PASSPHRASE -info -noout 2>&1); RC=$?
expect_rc 0 "openssl pkcs12 -info opens the modern export"
expect_in "MAC: sha256, Iteration 100000" "$OUT" "modern: SHA-256 MAC, 100000 iterations"
expect_in "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256" "$OUT" "modern: key bag PBES2/PBKDF2/AES-256-CBC"
expect_in "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256" "$OUT" "modern: certificate bags PBES2/PBKDF2/AES-256-CBC"
expect_not_in "3DES" "$OUT" "modern: no 3DES"
expect_not_in "TripleDES" "$OUT" "modern: no TripleDES"
expect_not_in "RC2" "$OUT" "modern: no RC2"
expect_eq "$(openssl pkcs12 -in www.pfx -passin env:KEYSAFE_OUT_PASSPHRASE -nocerts -nodes 2>/dev/null | key_spki)" "$SPKI" "modern: the key"
OUT=$(openssl pkcs12 -in www-compat.pfx -passin env:KEYSAFE_OUT_PASSPHRASE -info -noout 2>&1); RC=$?
expect_rc 0 "openssl pkcs12 -info opens the compat export without -legacy"
expect_in "MAC: sha1" "$OUT" "compat: SHA-1 MAC"
expect_in "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" "$OUT" "compat: 3DES key bag"
expect_in "PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC" "$OUT" "compat: 3DES certificate bags"
expect_not_in "RC2" "$OUT" "compat: no RC2"
expect_not_in "AES" "$OUT" "compat: no AES"
expect_not_in "PBES2" "$OUT" "compat: no PBES2"
iters=$(printf '%s\n' "$OUT" | grep -o 'Iteration [0-9]*' | awk '{print $2}' | sort -un)
for i in $iters; do [ "$i" -ge 2048 ] && [ "$i" -le 600000 ] && ok || bad "compat iteration count $i outside 2048..600000"; done
expect_eq "$(openssl pkcs12 -in www-compat.pfx -passin env:KEYSAFE_OUT_PASSPHRASE -nocerts -nodes 2>/dev/null | key_spki)" "$SPKI" "compat: the key"
expect_eq "$(openssl pkcs12 -in www-compat.pfx -passin env:KEYSAFE_OUT_PASSPHRASE -nokeys -clcerts 2>/dev/null | cert_fp)" "$FP" "compat: the certificate"
# A pending entry exports its key alone (no certificate yet) as PKCS#12.
ks export pend --format pfx -o pend.pfx --yes
expect_rc 0 "a pending entry's key exports"
ks show pend --json
jv 'd["spki_sha256"]'
expect_eq "$(openssl pkcs12 -in pend.pfx -passin env:KEYSAFE_OUT_PASSPHRASE -nocerts -nodes 2>/dev/null | key_spki)" "${V[0]:-}" "the pending key"
finish
