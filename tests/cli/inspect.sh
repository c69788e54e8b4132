# inspect: what a file is (certificate, bundle, PKCS#7, request, key plain and encrypted,
# PKCS#12, keysafe backup), its names, validity, issuer and public-key hash (judged by openssl),
# and which entry holds its key: with no store passphrase, with no store at all, and a clear
# error for garbage. The files are made by openssl; the store is never changed.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
# openssl's SHA-256 of a PEM public key's DER SubjectPublicKeyInfo.
spki_of_pub() { openssl pkey -pubin -in "$1" -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
spki_of_cert() { openssl x509 -in "$1" -pubkey -noout > "$1.pub" && spki_of_pub "$1.pub"; }
spki_of_key() { openssl pkey -in "$1" -pubout -out "$1.pub" 2>/dev/null && spki_of_pub "$1.pub"; }
# ksi ARGS...: keysafe with no store passphrase anywhere and no terminal.
ksi() { ks_notty "$@"; }

make_ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
  -subj "/CN=leaf.example.test" -addext "subjectAltName=DNS:leaf.example.test,IP:10.1.2.3" 2>/dev/null
sign_csr leaf.csr leaf.pem 30
LEAF_SPKI=$(spki_of_cert leaf.pem)

# --- no store at all: not an error, entry null (PostgreSQL: an empty database)
if on_sqlite; then export KEYSAFE_STORE="$T/none/store.db"; else use_store none; fi
ksi --json inspect leaf.pem;  expect_rc 0 "inspect a certificate with no store"
expect_eq "$(jget .kind)" "certificate" "kind of a PEM certificate"
expect_eq "$(jget .spki_sha256)" "$LEAF_SPKI" "SPKI SHA-256 as openssl computes it"
expect_eq "$(jget .entry)" "null" "no store: entry null"
expect_eq "$(jget .subject)" "CN=leaf.example.test" "subject"
expect_eq "$(jget .issuer)" "CN=ca Test Root" "issuer"
expect_eq "$(jget '.dns[0]')" "leaf.example.test" "DNS SAN"
expect_eq "$(jget '.ip[0]')" "10.1.2.3" "IP SAN"
expect_eq "$(jget .key_algorithm)" "ec-p256" "key algorithm"
expect_eq "$(jget .not_after)" "$(date -u -d "$(openssl x509 -in leaf.pem -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)" "notAfter"
[ -e "$T/none" ] && bad "inspect created a store directory" || ok
ksi inspect leaf.pem;  expect_rc 0 "text output"
expect_in "CN=leaf.example.test" "$OUT" "text: subject"
expect_in "DNS:leaf.example.test, IP:10.1.2.3" "$OUT" "text: names"
expect_in "$LEAF_SPKI" "$OUT" "text: public key hash"
expect_in "days left" "$OUT" "text: validity"
expect_in "not looked up (no store)" "$OUT" "text: no store"

# --- DER certificate, bundle, PKCS#7 (PEM and DER), request, key (PEM and DER)
openssl x509 -in leaf.pem -outform DER -out leaf.der
ksi --json inspect leaf.der; expect_rc 0 "DER certificate"
expect_eq "$(jget .kind)/$(jget .spki_sha256)" "certificate/$LEAF_SPKI" "DER certificate kind and key"
cat ca.pem leaf.pem > bundle.pem
ksi --json inspect bundle.pem; expect_rc 0 "bundle"
expect_eq "$(jget .kind)" "bundle" "kind of a bundle"
expect_eq "$(jget .spki_sha256)" "$LEAF_SPKI" "a bundle's key is its leaf's (the CA comes first)"
expect_eq "$(jget '.certificates | length')" "2" "both certificates listed"
openssl crl2pkcs7 -nocrl -certfile bundle.pem -out chain.p7b 2>/dev/null
openssl crl2pkcs7 -nocrl -certfile bundle.pem -outform DER -out chain.p7c 2>/dev/null
for f in chain.p7b chain.p7c; do
  ksi --json inspect $f; expect_rc 0 "PKCS#7 $f"
  expect_eq "$(jget .kind)/$(jget .spki_sha256)" "pkcs7/$LEAF_SPKI" "PKCS#7 $f kind and leaf key"
done
ksi --json inspect leaf.csr; expect_rc 0 "request"
expect_eq "$(jget .kind)/$(jget .spki_sha256)" "request/$LEAF_SPKI" "request kind and key"
expect_eq "$(jget .subject)" "CN=leaf.example.test" "request subject"
ksi --json inspect leaf.key; expect_rc 0 "private key"
expect_eq "$(jget .kind)/$(jget .spki_sha256)/$(jget .encrypted)" "private-key/$LEAF_SPKI/false" "key kind and key"
openssl pkey -in leaf.key -outform DER -out leaf.key.der
ksi --json inspect leaf.key.der; expect_rc 0 "DER private key"
expect_eq "$(jget .kind)/$(jget .spki_sha256)" "private-key/$LEAF_SPKI" "DER key kind and key"

# --- encrypted key: said to be encrypted, never asked for; opened with --in-passphrase-file
echo "key pass" > key.pass; chmod 600 key.pass
openssl pkcs8 -topk8 -v2 aes-256-cbc -in leaf.key -passout file:key.pass -out leaf.enc.key 2>/dev/null
ksi --json inspect leaf.enc.key; expect_rc 0 "encrypted key without its password"
expect_eq "$(jget .kind)/$(jget .encrypted)/$(jget .spki_sha256)" "private-key/true/null" "encrypted, key unknown"
expect_in "encrypted" "$(jget .encryption)" "says what encrypts it"
ksi inspect leaf.enc.key; expect_rc 0 "encrypted key, text"
expect_in "--in-passphrase-file" "$OUT" "text names the option that opens it"
ksi --json inspect leaf.enc.key --in-passphrase-file key.pass; expect_rc 0 "encrypted key with its password"
expect_eq "$(jget .spki_sha256)" "$LEAF_SPKI" "decrypted key's hash"
echo wrong > wrong.pass; chmod 600 wrong.pass
ksi inspect leaf.enc.key --in-passphrase-file wrong.pass; expect_rc 3 "wrong key password"
expect_in "wrong password" "$ERR" "wrong password named"

# --- PKCS#12
openssl pkcs12 -export -inkey leaf.key -in leaf.pem -certfile ca.pem -passout file:key.pass \
  -out leaf.p12 2>/dev/null
ksi --json inspect leaf.p12; expect_rc 0 "PKCS#12 without its password"
expect_eq "$(jget .kind)/$(jget .encrypted)" "pkcs12/true" "PKCS#12 is encrypted"
ksi --json inspect leaf.p12 --in-passphrase-file key.pass; expect_rc 0 "PKCS#12 with its password"
expect_eq "$(jget .kind)/$(jget .spki_sha256)/$(jget .subject)" "pkcs12/$LEAF_SPKI/CN=leaf.example.test" "PKCS#12 contents"
expect_eq "$(jget '.keys | length')/$(jget '.certificates | length')" "1/2" "PKCS#12 key and certificates"

# --- with a store: the entry holding the key, found with no passphrase
use_store store
new_store
ks create www --dns www.example.test; expect_rc 0 "create www"
ks import leaf.key --name leafkey; expect_rc 0 "import leaf.key"
sign_csr www.req www.pem 30
BEFORE=$(store_hash)
for f in leaf.pem leaf.key bundle.pem chain.p7b leaf.csr; do
  ksi --json inspect $f; expect_rc 0 "inspect $f with a store, no passphrase"
  expect_eq "$(jget .entry)" "leafkey" "$f: the entry holding its key"
done
ksi inspect leaf.pem; expect_in 'entry "leafkey" holds its private key' "$OUT" "text: the entry"
ksi --json inspect www.pem; expect_eq "$(jget .entry)" "www" "a certificate for a pending key names it"
ksi --json inspect www.req; expect_eq "$(jget .kind)/$(jget .entry)" "request/www" "the stored request names its entry"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.pem \
  -subj "/CN=other" -days 10 2>/dev/null
ksi --json inspect other.pem; expect_rc 0 "a certificate whose key is not stored"
expect_eq "$(jget .entry)" "null" "no matching key: entry null"
ksi inspect other.pem; expect_in "no entry of the store holds its private key" "$OUT" "text: none holds it"
# A certificate-only entry does not hold the key.
ks import other.pem --name other-cert; expect_rc 0 "import a certificate alone"
BEFORE=$(store_hash)
ksi --json inspect other.pem; expect_eq "$(jget .entry)" "null" "a certificate-only entry holds no key"

# --- keysafe backup: header only, no passphrase
KEYSAFE_OUT_PASSPHRASE="backup pass" ks backup www leafkey -o two.kbk --yes --kdf-cost 10
expect_rc 0 "backup"
BEFORE=$(store_hash)
ksi --json inspect two.kbk; expect_rc 0 "inspect a backup with no passphrase"
expect_eq "$(jget .kind)/$(jget .backup.protection)" "keysafe-backup/passphrase" "backup kind"
expect_eq "$(jget '[.backup.entries[].name] | sort | join(",")')" "leafkey,www" "backup entry names"
expect_eq "$(jget '[.backup.entries[].entry] | sort | join(",")')" "leafkey,www" "backup entries found in the store"
expect_eq "$(jget .entry)" "null" "a backup has no single entry"
recovery_certificate ec
ks backup www -o www.p7m --recipient rec-ec.pem --yes; expect_rc 0 "recipient backup"
BEFORE=$(store_hash)
ksi --json inspect www.p7m; expect_rc 0 "inspect a recipient backup"
expect_eq "$(jget .kind)/$(jget .backup.protection)" "keysafe-backup/recipient" "recipient backup kind"
expect_eq "$(store_hash)" "$BEFORE" "inspect changed nothing in the store"

# --- hostile input: a clear error, non-zero exit
head -c 700 /dev/urandom > garbage.bin
printf '\x01%s' "$(head -c 200 /dev/zero | tr '\0' x)" > garbage2.bin
for f in garbage.bin garbage2.bin; do
  ksi inspect $f
  [ "$RC" != 0 ] && ok || bad "garbage $f accepted"
  expect_in "not a file keysafe recognises" "$ERR" "garbage $f: clear error"
done
: > empty.pem
ksi inspect empty.pem; expect_rc 1 "empty file"; expect_in "is empty" "$ERR" "empty named"
head -c 300 leaf.pem > cut.pem
ksi inspect cut.pem; expect_rc 1 "truncated PEM"; expect_in "damaged" "$ERR" "truncated PEM named damaged"
head -c 200 leaf.p12 > cut.p12
ksi inspect cut.p12
[ "$RC" != 0 ] && ok || bad "truncated PKCS#12 accepted"
ksi inspect missing.pem; expect_rc 1 "missing file"
expect_eq "$(store_hash)" "$BEFORE" "the store is unchanged"
finish
