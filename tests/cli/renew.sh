#!/usr/bin/env bash
# Renewal end to end: local-CA renewals complete at once, external ones write a request with a
# new key and the old subject/SANs, installing its certificate swaps the names; --same-key;
# renew --all --due renews exactly the due entries, and its exit code reports failures.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

spki_of_req() { openssl req -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
spki_of_cert() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
san_of() { openssl "$1" -in "$2" -noout -text 2>/dev/null | grep -A1 "X509v3 Subject Alternative Name" | tail -1 | tr -d ' '; }
subject_of() { openssl "$1" -in "$2" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
field() { ks --json show "$1"; jget ".$2"; }
TODAY=$(date -u +%Y%m%d)

new_store
export KEYSAFE_OUT_PASSPHRASE="export passphrase for tests"
make_ca  # an external CA made by openssl: ca.pem / ca.key
ks ca init local-root --days 3650
ks ca init short-ca --days 5        # a 5-day CA: not due under --due 10 (a third of 5 days)
# A freshly issued certificate is never due (that would renew it on every run), so the due
# ones are backdated: openssl ca signs with the local CA's key (renew still finds that CA).
ks ca export local-root -o local-root.pem
ks export local-root --format pem -o local-root-all.pem --yes
openssl pkey -in local-root-all.pem -passin env:KEYSAFE_OUT_PASSPHRASE -out local-root.key 2>/dev/null
for n in a b c d; do
  ks create "$n" --dns "$n.example.test" --ip 192.0.2.1 -o "$n.req" --force
done
sign_dated a.req a.crt "-27 days" "+3 days" local-root.pem local-root.key         # 3 of 30 days left
sign_dated b.req b.crt "-27 days" "+3 days" local-root.pem local-root.key clientAuth
ks install a.crt
ks install b.crt
ks ca sign local-root --key c --days 200
ks ca sign local-root --key d --days 400
expect_rc 0 "setup: local certificates"
for n in ext1 ext2; do
  ks create "$n" --dns "$n.example.test" --dns "www.$n.example.test" --subject "O=Example,C=GB" -o "$n.req"
done
sign_dated ext1.req ext1.crt "-87 days" "+3 days"   # 90 days, 3 left
sign_csr ext2.req ext2.crt 300
ks install ext1.crt --ca-file ca.pem
ks install ext2.crt --ca-file ca.pem
expect_rc 0 "setup: external certificates"
A_SERIAL=$(field a serial); A_SPKI=$(field a spki_sha256)
B_SERIAL=$(field b serial); C_SERIAL=$(field c serial); D_SERIAL=$(field d serial)
EXT1_SERIAL=$(field ext1 serial); EXT2_SERIAL=$(field ext2 serial)

# --- nothing due ---------------------------------------------------------------------------
ks renew --all --due 1
expect_rc 0 "renew --all with nothing due exits 0"
expect_in "0 renewed" "$OUT" "summary when nothing is due"

# --- a mix of due and not-due --------------------------------------------------------------
mkdir reqs
ks --json renew --all --due 10 --dir reqs
expect_rc 0 "renew --all --due 10 exits 0 when nothing failed"
expect_eq "$(jget '.renewed')" "2" "two local-CA entries renewed"
expect_eq "$(jget '.requested')" "1" "one external entry requested"
expect_eq "$(jget '.failed')" "0" "none failed"
expect_eq "$(jget '.skipped')" "0" "nothing skipped"
NAMES=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(e["name"]+":"+e["status"] for e in json.load(sys.stdin)["entries"])))')
expect_eq "$NAMES" "a:renewed b:renewed ext1:requested" "exactly the due entries (not the 5-day CA with 5 days left)"
# a and b: new key, new certificate, current under the old name; old entry kept.
[ "$(field a serial)" != "$A_SERIAL" ] && ok || bad "a has a new certificate"
[ "$(field a spki_sha256)" != "$A_SPKI" ] && ok || bad "a has a new key"
expect_eq "$(field a state)" "installed" "a is installed"
expect_eq "$(field "a.replaced-$TODAY" serial)" "$A_SERIAL" "the old a is kept as a.replaced-$TODAY"
expect_eq "$(field "a.replaced-$TODAY" spki_sha256)" "$A_SPKI" "with its old key"
[ "$(field b serial)" != "$B_SERIAL" ] && ok || bad "b renewed"
ks ca export local-root -o local-root.pem
ks export b --format pem --cert-only -o b-new.pem
openssl verify -CAfile local-root.pem -purpose sslclient b-new.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "renewed b verifies and keeps its client profile"
openssl x509 -in b-new.pem -noout -ext extendedKeyUsage | grep -q "Client Authentication" && ok || bad "b keeps clientAuth"
# The not-due ones are untouched.
expect_eq "$(field c serial)" "$C_SERIAL" "c (200 days) untouched"
expect_eq "$(field d serial)" "$D_SERIAL" "d (400 days) untouched"
expect_eq "$(field ext2 serial)" "$EXT2_SERIAL" "ext2 (300 days) untouched"
# ext1: pending entry with a new key; the old entry keeps its name and certificate.
[ -f reqs/ext1.renewal.req ] && ok || bad "request for ext1 written to --dir"
expect_eq "$(field ext1 serial)" "$EXT1_SERIAL" "ext1 keeps its certificate until the new one is installed"
expect_eq "$(field ext1.renewal state)" "pending" "ext1.renewal is pending"
[ "$(spki_of_req reqs/ext1.renewal.req)" != "$(spki_of_cert ext1.crt)" ] && ok || bad "ext1 request has a new public key"
expect_eq "$(spki_of_req reqs/ext1.renewal.req)" "$(field ext1.renewal spki_sha256)" "the request is the pending entry's key"
expect_eq "$(subject_of req reqs/ext1.renewal.req)" "$(subject_of x509 ext1.crt)" "same subject"
expect_eq "$(san_of req reqs/ext1.renewal.req)" "$(san_of x509 ext1.crt)" "same SANs"

# --- again: the pending one is skipped, the renewed ones are no longer due within 3 days ----
ks --json renew --all --due 3 --dir reqs
expect_rc 0 "second run exits 0"
NAMES=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(e["name"]+":"+e["status"] for e in json.load(sys.stdin)["entries"])))')
expect_eq "$NAMES" "ext1:skipped" "only ext1 is due, and it is skipped as pending"
expect_in "pending" "$(jget '.entries[0].detail')" "says why it was skipped"

# --- installing the external CA's certificate swaps the names -------------------------------
sign_csr reqs/ext1.renewal.req ext1-new.crt 90
ks install ext1-new.crt --ca-file ca.pem
expect_rc 0 "install the renewed certificate"
expect_in "ext1.replaced-$TODAY" "$OUT$ERR" "install says where the old entry went"
expect_eq "$(field ext1 serial)" "$(openssl x509 -in ext1-new.crt -noout -serial | cut -d= -f2)" "ext1 now holds the new certificate"
expect_eq "$(field ext1 spki_sha256)" "$(spki_of_cert ext1-new.crt)" "with the new key"
expect_eq "$(field "ext1.replaced-$TODAY" serial)" "$EXT1_SERIAL" "the old entry keeps the old certificate"
ks show ext1.renewal
expect_rc 1 "no pending entry is left"
ks renew "ext1.replaced-$TODAY"
expect_rc 6 "a replaced entry is not renewed again"

# --- renew NAME of an external entry: request file, nothing else changes --------------------
ks renew ext2 -o ext2-new.req
expect_rc 0 "renew ext2"
expect_in "keysafe --store $KEYSAFE_STORE install" "$OUT" "says what to do next, naming the store (KEYSAFE_STORE)"
[ "$(spki_of_req ext2-new.req)" != "$(spki_of_cert ext2.crt)" ] && ok || bad "ext2 request has a new public key"
expect_eq "$(subject_of req ext2-new.req)" "$(subject_of x509 ext2.crt)" "ext2 request subject"
expect_eq "$(san_of req ext2-new.req)" "$(san_of x509 ext2.crt)" "ext2 request SANs"
ks renew ext2 -o again.req
expect_rc 6 "a second renewal while one is pending is refused"
expect_in "pending renewal" "$ERR" "says a renewal is pending"
ks delete ext2.renewal --force --yes
expect_rc 0 "a pending renewal can be given up"
expect_eq "$(field ext2 serial)" "$EXT2_SERIAL" "ext2 untouched by the abandoned renewal"

# --- same key --------------------------------------------------------------------------------
C_SPKI=$(field c spki_sha256)
ks renew c --same-key --days 100
expect_rc 0 "renew --same-key with a local CA"
[ "$(field c serial)" != "$C_SERIAL" ] && ok || bad "c has a new certificate"
expect_eq "$(field c spki_sha256)" "$C_SPKI" "c keeps its key"
case "$(field c days_left)" in 99|100) ok ;; *) bad "c valid for --days 100 (days_left $(field c days_left))" ;; esac
ks show "c.replaced-$TODAY"
expect_rc 1 "same-key renewal leaves no replaced entry"
ks renew ext2 --same-key -o ext2-same.req
expect_rc 0 "renew --same-key with an external CA"
expect_eq "$(spki_of_req ext2-same.req)" "$(spki_of_cert ext2.crt)" "same-key request carries the current key"
expect_eq "$(field ext2 serial)" "$EXT2_SERIAL" "current certificate stays current"
sign_csr ext2-same.req ext2-same.crt 200
ks install ext2-same.crt --ca-file ca.pem
expect_eq "$(field ext2 serial)" "$(openssl x509 -in ext2-same.crt -noout -serial | cut -d= -f2)" "new same-key certificate is current after install"

# --- refusals ----------------------------------------------------------------------------------
ks renew local-root
expect_rc 6 "a CA is not renewed"
ks renew nothing
expect_rc 1 "unknown entry"
ks renew --all
expect_rc 2 "--all needs --due"
ks renew a --due 5
expect_rc 2 "--due needs --all"

# --- a failure makes renew --all exit 14 and does not stop the others ----------------------------
ks create ext3 --dns ext3.example.test -o ext3.req
sign_dated ext3.req ext3.crt "-88 days" "+2 days"
ks install ext3.crt --ca-file ca.pem
mkdir -p blocked/ext3.renewal.req   # a directory where the request file should go
ks --json renew --all --due 3 --dir blocked
expect_rc 14 "renew --all exits 14 when an entry failed"
expect_eq "$(jget '.failed')" "1" "one failure counted"
NAMES=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(e["name"]+":"+e["status"] for e in json.load(sys.stdin)["entries"])))')
expect_eq "$NAMES" "ext3:failed" "ext3 failed; the superseded old ext1 is not mentioned"
ks request ext3.renewal -o ext3-again.req
expect_rc 0 "the failed request can be written again"

ks audit --json
expect_in '"renewal-requested"' "$OUT" "audit records renewal-requested"
expect_in '"renewed"' "$OUT" "audit records renewed"
ks audit --verify
expect_rc 0 "audit chain intact"
ks renew --help
expect_in "EXAMPLES" "$OUT" "renew --help has examples"

finish
