#!/usr/bin/env bash
# Subject alternative names keysafe signs are checked names built one GENERAL_NAME at a time:
# a dNSName that reads "a.example.test,IP:10.9.9.9" (made by the openssl CLI from a config
# file, which keeps the comma inside one DNS name) in an imported certificate, a request or a
# certificate being renewed is refused, and never becomes an IP address SAN in a certificate
# keysafe signs (it used to, through OpenSSL's "DNS:a,IP:b" configuration text). Judged by
# `openssl x509 -text`.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

OUT= ERR= RC=0
EVIL="a.example.test,IP:10.9.9.9"
# no_injected_ip FILE...: no certificate in these files names IP Address:10.9.9.9.
no_injected_ip() {
  local f
  for f in "$@"; do
    [ -e "$f" ] || continue
    if openssl crl2pkcs7 -nocrl -certfile "$f" 2>/dev/null | openssl pkcs7 -print_certs -text -noout 2>/dev/null |
      grep -q "IP Address:10.9.9.9"; then
      return 1
    fi
  done
  return 0
}

cat > evil.cnf <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = a.example.test
[reqext]
subjectAltName = @alt
[ext]
subjectAltName = @alt
basicConstraints = critical,CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[alt]
DNS.1 = $EVIL
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key \
  -out evil.pem -days 30 -config evil.cnf -extensions ext 2>/dev/null
openssl req -new -key evil.key -out evil.req -config evil.cnf -reqexts reqext 2>/dev/null
# The test data is what it claims: one dNSName with the comma in it, no IP address.
expect_in "DNS:$EVIL" "$(openssl x509 -in evil.pem -noout -text)" "openssl made a certificate with the comma in one DNS name"
expect_not_in "IP Address" "$(openssl x509 -in evil.pem -noout -text)" "and no IP address"
expect_in "DNS:$EVIL" "$(openssl req -in evil.req -noout -text)" "openssl made a request with the comma in one DNS name"

new_store
ks ca init corp-root --subject "CN=SAN Test Root" --days 3650
expect_rc 0 "ca init"

# --- an imported key and certificate: keysafe keeps the certificate, signs none of its names --
cat evil.key evil.pem > evil-pair.pem
ks import evil-pair.pem --name evil
expect_rc 0 "import keeps a certificate someone else signed as it is"
H=$(store_hash)
ks ca sign corp-root --key evil --days 30 -o evil-signed.pem
expect_rc 1 "ca sign --key refuses the imported entry's bad DNS name"
expect_in "$EVIL" "$ERR" "the error names the bad name"
expect_in "entry \"evil\"" "$ERR" "and where it came from"
expect_in "not one keysafe signs" "$ERR" "says keysafe will not sign it"
expect_eq "$(store_hash)" "$H" "store unchanged"
no_injected_ip evil-signed.pem && ok || bad "ca sign --key: the comma became an IP address SAN"
[ ! -e evil-signed.pem ] && ok || bad "no certificate written"

ks selfsign evil --days 10
expect_rc 1 "selfsign refuses the bad DNS name"
expect_in "$EVIL" "$ERR" "selfsign names the bad name"
expect_eq "$(store_hash)" "$H" "store unchanged by selfsign"

# --- a request file -----------------------------------------------------------------------
ks ca sign corp-root evil.req -o evil-req.crt
expect_rc 1 "ca sign refuses a request with the bad DNS name"
expect_in "$EVIL" "$ERR" "the error names it"
expect_in "evil.req" "$ERR" "and the request file"
expect_eq "$(store_hash)" "$H" "store unchanged by the refused request"
no_injected_ip evil-req.crt && ok || bad "ca sign REQ: the comma became an IP address SAN"
[ ! -e evil-req.crt ] && ok || bad "no certificate written for the refused request"

# Other name types are not signed either (keysafe checks only DNS names and addresses).
openssl req -new -key evil.key -out mail.req -subj "/CN=mail.example.test" \
  -addext "subjectAltName=DNS:mail.example.test,email:admin@example.test" 2>/dev/null
ks ca sign corp-root mail.req -o mail.crt
expect_rc 1 "a request with an e-mail SAN is refused"
expect_in "e-mail address" "$ERR" "says which entry"
# A request of good names is signed with exactly them: a wildcard, an IDNA label, IPv4, IPv6.
openssl req -new -key evil.key -out good.req -subj "/CN=good.example.test" \
  -addext "subjectAltName=DNS:*.Good.example.test,DNS:xn--bcher-kva.example.test,IP:192.0.2.7,IP:2001:db8::7" 2>/dev/null
ks ca sign corp-root good.req -o good.crt
expect_rc 0 "a request with good names is signed"
expect_in "DNS:*.good.example.test, DNS:xn--bcher-kva.example.test, IP Address:192.0.2.7, IP Address:2001:DB8:0:0:0:0:0:7" \
  "$(openssl x509 -in good.crt -noout -ext subjectAltName 2>/dev/null)" "the names, and only them, are in the certificate"

# --- renew of a certificate the local CA issued with the bad name (made by openssl) -------
KEYSAFE_OUT_PASSPHRASE=export-pass ks export corp-root --format pem -o ca-export.pem --yes
expect_rc 0 "export the CA's key and certificate"
openssl pkey -in ca-export.pem -passin pass:export-pass -out ca.key 2>/dev/null
openssl x509 -in ca-export.pem -out ca.pem 2>/dev/null
# Another key: a certificate for the key of "evil" would just join that entry.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil2.key \
  -out evil2.req -config evil.cnf -reqexts reqext 2>/dev/null
openssl x509 -req -in evil2.req -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile evil.cnf -extensions ext -out evil-ca.pem 2>/dev/null
expect_in "DNS:$EVIL" "$(openssl x509 -in evil-ca.pem -noout -text)" "openssl issued a certificate with the bad name from the local CA"
cat evil2.key evil-ca.pem > evil-ca-pair.pem
ks import evil-ca-pair.pem --name evil2
expect_rc 0 "import the CA-issued certificate"
H=$(store_hash)
ks renew evil2
expect_rc 1 "renew refuses to sign the bad name again"
expect_in "$EVIL" "$ERR" "renew names the bad name"
expect_in "certificate of \"evil2\"" "$ERR" "and the certificate it came from"
expect_eq "$(store_hash)" "$H" "store unchanged by the refused renewal"
ks renew evil2 --same-key
expect_rc 1 "renew --same-key refuses too"
expect_eq "$(store_hash)" "$H" "store unchanged"

# No certificate in the store names the injected address (the imported ones hold it only as
# text inside their one DNS name).
ks --json list
for name in $(jget '.[].name'); do
  ks export "$name" --cert-only --format pem -o "cert-$name.pem" --force
  expect_rc 0 "export the certificate of $name"
done
for f in cert-*.pem; do
  no_injected_ip "$f" && ok || bad "$f carries IP Address:10.9.9.9"
done
finish
