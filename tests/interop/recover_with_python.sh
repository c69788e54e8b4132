# docs/FORMAT.md is precise enough to recover a key without keysafe: docs/recover-key.py
# (Python hashlib.scrypt + the cryptography package) opens a stored key, and openssl confirms
# it is the key whose public half keysafe recorded. On PostgreSQL: from the SQLite copy that
# `keysafe store copy` makes (the offline copy an administrator would take).
source "$KEYSAFE_TESTS/lib.sh"
python3 -c 'import cryptography' 2>/dev/null ||
  skip "the python3 cryptography package is missing (apt-get install python3-cryptography)"
new_store
for alg in ec-p256 rsa-2048 ed25519; do
  ks create "site-$alg" --dns "$alg.example.test" --key "$alg"
  expect_rc 0 "create $alg"
  ks show "site-$alg" --json
  want=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["spki_sha256"])')
  DB=$(store_sqlite_file)
  python3 "$KEYSAFE_TESTS/../docs/recover-key.py" "$DB" "site-$alg" > key.der 2>err.txt
  RC=$?; OUT=""; ERR=$(cat err.txt)
  expect_rc 0 "recover-key.py opens $alg"
  got=$(openssl pkey -inform DER -in key.der -pubout 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
  expect_eq "$got" "$want" "recovered $alg key has the stored public key"
done
# The check can fail: a wrong passphrase must not produce a key.
[ -s "$DB" ] && ok || bad "the store as a SQLite file for recover-key.py ($DB)"
KEYSAFE_PASSPHRASE=wrong python3 "$KEYSAFE_TESTS/../docs/recover-key.py" "$DB" site-ec-p256 > bad.der 2>/dev/null
RC=$?
if [ "$RC" != 0 ]; then ok; else bad "recover-key.py accepted a wrong passphrase"; fi
finish
