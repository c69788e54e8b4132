# delete: refusals that protect the only copy of a key, secure deletion; passwd: rewrap.
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_OUT_PASSPHRASE="backup pass"
new_store
make_ca
ks create pend --dns pend.example.test
h=$(store_hash)
ks delete pend
expect_rc 6 "a pending key is not deleted"
expect_in "pending" "$ERR" "says pending"
expect_in "--force" "$ERR" "names --force"
expect_eq "$(store_hash)" "$h" "store unchanged"

ks create www --dns www.example.test; sign_csr www.req www.cer 90; ks install www.cer --ca-file ca.pem
ks delete www
expect_rc 6 "a key never backed up is not deleted"
expect_in "never backed up" "$ERR" "says never backed up"
ks backup www -o www.kbk --yes --kdf-cost 10; expect_rc 0 "backup"
# A newer certificate after the backup makes the backup stale.
sleep 1
openssl x509 -req -in www.req -CA ca.pem -CAkey ca.key -CAcreateserial -days 120 -copy_extensions copyall -out www2.cer 2>/dev/null
ks install www2.cer --ca-file ca.pem; expect_rc 0 "newer certificate"
ks delete www
expect_rc 6 "a backup older than the newest certificate is not enough"
expect_in "older" "$ERR" "says older"
ks backup www -o www2.kbk --yes --kdf-cost 10
# The sealed blob must be gone from the file after delete (secure_delete + checkpoint): a
# property of the SQLite file (PostgreSQL keeps dead rows until VACUUM; the blob stays sealed).
on_sqlite && blob=$(sqlite3 "$KEYSAFE_STORE" "SELECT hex(substr(sealed_private_key, 13, 24)) FROM keys WHERE name='www'")
ks delete www
expect_rc 0 "delete after a verified backup"
ks show www
expect_rc 1 "gone"
if on_sqlite; then
  if xxd -p "$KEYSAFE_STORE" | tr -d '\n' | grep -qi "$blob"; then bad "sealed key bytes still in the store file"; else ok; fi
  [ ! -s "$KEYSAFE_STORE-wal" ] && ok || { xxd -p "$KEYSAFE_STORE-wal" | tr -d '\n' | grep -qi "$blob" && bad "sealed key bytes in the WAL" || ok; }
fi
ks delete pend --force
expect_rc 0 "--force deletes a pending key"
ks delete nosuch
expect_rc 1 "unknown entry"

# passwd: the same keys open under the new passphrase only; the KDF cost can be raised.
ks create k1 --dns k1.example.test
ks show k1 --json; before=$(printf '%s' "$OUT" | grep spki_sha256)
KEYSAFE_NEW_PASSPHRASE="new pass" ks passwd --kdf-cost 11
expect_rc 0 "passwd"
expect_eq "$(store_sql 'SELECT kdf_log2_n FROM store_header')" "11" "KDF cost raised"
ks create k2 --dns k2.example.test
expect_rc 3 "the old passphrase no longer opens the store"
KEYSAFE_PASSPHRASE="new pass" ks check --strict
expect_in "private key(s) opened" "$OUT" "keys open under the new passphrase"
KEYSAFE_PASSPHRASE="new pass" KEYSAFE_NEW_PASSPHRASE="x" ks passwd --kdf-cost 3
expect_rc 2 "a KDF cost below the floor is refused"
KEYSAFE_PASSPHRASE="wrong" KEYSAFE_NEW_PASSPHRASE="x" ks passwd
expect_rc 3 "passwd needs the current passphrase"
finish
