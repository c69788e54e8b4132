#!/usr/bin/env bash
# The key lifecycle on a throwaway store: create -> request -> a CA signs -> install -> list,
# then the classic failure (a certificate whose key was lost), diagnosed.
set -euo pipefail
KEYSAFE=$(realpath "${1:-build/cli/keysafe}")
work=$(mktemp -d /tmp/keysafe-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export KEYSAFE_STORE="$work/keystore.db"
printf 'demo passphrase\n' > passphrase.txt
chmod 600 passphrase.txt
run() { echo "\$ $*"; local rc=0; "$@" || rc=$?; echo; return $rc; }
ks() { run "$KEYSAFE" --passphrase-file passphrase.txt "$@"; }

ks init
ks create www.example.test --dns www.example.test --dns example.test --subject "O=Example Ltd,C=GB"
run openssl req -in www.example.test.req -noout -subject -verify

echo "# a throwaway CA (the openssl CLI) signs the request"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -subj "/CN=Demo Root CA" -days 365 2>/dev/null
openssl x509 -req -in www.example.test.req -CA ca.pem -CAkey ca.key -CAcreateserial -days 90 \
  -copy_extensions copyall -out www.example.test.cer 2>/dev/null
echo

ks install www.example.test.cer --ca-file ca.pem
ks list
ks list --expiring 100d || echo "(exit $?: something expires within 100 days)"
echo

echo "# the classic failure: a certificate issued for a request whose private key is gone"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout lost.key \
  -out lost.req -subj "/CN=www.example.test" 2>/dev/null
openssl x509 -req -in lost.req -CA ca.pem -CAkey ca.key -CAcreateserial -days 90 -out lost.cer 2>/dev/null
rm lost.key
before=$(sha256sum keystore.db | cut -d' ' -f1)
set +e
run "$KEYSAFE" install lost.cer
rc=$?
set -e
after=$(sha256sum keystore.db | cut -d' ' -f1)
[ "$before" = "$after" ]
echo "(exit $rc: no stored key matches; store unchanged: sha256 $after before and after)"
[ "$rc" = 5 ]
echo
echo "walk-through complete"
