#!/usr/bin/env bash
# Installing an installed certificate again with its chain or --ca-file judges the chain again
# and keeps the new verdict (check's fix for an untrusted chain works), and a root that is in
# the file but no trust anchor is named as such, not as missing (issue 14, item 5).
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl

new_store
make_ca   # ca.pem / ca.key: CN=ca Test Root, in no system trust store
ks create www --dns www.example.test -o www.req
sign_csr www.req www.crt 90
cat www.crt ca.pem > fullchain.pem

# The leaf alone: its issuer is missing.
ks install www.crt
expect_rc 0 "install the leaf alone"
expect_in "missing: the certificate of" "$ERR" "the leaf alone: the issuer is named as missing"
ks --json show www
expect_eq "$(jget .chain_trusted)" "false" "not trusted"

# The full chain, whose root is no trust anchor: said so, not "missing".
h=$(store_hash)
ks install fullchain.pem
expect_rc 0 "install the full chain again"
expect_in "ends at root CN=ca Test Root, which is not a trust anchor" "$ERR" "names the untrusted root"
expect_in "add --ca-file" "$ERR" "says to add --ca-file"
expect_not_in "missing: the certificate of" "$ERR" "does not call the root missing"
expect_in "checked again" "$OUT" "says the chain was checked again"
expect_not_in "nothing changed" "$OUT" "does not say nothing changed"
ks --json show www
expect_eq "$(jget .chain_trusted)" "false" "still not trusted"
expect_in "not a trust anchor" "$(jget .chain_problem)" "the stored problem names the untrusted root"
ks --json export www --cert-only --chain --format pem -o chain-out.pem
expect_eq "$(grep -c 'BEGIN CERTIFICATE' chain-out.pem)" "2" "the root from the file is stored as the chain"

# check's fix, run as printed with the placeholders filled in, makes the chain trusted.
ks check
FIX=$(printf '%s\n' "$OUT" | grep -A1 "www: the chain was not verified" | sed -n 's/.*fix: .*: \(keysafe [^)]*\)$/\1/p' | head -1)
expect_eq "$FIX" "keysafe --store $KEYSAFE_STORE install FULLCHAIN-FILE --ca-file ROOT.pem" "check prints the install fix"
CMD=${FIX/FULLCHAIN-FILE/fullchain.pem}; CMD=${CMD/ROOT.pem/ca.pem}
ks ${CMD#keysafe }
expect_rc 0 "check's fix runs"
expect_in "checked again: now verified to a trusted root" "$OUT" "install says what changed"
expect_in "before: NOT verified" "$OUT" "and what it was before"
ks --json show www
expect_eq "$(jget .chain_trusted)" "true" "the new verdict is stored"
expect_eq "$(jget .chain_problem)" "null" "without a problem"
ks check
expect_not_in "chain was not verified" "$OUT" "check no longer warns about the chain"
ks audit --json
expect_in '"chain-checked"' "$OUT" "the re-check is audited"
ks audit --verify
expect_rc 0 "audit chain intact"
ks check
expect_not_in "DAMAGED" "$OUT" "row checksums follow the new verdict"

# Nothing new: nothing changes.
h=$(store_hash)
ks install fullchain.pem --ca-file ca.pem
expect_rc 0 "the same again"
expect_in "nothing changed" "$OUT" "says nothing changed"
expect_eq "$(store_hash)" "$h" "the store is unchanged"
ks install www.crt
expect_in "nothing changed" "$OUT" "the leaf alone, without --ca-file: nothing to judge again"
ks --json show www
expect_eq "$(jget .chain_trusted)" "true" "the verdict stays"

# --ca-file alone on an installed leaf, with the stored chain as material.
ks create api --dns api.example.test -o api.req
sign_csr api.req api.crt 90
ks install api.crt
ks --json install api.crt --ca-file ca.pem
expect_rc 0 "install api.crt --ca-file"
expect_eq "$(jget .chain_rechecked)" "true" "JSON: chain_rechecked"
expect_eq "$(jget .chain_trusted)" "true" "JSON: now trusted"
finish
