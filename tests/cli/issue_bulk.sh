#!/usr/bin/env bash
# issue-bulk: many keys with certificates from a CA in the store (judged by openssl verify and
# x509 -text), all or nothing; one key derivation per process (KEYSAFE_STATS); progress drawn
# only on a terminal.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

new_store
make_ca
cat ca.key ca.pem >ca-bundle.pem
ks import ca-bundle.pem --name test-ca
expect_rc 0 "a CA key and certificate made by openssl import as one entry"

# Bulk issuance, stderr not a terminal: no progress drawn, nothing on stderr at all.
ks issue-bulk test-ca --count 30 --prefix h --dns-suffix .bulk.example --threads 2
expect_rc 0 "issue-bulk of 30 certificates"
expect_eq "$ERR" "" "no progress (nor anything else) on stderr when it is not a terminal"
expect_in "issued 30 certificates" "$OUT" "summary line"
expect_in "h-01 ... h-30" "$OUT" "names are zero-padded to one width"

ks list --json
expect_eq "$(jget '[.[] | select(.state == "installed" and (.name | startswith("h-")))] | length')" 30 \
  "30 installed entries"
expect_eq "$(jget '[.[] | select(.name == "h-07")][0].dns[0]')" "h-07.bulk.example" "DNS name = name + suffix"

# Each certificate verifies against the CA, carries the server profile and pairs with its key.
ks export h-07 --cert-only --format pem -o h07.pem
expect_rc 0 "export of a bulk-issued certificate"
verify=$(openssl verify -CAfile ca.pem -purpose sslserver h07.pem 2>&1)
expect_in "h07.pem: OK" "$verify" "openssl verify accepts it as a TLS server certificate"
text=$(openssl x509 -in h07.pem -noout -text)
expect_in "CA:FALSE" "$text" "basicConstraints CA:FALSE"
expect_in "Digital Signature" "$text" "keyUsage digitalSignature"
expect_in "TLS Web Server Authentication" "$text" "extendedKeyUsage serverAuth"
expect_in "DNS:h-07.bulk.example" "$text" "subjectAltName"
expect_in "Subject Key Identifier" "$text" "subject key identifier"
expect_in "Authority Key Identifier" "$text" "authority key identifier"
expect_in "Subject: CN = h-07.bulk.example" "$text" "subject CN"
serial=$(openssl x509 -in h07.pem -noout -serial | cut -d= -f2)
expect_eq "${#serial}" 32 "a 128-bit serial"
ks request h-07 -o h07.req
expect_rc 0 "the request is stored"
expect_eq "$(openssl req -in h07.req -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" \
  "$(openssl x509 -in h07.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" \
  "request and certificate carry the same key"
ks export h-07 --format pem -o h07-key.pem --yes --out-passphrase-file <(printf 'pw12345678')
expect_rc 0 "the sealed key opens and exports"
expect_eq "$(openssl pkey -in h07-key.pem -passin pass:pw12345678 -pubout -outform DER | sha256sum | cut -d' ' -f1)" \
  "$(openssl x509 -in h07.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" \
  "the exported private key matches the certificate"

# One key derivation for the whole command, and for a check opening all 31 keys.
OUT=$(KEYSAFE_STATS=1 "$KEYSAFE_BIN" issue-bulk test-ca --count 12 --prefix s 2>&1 >/dev/null); RC=$?
expect_rc 0 "issue-bulk with stats"
expect_in "kdf_derivations=1 " "$OUT" "one derivation for 12 new keys"
OUT=$(KEYSAFE_STATS=1 "$KEYSAFE_BIN" check 2>&1 >/dev/null); RC=$?
expect_in "kdf_derivations=1 keys_opened=43" "$OUT" "check opens 43 keys after one derivation"

# All or nothing: a name in use is refused before any work, the store unchanged.
before=$(store_hash)
ks issue-bulk test-ca --count 40 --prefix h
expect_rc 6 "a prefix whose names exist is refused"
expect_in "\"h-01\" is already in use" "$ERR" "names the clash"
expect_eq "$(store_hash)" "$before" "store unchanged"
ks issue-bulk h-01 --count 2 --prefix z
expect_rc 2 "a leaf is not a CA"
expect_in "is not a CA" "$ERR" "says why"
ks issue-bulk test-ca --count 0 --prefix z
expect_rc 2 "count 0 is a usage error"

# On a terminal the progress line is drawn (stderr), and never with --json.
require_tool script bsdutils
script -qc "'$KEYSAFE_BIN' issue-bulk test-ca --count 300 --prefix tty" typescript >/dev/null 2>&1 </dev/null
expect_in "issuing certificates:" "$(cat typescript)" "progress shown on a terminal"
script -qc "'$KEYSAFE_BIN' --json issue-bulk test-ca --count 50 --prefix ttyjson" typescript2 >/dev/null 2>&1 </dev/null
expect_not_in "issuing certificates:" "$(cat typescript2)" "no progress with --json"
KEYSAFE_NO_PROGRESS=1 script -qc "'$KEYSAFE_BIN' issue-bulk test-ca --count 50 --prefix ttyoff" typescript3 >/dev/null 2>&1 </dev/null
expect_not_in "issuing certificates:" "$(cat typescript3)" "no progress with KEYSAFE_NO_PROGRESS"
script -qc "'$KEYSAFE_BIN' check" typescript4 >/dev/null 2>&1 </dev/null
expect_in "checking entries:" "$(cat typescript4)" "check shows progress on a terminal"
ks check
expect_not_in "checking entries" "$ERR$OUT" "check without a terminal prints no progress"

# Import of a large bundle (1,000 certificates, the size from which it reports) shows both
# phases on a terminal, nothing with --json. The bundle: 1,000 certificates issued by
# keysafe into a scratch store, written out as PEM by python3's sqlite3 module (a SQLite file on
# either backend: it only makes the bundle).
"$KEYSAFE_BIN" --store "$T/many.db" init --kdf-cost 10 >/dev/null 2>&1
"$KEYSAFE_BIN" --store "$T/many.db" ca init many-ca --key ec-p256 >/dev/null 2>&1
"$KEYSAFE_BIN" --store "$T/many.db" issue-bulk many-ca --count 1000 --prefix m >/dev/null 2>&1
python3 - "$T/many.db" "$T/many.pem" <<'PY'
import base64, sqlite3, sys, textwrap
rows = sqlite3.connect(sys.argv[1]).execute(
  "SELECT c.der FROM certificates c JOIN keys k ON k.id = c.key_id WHERE k.name LIKE 'm-%'")
with open(sys.argv[2], "w") as out:
  for (der,) in rows:
      body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
      out.write(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n")
PY
expect_eq "$(grep -c 'BEGIN CERTIFICATE' "$T/many.pem")" "1000" "a bundle of 1,000 certificates"
IMP=$(store_at imp) IMP2=$(store_at imp2)
"$KEYSAFE_BIN" --store "$IMP" init --kdf-cost 10 >/dev/null 2>&1
script -qc "'$KEYSAFE_BIN' --store '$IMP' import '$T/many.pem'" typescript5 >/dev/null 2>&1 </dev/null
expect_in "reading certificates:" "$(cat typescript5)" "import shows reading progress on a terminal"
expect_in "storing entries:" "$(cat typescript5)" "import shows storing progress on a terminal"
ks --store "$IMP" list --json
expect_eq "$(jq length <<<"$OUT")" "1000" "the 1,000 certificates became 1,000 entries"
"$KEYSAFE_BIN" --store "$IMP2" init --kdf-cost 10 >/dev/null 2>&1
script -qc "'$KEYSAFE_BIN' --json --store '$IMP2' import '$T/many.pem'" typescript6 >/dev/null 2>&1 </dev/null
expect_not_in "entries:" "$(cat typescript6)" "no import progress with --json"
expect_not_in "certificates:" "$(cat typescript6)" "no import progress with --json"

finish
