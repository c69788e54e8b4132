#!/usr/bin/env bash
# Local CAs end to end, judged by the openssl CLI: ca init (root, intermediate), ca sign (stored
# key, foreign request), extensions field by field, revoke + CRL, list, export, selfsign.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

# ext CERT NAME: the text of one extension as `openssl x509 -ext` prints it (header included).
ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null; }

new_store

# --- ca init: a root --------------------------------------------------------------------
ks ca init corp-root --subject "CN=Corp Test Root,O=Keysafe Tests" --days 3650
expect_rc 0 "ca init root"
expect_in "root CA" "$OUT" "ca init says what it made"
ks ca init corp-root
expect_rc 6 "ca init refuses a used name"
ks ca init bad --key rsa-512
expect_rc 2 "ca init refuses an unknown key algorithm"
ks ca init bad2 --intermediate-of nothing
expect_rc 1 "ca init refuses an unknown parent"
expect_in "no local CA" "$ERR" "unknown parent is named"

ks ca export corp-root -o root.pem
expect_rc 0 "ca export pem"
expect_eq "$(stat -c %a root.pem)" "644" "exported CA certificate is public (0644)"
expect_in "CA:TRUE" "$(ext root.pem basicConstraints)" "root basicConstraints CA:TRUE"
expect_in "critical" "$(ext root.pem basicConstraints)" "root basicConstraints critical"
expect_in "Certificate Sign, CRL Sign" "$(ext root.pem keyUsage)" "root keyUsage"
expect_in "critical" "$(ext root.pem keyUsage)" "root keyUsage critical"
ROOT_SKI=$(ext root.pem subjectKeyIdentifier | tail -1 | tr -d ' ')
ROOT_AKI=$(ext root.pem authorityKeyIdentifier | tail -1 | tr -d ' ' | sed 's/^keyid://')
[ -n "$ROOT_SKI" ] && ok || bad "root has a subjectKeyIdentifier"
expect_eq "$ROOT_AKI" "$ROOT_SKI" "root AKI = its own SKI"
openssl verify -CAfile root.pem root.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "the root verifies as its own anchor"
ks ca export corp-root -o root.der --format der
expect_rc 0 "ca export der"
openssl x509 -inform DER -in root.der -noout 2>/dev/null; RC=$?
expect_rc 0 "DER export parses"
ks ca export corp-root -o root.pem
expect_rc 6 "ca export refuses to overwrite without --force"

# --- an intermediate ----------------------------------------------------------------------
ks ca init corp-issuing --intermediate-of corp-root --key ec-p256 --days 1000
expect_rc 0 "ca init intermediate"
ks ca export corp-issuing -o issuing-chain.pem
openssl x509 -in issuing-chain.pem -out issuing.pem 2>/dev/null
expect_eq "$(grep -c 'BEGIN CERTIFICATE' issuing-chain.pem)" "2" "intermediate export carries the root too"
expect_in "pathlen:0" "$(ext issuing.pem basicConstraints)" "intermediate pathLenConstraint 0"
openssl verify -CAfile root.pem issuing.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "intermediate verifies against the root"
ks --json ca list
expect_rc 0 "ca list --json"
expect_eq "$(jget '. | length')" "2" "two CAs listed"
expect_eq "$(jget '.[0].name')" "corp-issuing" "CAs in name order"
expect_eq "$(jget '.[0].kind')" "intermediate" "kind intermediate"
expect_eq "$(jget '.[0].parent')" "corp-root" "parent named"
expect_eq "$(jget '.[1].kind')" "root" "kind root"
expect_eq "$(jget '.[1].issued')" "1" "the root issued the intermediate"

# --- ca sign --key: installed at once -------------------------------------------------------
ks create www --dns www.example.test --dns example.test --ip 192.0.2.10 --key rsa-2048
expect_rc 0 "create www"
ks ca sign corp-root --key www --days 30
expect_rc 0 "ca sign --key"
expect_in "installed as the current certificate" "$OUT" "ca sign installs a stored key's certificate"
ks --json show www
WWW_SERIAL=$(jget '.serial')
expect_eq "$(jget '.state')" "installed" "www is installed"
expect_eq "$(jget '.chain_trusted')" "true" "chain checked against the local root"
ks ca sign corp-root --key www --days 30 -o www-chain.pem
expect_rc 0 "ca sign --key -o also writes the file"
openssl x509 -in www-chain.pem -out www.pem 2>/dev/null
openssl verify -CAfile root.pem www.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "openssl verify accepts the issued certificate"
openssl verify -CAfile root.pem -purpose sslserver www.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "issued certificate is good for sslserver"
openssl x509 -in www.pem -noout -checkend $((29 * 86400)) >/dev/null; RC=$?
expect_rc 0 "valid for 29 more days (checkend)"
openssl x509 -in www.pem -noout -checkend $((31 * 86400)) >/dev/null; RC=$?
expect_rc 1 "not valid 31 days from now (checkend)"
expect_in "CA:FALSE" "$(ext www.pem basicConstraints)" "leaf basicConstraints CA:FALSE"
expect_in "critical" "$(ext www.pem basicConstraints)" "leaf basicConstraints critical"
KU=$(ext www.pem keyUsage)
expect_in "critical" "$KU" "leaf keyUsage critical"
expect_in "Digital Signature, Key Encipherment" "$KU" "RSA leaf keyUsage digitalSignature+keyEncipherment"
expect_in "TLS Web Server Authentication" "$(ext www.pem extendedKeyUsage)" "serverAuth"
expect_not_in "Client" "$(ext www.pem extendedKeyUsage)" "no clientAuth in a server profile"
SAN=$(ext www.pem subjectAltName)
expect_in "DNS:www.example.test, DNS:example.test, IP Address:192.0.2.10" "$SAN" "SAN copied from the request"
LEAF_AKI=$(ext www.pem authorityKeyIdentifier | tail -1 | tr -d ' ' | sed 's/^keyid://')
expect_eq "$LEAF_AKI" "$ROOT_SKI" "leaf AKI = root SKI"
[ -n "$(ext www.pem subjectKeyIdentifier | tail -1 | tr -d ' ')" ] && ok || bad "leaf has an SKI"
SERIAL=$(openssl x509 -in www.pem -noout -serial | cut -d= -f2)
expect_eq "${#SERIAL}" "32" "128-bit serial (32 hex digits)"
case "$SERIAL" in [0-7]*) ok ;; *) bad "serial is positive (top bit clear): $SERIAL" ;; esac
[ "$SERIAL" != "$WWW_SERIAL" ] && ok || bad "each issuance draws a new serial"

# --- ca sign REQFILE (key not in the store) through the intermediate -------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner.key \
  -out partner.csr -subj "/CN=partner.example.test/O=Partner" \
  -addext "subjectAltName=DNS:partner.example.test,DNS:api.partner.example.test" 2>/dev/null
H=$(store_hash)
ks ca sign corp-issuing partner.csr --profile client --days 5
expect_rc 0 "ca sign a foreign request"
expect_in "partner.crt" "$OUT" "written to the default file"
[ -f partner.crt ] && ok || bad "partner.crt written"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' partner.crt)" "3" "file holds leaf, intermediate and root"
openssl x509 -in partner.crt -out partner-leaf.pem 2>/dev/null
openssl verify -CAfile root.pem -untrusted issuing.pem partner-leaf.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "verifies through the intermediate (-untrusted)"
openssl verify -CAfile root.pem partner-leaf.pem >/dev/null 2>&1; RC=$?
expect_rc 2 "does not verify without the intermediate"
openssl verify -CAfile root.pem -untrusted issuing.pem -purpose sslclient partner-leaf.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "client profile is good for sslclient"
expect_in "TLS Web Client Authentication" "$(ext partner-leaf.pem extendedKeyUsage)" "clientAuth"
expect_eq "$(ext partner-leaf.pem keyUsage | tail -1 | tr -d ' ')" "DigitalSignature" "EC leaf: digitalSignature only"
expect_in "DNS:partner.example.test, DNS:api.partner.example.test" "$(ext partner-leaf.pem subjectAltName)" "foreign SAN copied"
expect_eq "$(openssl x509 -in partner-leaf.pem -noout -subject -nameopt RFC2253)" "subject=O=Partner,CN=partner.example.test" "subject copied"
# A request whose signature does not verify is refused and the store is unchanged.
python3 - <<'EOF'
import base64
pem = open("partner.csr").read().split("\n")
body = base64.b64decode("".join(l for l in pem if l and not l.startswith("-----")))
b = bytearray(body); b[-5] ^= 0x01
lines = base64.b64encode(bytes(b)).decode()
open("forged.csr", "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" + "\n".join(lines[i:i+64] for i in range(0, len(lines), 64)) + "\n-----END CERTIFICATE REQUEST-----\n")
EOF
H=$(store_hash)
ks ca sign corp-root forged.csr -o forged.crt
expect_rc 1 "a forged request is refused"
expect_in "signature does not verify" "$ERR" "says why"
expect_eq "$(store_hash)" "$H" "store unchanged by a refused request"
[ ! -e forged.crt ] && ok || bad "no certificate written for a forged request"
ks ca sign corp-root root.pem
expect_rc 1 "a certificate is not a request"
ks ca sign corp-root partner.csr --key www
expect_rc 2 "request file and --key together are a usage error"
ks ca sign www --key www
expect_rc 1 "an ordinary entry is not a CA"
expect_in "not a local CA" "$ERR" "says so"

# --- revoke + CRL -------------------------------------------------------------------------
ks create mail --dns mail.example.test
ks ca sign corp-root --key mail --days 60 -o mail-chain.pem
openssl x509 -in mail-chain.pem -out mail.pem 2>/dev/null
ks ca crl corp-root -o before.crl
expect_rc 0 "ca crl"
openssl verify -crl_check -CAfile root.pem -CRLfile before.crl www.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "www passes the CRL check before revocation"
ks ca revoke corp-root www --reason keyCompromise
expect_rc 0 "ca revoke by entry name"
expect_in "keyCompromise" "$OUT" "reason echoed"
ks ca revoke corp-root www
expect_in "already revoked" "$OUT" "revoking twice changes nothing"
ks ca revoke corp-root 0ABCDEF
expect_rc 1 "unknown serial"
ks ca revoke corp-root "$SERIAL" --reason stolen
expect_rc 2 "unknown reason is a usage error"
ks --json ca crl corp-root -o root.crl --days 7
expect_rc 0 "ca crl after revocation"
expect_eq "$(jget '.revoked')" "1" "one serial listed"
N2=$(jget '.crl_number')
openssl crl -in root.crl -noout -CAfile root.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "CRL signature verifies with the CA certificate"
CRLTEXT=$(openssl crl -in root.crl -noout -text 2>/dev/null)
expect_in "Version 2" "$CRLTEXT" "CRL v2"
expect_in "X509v3 CRL Number" "$CRLTEXT" "CRL number present"
expect_in "X509v3 Authority Key Identifier" "$CRLTEXT" "CRL AKI present"
expect_in "$ROOT_SKI" "$(echo "$CRLTEXT" | tr -d ' ')" "CRL AKI = root SKI"
expect_in "Next Update" "$CRLTEXT" "CRL nextUpdate present"
expect_in "Key Compromise" "$CRLTEXT" "reason recorded"
openssl verify -crl_check -CAfile root.pem -CRLfile root.crl www.pem >/dev/null 2>&1; RC=$?
expect_rc 2 "revoked certificate fails openssl verify -crl_check"
OUT=$(openssl verify -crl_check -CAfile root.pem -CRLfile root.crl www.pem 2>&1)
expect_in "certificate revoked" "$OUT" "openssl says revoked"
openssl verify -crl_check -CAfile root.pem -CRLfile root.crl mail.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "unrevoked certificate passes openssl verify -crl_check"
ks ca crl corp-root -o root.crl --format der
expect_rc 0 "CRL replaced (DER)"
openssl crl -inform DER -in root.crl -noout 2>/dev/null; RC=$?
expect_rc 0 "DER CRL parses"
ks --json ca list --issued corp-root
expect_in "keyCompromise" "$OUT" "issued list shows the revocation"

# --- selfsign ------------------------------------------------------------------------------
ks create intranet --dns intranet.test --key ed25519
ks selfsign intranet --days 10
expect_rc 0 "selfsign"
ks --json show intranet
expect_eq "$(jget '.state')" "installed" "selfsigned entry is installed"
expect_eq "$(jget '.subject')" "$(jget '.issuer')" "self-issued"
ks selfsign corp-root
expect_rc 2 "selfsign refuses a CA"
ks selfsign nothing
expect_rc 1 "selfsign of an unknown entry"

# --- audit ---------------------------------------------------------------------------------
ks audit --json
for action in ca-created issued revoked crl-published installed; do
  expect_in "\"$action\"" "$OUT" "audit records $action"
done
ks audit --verify
expect_rc 0 "audit chain intact"

# --- help ----------------------------------------------------------------------------------
for sub in init sign revoke crl list export; do
  ks ca "$sub" --help
  expect_rc 0 "ca $sub --help"
  expect_in "EXAMPLES" "$OUT" "ca $sub --help has examples"
done
ks selfsign --help
expect_in "EXAMPLES" "$OUT" "selfsign --help has examples"

finish
