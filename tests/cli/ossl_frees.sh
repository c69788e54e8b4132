#!/usr/bin/env bash
# keysafe-test: no-store — a source scan for OpenSSL frees
# OpenSSL objects are freed only by the handle catalogue (src/ossl, include/keysafe/ossl): no
# *_free call or deleter anywhere else in src/, cli/ or include/ (CONVENTIONS.md "OpenSSL
# handles"). sqlite3_free is SQLite's and curl_*_free* libcurl's, not OpenSSL's. Lists every
# offender and fails.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
OUT= ERR= RC=0
ROOT=$(cd "$KEYSAFE_TESTS/.." && pwd)

# Files whose frees another change is removing; listed with the reason. An entry that no
# longer has any is an error too, so the list cannot outlive its reason.
ALLOWED=()

# frees DIR...: "file:line:name" for each *_free name outside the handle catalogue.
frees() {
  (cd "$1" && shift && grep -rnoE '\b[A-Za-z0-9_]*_free(_all)?\b' "$@" 2>/dev/null) |
    grep -vE '^(src/ossl/|include/keysafe/ossl/)' | grep -vE ':(sqlite3_free|curl_[a-z_]+)$'
}

# The check can find a free: a synthetic tree with one is reported.
mkdir -p fake/src/x509 fake/src/ossl
printf 'void f(X509* c) { X509_free(c); }\n' > fake/src/x509/leak.cpp
printf 'void g(X509* c) { X509_free(c); }\nvoid h() { sqlite3_free(0); }\n' > fake/src/ossl/ok.cpp
printf 'void h(char* p) { sqlite3_free(p); }\n' > fake/src/x509/sqlite.cpp
printf 'void k(curl_slist* l) { curl_slist_free_all(l); }\n' > fake/src/x509/curl.cpp
expect_eq "$(frees fake src)" "src/x509/leak.cpp:1:X509_free" "the check finds a free outside src/ossl, and only it"

found=$(frees "$ROOT" src cli include)
for f in "${ALLOWED[@]}"; do
  if printf '%s\n' "$found" | grep -q "^$f:"; then ok; else bad "$f is allowed frees but has none: remove it from ALLOWED in $0"; fi
  found=$(printf '%s\n' "$found" | grep -v "^$f:")
done
found=$(printf '%s' "$found" | sed '/^$/d')
if [ -z "$found" ]; then ok; else
  bad "OpenSSL frees outside src/ossl and include/keysafe/ossl (use or add a handle in include/keysafe/ossl/handles.hpp):
$found"
fi
finish
