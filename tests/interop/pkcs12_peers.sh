# PKCS#12 interoperability with independent peers, both ways.
# keysafe -> peers: an EC and an RSA-2048 key, signed by an intermediate under a root (openssl
# CLI), exported with --chain in both profiles; every file opens in openssl pkcs12 (compat
# without -legacy), keytool (-list, -importkeystore into JKS and back out), NSS pk12util and
# GnuTLS certtool, and the key each peer extracts has the public key keysafe shows (spki_sha256),
# the certificate its fingerprint.
# peers -> keysafe: PKCS#12 written by openssl (default and -legacy), keytool, certtool and
# pk12util import into a fresh store with the same public key and the certificate installed
# (or expired, for keytool's deliberately expired certificate).
source "$KEYSAFE_TESTS/lib.sh"
for tool in openssl keytool pk12util certutil certtool; do
  require_tool "$tool" "gnutls-bin libnss3-tools openjdk-17-jre-headless"
done
# jv EXPR...: Python expressions over d = the JSON in $OUT, one line each, into the array V
# (one python start per call: python is slow to start here).
jv() { mapfile -t V < <(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); [print(eval(e)) for e in sys.argv[1:]]' "$@"); }
# Public-key hash (SHA-256 of the DER SubjectPublicKeyInfo) of the key on stdin; extra args go
# to openssl pkey (e.g. -passin).
key_spki() { openssl pkey "$@" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
# SHA-256 fingerprint, lowercase hex without colons, of the first certificate on stdin.
cert_fp() { openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
colons_to_hex() { sed 's/://g' | tr 'A-F' 'a-f'; }
# Split a PEM stream on stdin into $1-1.pem, $1-2.pem, ... (certificates only); prints the count.
split_certs() {
  awk -v p="$1" '/-----BEGIN CERTIFICATE-----/{n++; f=p "-" n ".pem"} f{print > f} /-----END CERTIFICATE-----/{f=""} END{print n+0}'
}

export PW="peer export pw 1"   # keytool needs at least 6 characters
export PW2="jks-store-pw-2"

# --- a root and an intermediate made with the openssl CLI ---------------------------------------
make_ca root
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=Peers Test Intermediate" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > inter.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 3650 \
  -extfile inter.ext -out inter.pem 2>/dev/null
[ -s inter.pem ] && ok || bad "openssl made the intermediate"
INTER_FP=$(cert_fp < inter.pem)

# =========================== keysafe -> peers ===================================================
new_store
ks create ecsite --dns ec.example.test;                   expect_rc 0 "create EC key"
ks create rsasite --dns rsa.example.test --key rsa-2048;  expect_rc 0 "create RSA-2048 key"
declare -A SPKI FP
for e in ecsite rsasite; do
  sign_csr $e.req $e.cer 90 inter
  cat $e.cer inter.pem > $e-full.pem
  ks install $e-full.pem --ca-file root.pem
  expect_rc 0 "install $e (leaf + intermediate, root trusted)"
  ks show $e --json
  jv 'd["state"]' 'd["spki_sha256"]' 'd["fingerprint_sha256"]'
  expect_eq "${V[0]:-}" "installed" "$e installed"
  SPKI[$e]=${V[1]:-}
  FP[$e]=${V[2]:-}
  expect_eq "${FP[$e]}" "$(cert_fp < $e.cer)" "$e: show's fingerprint is the signed certificate's"
  expect_eq "${SPKI[$e]}" "$(openssl x509 -in $e.cer -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" \
    "$e: show's spki_sha256 is the certificate's public key"
done

export KEYSAFE_OUT_PASSPHRASE="$PW"
for e in ecsite rsasite; do
  for profile in modern compat; do
    f=$e-$profile.pfx
    what="$e $profile"
    ks export $e --format pfx --profile $profile --chain -o $f --yes
    expect_rc 0 "$what: export"
    [ -s $f ] || { bad "$what: no file written"; continue; }

    # openssl pkcs12 (compat profile too: no -legacy, no RC2 anywhere)
    openssl pkcs12 -in $f -passin env:PW -info -noout >/dev/null 2>&1
    RC=$?; expect_rc 0 "$what: openssl pkcs12 opens it without -legacy"
    expect_eq "$(openssl pkcs12 -in $f -passin env:PW -nocerts -nodes 2>/dev/null | key_spki)" "${SPKI[$e]}" \
      "$what: openssl extracts the same key"
    expect_eq "$(openssl pkcs12 -in $f -passin env:PW -nokeys -clcerts 2>/dev/null | cert_fp)" "${FP[$e]}" \
      "$what: openssl extracts the same certificate"
    expect_eq "$(openssl pkcs12 -in $f -passin env:PW -nokeys -cacerts 2>/dev/null | cert_fp)" "$INTER_FP" \
      "$what: --chain put the intermediate in"
    expect_eq "$(openssl pkcs12 -in $f -passin env:PW -nokeys 2>/dev/null | grep -c 'BEGIN CERTIFICATE')" "2" \
      "$what: leaf + intermediate, nothing else"

    # keytool: -list, then into JKS and back out to PKCS#12, judged by openssl
    OUT=$(keytool -list -v -keystore $f -storetype PKCS12 -storepass "$PW" 2>&1); RC=$?; ERR=""
    expect_rc 0 "$what: keytool -list"
    expect_in "Entry type: PrivateKeyEntry" "$OUT" "$what: keytool sees a private key entry"
    expect_in "Alias name: $e" "$OUT" "$what: keytool alias is the entry name"
    expect_in "Certificate chain length: 2" "$OUT" "$what: keytool sees the chain"
    kt_fp=$(printf '%s\n' "$OUT" | grep -m1 'SHA256:' | sed 's/.*SHA256: *//' | colons_to_hex)
    expect_eq "$kt_fp" "${FP[$e]}" "$what: keytool's certificate fingerprint"
    rm -f $e-$profile.jks $e-$profile-back.p12
    OUT=$(keytool -importkeystore -noprompt -srckeystore $f -srcstoretype PKCS12 -srcstorepass "$PW" \
      -destkeystore $e-$profile.jks -deststoretype JKS -deststorepass "$PW2" -destkeypass "$PW2" 2>&1); RC=$?
    expect_rc 0 "$what: keytool -importkeystore into JKS"
    OUT=$(keytool -importkeystore -noprompt -srckeystore $e-$profile.jks -srcstoretype JKS -srcstorepass "$PW2" \
      -srcalias $e -srckeypass "$PW2" -destkeystore $e-$profile-back.p12 -deststoretype PKCS12 \
      -deststorepass "$PW" -destkeypass "$PW" 2>&1); RC=$?
    expect_rc 0 "$what: keytool exports the JKS entry back to PKCS#12"
    expect_eq "$(openssl pkcs12 -in $e-$profile-back.p12 -passin env:PW -nocerts -nodes 2>/dev/null | key_spki)" "${SPKI[$e]}" \
      "$what: the key keytool carried is the same key"
    expect_eq "$(openssl pkcs12 -in $e-$profile-back.p12 -passin env:PW -nokeys -clcerts 2>/dev/null | cert_fp)" "${FP[$e]}" \
      "$what: the certificate keytool carried"

    # NSS: pk12util -i into a fresh database, then -o back out, judged by openssl
    db=nss-$e-$profile; rm -rf $db; mkdir $db
    certutil -N -d sql:$db --empty-password >/dev/null 2>&1
    OUT=$(pk12util -i $f -d sql:$db -W "$PW" -K "" 2>&1); RC=$?
    expect_rc 0 "$what: pk12util -i"
    expect_in "IMPORT SUCCESSFUL" "$OUT" "$what: NSS imports it"
    OUT=$(certutil -L -d sql:$db 2>&1)
    expect_in "$e" "$OUT" "$what: NSS nickname is the entry name"
    expect_in "Peers Test Intermediate" "$OUT" "$what: NSS got the intermediate"
    OUT=$(pk12util -o $e-$profile-nss.p12 -n $e -d sql:$db -W "$PW" -K "" 2>&1); RC=$?
    expect_rc 0 "$what: pk12util -o"
    expect_eq "$(openssl pkcs12 -in $e-$profile-nss.p12 -passin env:PW -nocerts -nodes 2>/dev/null | key_spki)" "${SPKI[$e]}" \
      "$what: the key NSS held is the same key"
    expect_eq "$(openssl pkcs12 -in $e-$profile-nss.p12 -passin env:PW -nokeys -clcerts 2>/dev/null | cert_fp)" "${FP[$e]}" \
      "$what: the certificate NSS held"

    # GnuTLS certtool --p12-info: decrypts the bags, prints certificates and the shrouded key
    OUT=$(certtool --p12-info --inder --infile $f --password "$PW" 2>&1); RC=$?
    expect_rc 0 "$what: certtool --p12-info"
    expect_in "$([ $profile = modern ] && echo AES-256-CBC || echo 3DES-CBC)" "$OUT" "$what: certtool names the cipher"
    printf '%s\n' "$OUT" | awk '/BEGIN ENCRYPTED PRIVATE KEY/,/END ENCRYPTED PRIVATE KEY/' > $e-$profile-gnutls.key
    gt_spki=$(certtool --pubkey-info --load-privkey $e-$profile-gnutls.key --pkcs8 --password "$PW" --outder 2>/dev/null | sha256sum | cut -d' ' -f1)
    expect_eq "$gt_spki" "${SPKI[$e]}" "$what: the key GnuTLS decrypts is the same key"
    n=$(printf '%s\n' "$OUT" | split_certs $e-$profile-gt)
    expect_eq "$n" "2" "$what: certtool sees two certificates"
    fps=$(for i in $(seq 1 "$n"); do cert_fp < $e-$profile-gt-$i.pem; done | sort | tr '\n' ' ')
    expect_eq "$fps" "$(printf '%s\n' "${FP[$e]}" "$INTER_FP" | sort | tr '\n' ' ')" "$what: certtool's certificates"
    OUT=$(certtool --p12-info --inder --infile $f --password "wrong password" 2>&1); RC=$?
    [ "$RC" != 0 ] && ok || bad "$what: certtool accepts a wrong password"
  done
  # compat really is the profile every reader takes: 3DES + SHA-1 MAC, no RC2, no AES
  info=$(openssl pkcs12 -in $e-compat.pfx -passin env:PW -info -noout 2>&1)
  expect_in "pbeWithSHA1And3-KeyTripleDES-CBC" "$info" "$e compat: 3DES"
  expect_not_in "RC2" "$info" "$e compat: no RC2"
  expect_not_in "AES" "$info" "$e compat: no AES"
done
unset KEYSAFE_OUT_PASSPHRASE

# =========================== peers -> keysafe ===================================================
# import_check FILE PASSWORD SPKI FP STATE WHAT: a fresh store imports FILE into one entry with
# that public key, that certificate and that state.
import_check() {
  local file=$1 pw=$2 spki=$3 fp=$4 state=$5 what=$6
  new_store
  KEYSAFE_IN_PASSPHRASE="$pw" ks import "$file"
  expect_rc 0 "$what: import"
  ks list --json
  jv 'len(d)' 'd[0]["name"]' 'd[0]["spki_sha256"]' 'd[0]["fingerprint_sha256"]' 'd[0]["state"]'
  expect_eq "${V[0]:-}" "1" "$what: one entry (the chain is not split off)"
  local name=${V[1]:-}
  expect_eq "${V[2]:-}" "$spki" "$what: the same public key"
  expect_eq "${V[3]:-}" "$fp" "$what: the certificate"
  expect_eq "${V[4]:-}" "$state" "$what: state $state"
  # the key really is in the store: export it and let openssl compare
  KEYSAFE_OUT_PASSPHRASE="$PW" ks export "$name" --format pem -o "$file.re.pem" --yes --force
  expect_rc 0 "$what: the imported key exports"
  expect_eq "$(key_spki -in "$file.re.pem" -passin env:PW)" "$spki" "$what: the exported key is the imported key"
}

# A key and a certificate under the intermediate, made with openssl.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.key 2>/dev/null
openssl req -new -key peer.key -subj /CN=peer.example.test -out peer.csr 2>/dev/null
openssl x509 -req -in peer.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 30 -out peer.cer 2>/dev/null
PEER_SPKI=$(key_spki -in peer.key)
PEER_FP=$(cert_fp < peer.cer)
cat peer.cer inter.pem > peer-chain.pem

openssl pkcs12 -export -inkey peer.key -in peer.cer -certfile inter.pem -name openssl-site \
  -passout env:PW -out openssl-default.p12 2>/dev/null
import_check openssl-default.p12 "$PW" "$PEER_SPKI" "$PEER_FP" installed "openssl pkcs12 -export (default)"
openssl pkcs12 -export -legacy -inkey peer.key -in peer.cer -certfile inter.pem -name openssl-legacy \
  -passout env:PW -out openssl-legacy.p12 2>/dev/null
openssl pkcs12 -in openssl-legacy.p12 -passin env:PW -info -noout -legacy 2>&1 | grep -q RC2 && ok || bad "the -legacy file uses RC2"
import_check openssl-legacy.p12 "$PW" "$PEER_SPKI" "$PEER_FP" installed "openssl pkcs12 -export -legacy (RC2-40)"

OUT=$(certtool --to-p12 --load-privkey peer.key --load-certificate peer-chain.pem --p12-name gnutls-site \
  --password "$PW" --outder --outfile certtool.p12 2>&1); RC=$?
expect_rc 0 "certtool --to-p12"
import_check certtool.p12 "$PW" "$PEER_SPKI" "$PEER_FP" installed "certtool --to-p12"

db=nss-out; rm -rf $db; mkdir $db
certutil -N -d sql:$db --empty-password >/dev/null 2>&1
OUT=$(pk12util -i openssl-default.p12 -d sql:$db -W "$PW" -K "" 2>&1); RC=$?
expect_rc 0 "pk12util -i the openssl file"
OUT=$(pk12util -o nss.p12 -n openssl-site -d sql:$db -W "$PW" -K "" 2>&1); RC=$?
expect_rc 0 "pk12util -o"
import_check nss.p12 "$PW" "$PEER_SPKI" "$PEER_FP" installed "pk12util -o"

# keytool: its own key, a self-signed certificate that expired days ago.
rm -f keytool.p12
OUT=$(keytool -genkeypair -alias javasite -keyalg EC -groupname secp256r1 -dname CN=java.example.test \
  -startdate -10d -validity 2 -storetype PKCS12 -keystore keytool.p12 -storepass "$PW" 2>&1); RC=$?
expect_rc 0 "keytool -genkeypair -storetype PKCS12"
KT_SPKI=$(openssl pkcs12 -in keytool.p12 -passin env:PW -nocerts -nodes 2>/dev/null | key_spki)
KT_FP=$(openssl pkcs12 -in keytool.p12 -passin env:PW -nokeys 2>/dev/null | cert_fp)
import_check keytool.p12 "$PW" "$KT_SPKI" "$KT_FP" expired "keytool -genkeypair (expired certificate)"
ks list --json
jv 'd[0]["name"]'
expect_eq "${V[0]:-}" "javasite" "keytool alias becomes the entry name"

# keytool: an RSA-2048 key with a valid certificate.
rm -f keytool-rsa.p12
OUT=$(keytool -genkeypair -alias javarsa -keyalg RSA -keysize 2048 -dname CN=javarsa.example.test \
  -validity 30 -storetype PKCS12 -keystore keytool-rsa.p12 -storepass "$PW" 2>&1); RC=$?
expect_rc 0 "keytool -genkeypair RSA"
KT_SPKI=$(openssl pkcs12 -in keytool-rsa.p12 -passin env:PW -nocerts -nodes 2>/dev/null | key_spki)
KT_FP=$(openssl pkcs12 -in keytool-rsa.p12 -passin env:PW -nokeys 2>/dev/null | cert_fp)
import_check keytool-rsa.p12 "$PW" "$KT_SPKI" "$KT_FP" installed "keytool -genkeypair RSA-2048"

# A peer file with the wrong password: exit 3, store unchanged.
h=$(store_hash)
KEYSAFE_IN_PASSPHRASE="not the password" ks import certtool.p12
expect_rc 3 "certtool file with a wrong password"
expect_eq "$(store_hash)" "$h" "store unchanged after a wrong password"
finish
