#!/usr/bin/env bash
# Names (issue 14, item 10): a key imported alone gets a made-up name (key-...), and takes its
# certificate's name (CN, else first DNS name, made unique) when the certificate arrives by
# import or install; keysafe rename OLD NEW renames any entry, and what belongs to it follows.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl

new_store
make_ca
# The README's flow: a key and its certificate, made elsewhere, imported one after the other.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
  -out server.csr -subj "/CN=www.example.test" \
  -addext "subjectAltName=DNS:www.example.test,DNS:example.test" 2>/dev/null
sign_csr server.csr server.crt 90
ks import server.key
expect_rc 0 "import server.key"
GEN=$(ks --json list; jget '.[0].name')
case "$GEN" in key-????????????) ok ;; *) bad "the key alone gets a made-up name (got $GEN)" ;; esac
ks import server.crt
expect_rc 0 "import server.crt"
expect_in "www.example.test" "$OUT" "import says the name the entry takes"
ks --json list --all
expect_eq "$(jget '. | length')" "1" "one entry"
expect_eq "$(jget '.[0].name')" "www.example.test" "the entry took the certificate's CN"
expect_eq "$(jget '.[0].state')" "installed" "with the key and its certificate"
ks audit --json
expect_in '"renamed"' "$OUT" "the rename is audited"

# The same through install, with the CN taken already: made unique.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout second.key \
  -out second.csr -subj "/CN=www.example.test" -addext "subjectAltName=DNS:www.example.test" 2>/dev/null
sign_csr second.csr second.crt 90
ks import second.key
GEN2=$(ks --json list; printf '%s' "$OUT" | python3 -c 'import json,sys; print([e["name"] for e in json.load(sys.stdin) if e["name"].startswith("key-")][0])')
ks install second.crt
expect_rc 0 "install second.crt onto the key-only entry"
expect_in "took the certificate's name \"www.example.test-2\"" "$OUT" "install says so"
ks --json show www.example.test-2
expect_eq "$(jget .state)" "installed" "the entry is www.example.test-2"
ks show "$GEN2"
expect_rc 1 "the made-up name is gone"

# A name given by the user is kept.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout third.key \
  -out third.csr -subj "/CN=third.example.test" 2>/dev/null
sign_csr third.csr third.crt 90
ks import third.key --name my-third
ks import third.crt
ks --json show my-third
expect_eq "$(jget .state)" "installed" "a name the user chose is kept"

# --- keysafe rename -----------------------------------------------------------------------
ks ca init local-root --days 3650
ks create web --dns web.example.test -o /dev/null --force
ks ca sign local-root --key web --days 30
mkdir -p site
ks deploy web --to site --layout pem
expect_rc 0 "setup: web deployed"
CERTS=$(ks --json show web; jget .certificates)
ks rename web site-web
expect_rc 0 "rename web site-web"
expect_in "renamed \"web\" to \"site-web\"" "$OUT" "says what it did"
ks show web
expect_rc 1 "the old name is gone"
ks --json show site-web
expect_eq "$(jget .certificates)" "$CERTS" "its certificates follow"
ks --json deployments
expect_in '"site-web"' "$OUT" "its deployment follows"
expect_not_in '"web"' "$OUT" "no deployment under the old name"
ks ca list --issued local-root
expect_in "site-web" "$OUT" "the CA's record of what it issued names the new name"
ks renew site-web
expect_rc 0 "the renamed entry renews"
ks rename local-root root-2026
expect_rc 0 "a CA is renamed"
ks ca list
expect_in "root-2026" "$OUT" "ca list shows the CA under its new name"
ks create api --dns api.example.test -o /dev/null --force
ks ca sign root-2026 --key api --days 30
expect_rc 0 "the renamed CA still signs"
ks audit --json
expect_in '"was \"web\""' "$OUT" "the rename is audited with the old name"
ks audit --verify
expect_rc 0 "audit chain intact"
ks check
expect_not_in "DAMAGED" "$OUT" "row checksums follow the rename"

# Refusals leave the store unchanged.
h=$(store_hash)
ks rename site-web api
expect_rc 6 "a name in use is refused"
expect_in "the name \"api\" is already in use" "$ERR" "says the name is in use"
ks rename site-web 'bad name'
expect_rc 2 "an invalid name is a usage error"
ks rename nothing-here other
expect_rc 1 "an unknown entry"
expect_in "no entry named \"nothing-here\"" "$ERR" "names it"
expect_eq "$(store_hash)" "$h" "refusals change nothing"
ks rename --help
expect_in "EXAMPLES" "$OUT" "rename --help has examples"
finish
