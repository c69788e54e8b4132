#!/usr/bin/env bash
# Interoperability with the openssl CLI: keysafe's requests verify and carry the requested names
# for every key type, and certificates issued by openssl install in every form a CA sends them:
# PEM, DER, a shuffled PEM bundle with intermediate and root, PKCS#7 DER and PEM.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

fingerprint_of() { openssl x509 -in "$1" -inform "${2:-PEM}" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
# flip_last_byte IN OUT: a copy of IN with its last byte changed.
flip_last_byte() {
  python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 0x01
open(sys.argv[2], "wb").write(b)' "$1" "$2"
}

new_store
ALGS="ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096 ed25519"
declare -A KEYTEXT=([ec-p256]="NIST CURVE: P-256" [ec-p384]="NIST CURVE: P-384"
  [rsa-2048]="Public-Key: (2048 bit)" [rsa-3072]="Public-Key: (3072 bit)"
  [rsa-4096]="Public-Key: (4096 bit)" [ed25519]="Public Key Algorithm: ED25519")
declare -A SIGALG=([ec-p256]="ecdsa-with-SHA256" [ec-p384]="ecdsa-with-SHA384"
  [rsa-2048]="sha256WithRSAEncryption" [rsa-3072]="sha256WithRSAEncryption"
  [rsa-4096]="sha256WithRSAEncryption" [ed25519]="ED25519")

# --- requests: openssl verifies them and reads back every name ------------------------------------
for alg in $ALGS; do
  name="$alg"
  req="$name.req"
  ks create "$name" --key "$alg" --dns "www.$alg.example.com" --dns "$alg.example.com" \
    --dns "*.wild.$alg.example.com" --ip 192.0.2.44 --ip 2001:db8::44 --subject "O=Example Ltd,C=GB"
  expect_rc 0 "create $alg"
  verify=$(openssl req -in "$req" -noout -verify 2>&1)
  expect_in "verify OK" "$verify" "openssl req -verify accepts the $alg request"
  expect_not_in "failure" "$verify" "openssl req -verify reports no failure for $alg"
  text=$(openssl req -in "$req" -noout -text 2>&1)
  expect_in "DNS:www.$alg.example.com" "$text" "$alg request SAN"
  expect_in "DNS:$alg.example.com" "$text" "$alg request SAN"
  expect_in "DNS:*.wild.$alg.example.com" "$text" "$alg request SAN wildcard"
  expect_in "IP Address:192.0.2.44" "$text" "$alg request SAN IPv4"
  expect_in "IP Address:2001:DB8:0:0:0:0:0:44" "$text" "$alg request SAN IPv6"
  expect_eq "$(printf '%s\n' "$text" | grep -c 'DNS:')" 1 "$alg request has one subjectAltName line"
  expect_in "${KEYTEXT[$alg]}" "$text" "$alg request key type"
  expect_in "Signature Algorithm: ${SIGALG[$alg]}" "$text" "$alg request signature algorithm"
  expect_eq "$(openssl req -in "$req" -noout -subject -nameopt RFC2253 2>&1)" \
    "subject=CN=www.$alg.example.com,O=Example Ltd,C=GB" "$alg request subject"
  # keysafe's idea of the public key is openssl's.
  ks_notty show "$name" --json
  expect_eq "$(jget .spki_sha256)" \
    "$(openssl req -in "$req" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" \
    "$alg spki_sha256 matches openssl"
  # The check can fail: a request with a damaged signature does not verify.
  openssl req -in "$req" -outform DER -out "$name-req.der"
  flip_last_byte "$name-req.der" "$name-bad.der"
  bad_verify=$(openssl req -in "$name-bad.der" -inform DER -noout -verify 2>&1)
  expect_not_in "verify OK" "$bad_verify" "openssl rejects the $alg request with a flipped signature byte"
  h=$(store_hash)
  ks_notty install "$name-bad.der"
  expect_rc 1 "keysafe refuses a $alg request with a bad signature"
  expect_in "signature does not verify" "$ERR" "keysafe says the $alg request signature is bad"
  expect_eq "$(store_hash)" "$h" "a bad request leaves the store unchanged"
done

# An IP-only request: CN is the address, no DNS names.
ks create ip-only --ip 198.51.100.7 -o ip-only.req
expect_rc 0 "create an IP-only request"
expect_in "verify OK" "$(openssl req -in ip-only.req -noout -verify 2>&1)" "the IP-only request verifies"
expect_in "IP Address:198.51.100.7" "$(openssl req -in ip-only.req -noout -text)" "IP-only SAN"
expect_not_in "DNS:" "$(openssl req -in ip-only.req -noout -text)" "IP-only request has no DNS names"
expect_eq "$(openssl req -in ip-only.req -noout -subject -nameopt RFC2253)" "subject=CN=198.51.100.7" "IP-only subject"
# A first DNS name too long for a CN (RFC 5280: at most 64 characters) must not silently give a
# request with an empty subject: either refused with a message, or a subject that is not empty.
long="$(printf 'a%.0s' $(seq 60)).$(printf 'b%.0s' $(seq 20)).example"
ks create long-cn --dns "$long" --dns short.example -o long-cn.req
if [ "$RC" = 0 ]; then
  subject=$(openssl req -in long-cn.req -noout -subject -nameopt RFC2253 2>&1)
  if [ "$subject" != "subject=" ]; then ok
  else bad "a first DNS name of ${#long} characters silently gives a request with an empty subject"; fi
  ks_notty show long-cn --json
  if [ -n "$(jget .subject)" ]; then ok; else bad "show long-cn: empty subject"; fi
else
  expect_rc 2 "a first DNS name of ${#long} characters is refused as a usage error"
  expect_in "64" "$ERR" "the message gives the CN limit"
fi
# DNS names are normalized: lower case, no trailing dot, no duplicates.
ks create mixed --dns WWW.Mixed.Example. --dns www.mixed.example --dns Other.Mixed.Example -o mixed.req
expect_rc 0 "create with mixed-case names"
text=$(openssl req -in mixed.req -noout -text)
expect_in "DNS:www.mixed.example, DNS:other.mixed.example" "$text" "names are normalized and de-duplicated"

# --- a CA hierarchy made with the openssl CLI ------------------------------------------------------
make_ca root
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=inter Test Intermediate" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 1825 \
  -extfile inter.ext -out inter.pem 2>/dev/null || bad "openssl could not make the intermediate"
for alg in $ALGS; do
  sign_csr "$alg.req" "$alg.pem" 90 inter || bad "openssl could not sign the $alg request"
done
openssl verify -CAfile root.pem -untrusted inter.pem ec-p256.pem >/dev/null 2>&1 || bad "openssl does not verify its own chain"

# show_installed NAME CERT [FORM] WHAT: the entry is installed with exactly that certificate.
show_installed() {
  ks_notty show "$1" --json
  expect_eq "$(jget .state)" installed "$4: state"
  expect_eq "$(lower "$(jget .fingerprint_sha256)")" "$(fingerprint_of "$2" "$3")" "$4: current certificate"
  expect_eq "$(jget .issuer)" "CN=inter Test Intermediate" "$4: issuer"
  expect_eq "$(jget .dns)" "[\"www.$1.example.com\",\"$1.example.com\",\"*.wild.$1.example.com\"]" "$4: dns"
  expect_eq "$(jget .ip)" '["192.0.2.44","2001:db8::44"]' "$4: ip"
}

# DER, leaf only, no --ca-file: installed, with a warning naming the missing intermediate.
openssl x509 -in ec-p256.pem -outform DER -out ec-p256.der
ks_notty install ec-p256.der
expect_rc 0 "install a DER certificate"
expect_in "keysafe: warning:" "$ERR" "DER leaf alone: a warning"
expect_in "CN=inter Test Intermediate" "$ERR" "DER leaf alone: the warning names the missing intermediate"
show_installed ec-p256 ec-p256.der DER "DER install"
ks_notty show ec-p256 --json
expect_eq "$(jget .chain_trusted)" false "DER leaf alone: chain not trusted"

# Leaf + intermediate (no root), no --ca-file: the warning names the missing root.
cat inter.pem ec-p384.pem >ec-p384-chain.pem
ks_notty --json install ec-p384-chain.pem
expect_rc 0 "install leaf + intermediate without the root"
expect_eq "$(jget .name)" ec-p384 "install --json name"
expect_eq "$(jget .chain_trusted)" false "leaf + intermediate: not trusted"
expect_in "CN=root Test Root" "$ERR" "leaf + intermediate: the warning names the missing root"
expect_in "--ca-file" "$ERR" "leaf + intermediate: the warning suggests --ca-file"
expect_eq "$(jget .chain_length)" 1 "leaf + intermediate: the intermediate is kept"
show_installed ec-p384 ec-p384.pem PEM "leaf + intermediate install"
ks_notty show ec-p384 --json
expect_eq "$(jget .chain_trusted)" false "show: leaf + intermediate not trusted"
if [ "$(jget .chain_problem)" != null ]; then ok; else bad "show: leaf + intermediate has no chain_problem"; fi

# A shuffled bundle (root, leaf, intermediate) with --ca-file root.pem: trusted, no warning.
cat root.pem rsa-2048.pem inter.pem >rsa-2048-bundle.pem
ks_notty install rsa-2048-bundle.pem --ca-file root.pem
expect_rc 0 "install a shuffled bundle with --ca-file"
expect_not_in "warning" "$ERR" "shuffled bundle with --ca-file: no warning"
expect_in "trusted" "$OUT" "shuffled bundle with --ca-file: reported trusted"
expect_not_in "NOT" "$OUT" "shuffled bundle with --ca-file: not reported unverified"
show_installed rsa-2048 rsa-2048.pem PEM "shuffled bundle install"
ks_notty show rsa-2048 --json
expect_eq "$(jget .chain_trusted)" true "shuffled bundle with --ca-file: chain_trusted"
expect_eq "$(jget .chain_problem)" null "shuffled bundle with --ca-file: no chain_problem"

# The same shuffled order without --ca-file: installed, not trusted, a warning.
cat inter.pem rsa-3072.pem root.pem >rsa-3072-bundle.pem
ks_notty install rsa-3072-bundle.pem
expect_rc 0 "install a shuffled bundle without --ca-file"
expect_in "keysafe: warning:" "$ERR" "shuffled bundle without --ca-file: a warning"
expect_in "root Test Root" "$ERR" "shuffled bundle without --ca-file: the warning names the root"
show_installed rsa-3072 rsa-3072.pem PEM "shuffled bundle without --ca-file"
ks_notty show rsa-3072 --json
expect_eq "$(jget .chain_trusted)" false "shuffled bundle without --ca-file: not trusted"

# PKCS#7, DER, with --ca-file: trusted.
openssl crl2pkcs7 -nocrl -certfile inter.pem -certfile rsa-4096.pem -outform DER -out rsa-4096.p7b
ks_notty install rsa-4096.p7b --ca-file root.pem
expect_rc 0 "install PKCS#7 DER with --ca-file"
expect_not_in "warning" "$ERR" "PKCS#7 DER with --ca-file: no warning"
show_installed rsa-4096 rsa-4096.pem PEM "PKCS#7 DER install"
ks_notty show rsa-4096 --json
expect_eq "$(jget .chain_trusted)" true "PKCS#7 DER with --ca-file: chain_trusted"

# PKCS#7, PEM, with --ca-file: trusted; the leaf last in the bundle.
openssl crl2pkcs7 -nocrl -certfile root.pem -certfile inter.pem -certfile ed25519.pem -out ed25519.p7c
ks_notty --json install ed25519.p7c --ca-file root.pem
expect_rc 0 "install PKCS#7 PEM with --ca-file"
expect_eq "$(jget .chain_trusted)" true "PKCS#7 PEM with --ca-file: install --json chain_trusted"
expect_eq "$(jget .chain_problem)" null "PKCS#7 PEM with --ca-file: install --json chain_problem"
expect_eq "$(jget .warnings | tr -d '[]')" "" "PKCS#7 PEM with --ca-file: no warnings"
show_installed ed25519 ed25519.pem PEM "PKCS#7 PEM install"
ks_notty show ed25519 --json
expect_eq "$(jget .chain_trusted)" true "PKCS#7 PEM with --ca-file: chain_trusted"

# --ca-file with the leaf alone: the intermediate is missing, and the warning says so.
ks create lonely --dns lonely.example -o lonely.req
sign_csr lonely.req lonely.pem 90 inter
ks_notty install lonely.pem --ca-file root.pem
expect_rc 0 "install a leaf alone with --ca-file"
expect_in "CN=inter Test Intermediate" "$ERR" "the warning names the missing intermediate"
ks_notty show lonely --json
expect_eq "$(jget .chain_trusted)" false "leaf alone with --ca-file: not trusted"

# Windows line ends, and a certificate that has nothing to do with the chain.
ks create crlf --dns crlf.example -o crlf.req
sign_csr crlf.req crlf.pem 90 inter
make_ca unrelated
sed 's/$/\r/' crlf.pem >crlf-win.pem
sed 's/$/\r/' inter.pem >inter-win.pem
cat unrelated.pem crlf-win.pem inter-win.pem >crlf-bundle.pem
ks_notty install crlf-bundle.pem --ca-file root.pem
expect_rc 0 "install a CRLF bundle with an unrelated certificate"
expect_in "not on this certificate's chain" "$ERR" "the unrelated certificate is reported"
expect_not_in "does not reach a trusted root" "$ERR" "the CRLF chain is trusted"
ks_notty show crlf --json
expect_eq "$(jget .chain_trusted)" true "CRLF bundle: chain_trusted"
expect_eq "$(lower "$(jget .fingerprint_sha256)")" "$(fingerprint_of crlf.pem)" "CRLF bundle: current certificate"

# --ca-file that is not a CA file.
ks create badca --dns badca.example -o badca.req
sign_csr badca.req badca.pem 90 inter
h=$(store_hash)
ks_notty install badca.pem --ca-file "$T/no-such-root.pem"
expect_rc 1 "--ca-file that does not exist"
expect_in "--ca-file" "$ERR" "the error names --ca-file"
expect_eq "$(store_hash)" "$h" "a bad --ca-file leaves the store unchanged"

ks_notty list --json
expect_eq "$(jget '. | length')" 12 "every entry is listed"

finish
