# The audit log: every key event recorded with time and user, append-only, hash-chained;
# --verify detects an edited row and a removed row.
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_OUT_PASSPHRASE="backup pass" KEYSAFE_IN_PASSPHRASE="backup pass"
new_store
make_ca
ks create www --dns www.example.test
sign_csr www.req www.cer 90
ks install www.cer --ca-file ca.pem
ks export www --format pem -o www.pem --yes
ks backup www -o www.kbk --yes --kdf-cost 10
ks import www.cer
ks delete www
ks restore www.kbk
KEYSAFE_NEW_PASSPHRASE="new" ks passwd --weak-passphrase
export KEYSAFE_PASSPHRASE="new"
ks audit --verify --json
expect_rc 0 "intact log verifies"
expect_in '"intact": true' "$OUT" "intact"
for action in created installed exported backed-up deleted restored passphrase-changed; do
  expect_in "\"action\": \"$action\"" "$OUT" "records $action"
done
expect_in "\"user\": \"$(id -un)" "$OUT" "records the user"

# Tampering through SQLite's shell (its trigger names); on PostgreSQL through psql.
if on_sqlite; then
# Append-only at the SQL level.
sqlite3 "$KEYSAFE_STORE" "DELETE FROM audit WHERE id = 2" 2>/dev/null
[ $? != 0 ] && ok || bad "a plain DELETE on audit must be refused"

# Tampering that bypasses the triggers is still detected.
cp "$KEYSAFE_STORE" edited.db
sqlite3 edited.db "DROP TRIGGER audit_no_update; UPDATE audit SET entry = 'someone-else' WHERE id = 2;"
ks --store edited.db audit --verify
expect_rc 8 "edited row detected"
expect_in "row 2 was edited" "$OUT" "names the edited row"
cp "$KEYSAFE_STORE" removed.db
sqlite3 removed.db "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 3;"
ks --store removed.db audit --verify
expect_rc 8 "removed row detected"
expect_in "row 3 is missing" "$OUT" "names the removed row"
cp "$KEYSAFE_STORE" renumbered.db
sqlite3 renumbered.db "DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update; DELETE FROM audit WHERE id = 3; UPDATE audit SET id = id - 1 WHERE id > 3;"
ks --store renumbered.db audit --verify
expect_rc 8 "a removed and renumbered row is detected"
else
# PostgreSQL: the same, on copies of the database, through psql. A plain DELETE is refused by the
# database itself; an administrator who disables the triggers first is still caught by --verify.
# tampered NAME SQL: store NAME, a copy with SQL run on it with audit's triggers disabled.
tampered() {
  store_copy "$1"
  KEYSAFE_STORE=$(store_at "$1") store_sql "ALTER TABLE audit DISABLE TRIGGER ALL; $2" >/dev/null ||
    bad "psql could not make $1"
}
store_copy plain
KEYSAFE_STORE=$(store_at plain) store_sql "DELETE FROM audit WHERE id = 2" >/dev/null 2>&1
[ $? != 0 ] && ok || bad "a plain DELETE on audit must be refused"
tampered edited "UPDATE audit SET entry = 'someone-else' WHERE id = 2"
ks --store "$(store_at edited)" audit --verify
expect_rc 8 "edited row detected"
expect_in "row 2 was edited" "$OUT" "names the edited row"
tampered removed "DELETE FROM audit WHERE id = 3"
ks --store "$(store_at removed)" audit --verify
expect_rc 8 "removed row detected"
expect_in "row 3 is missing" "$OUT" "names the removed row"
# Renumbered in two steps (a primary key is checked row by row in PostgreSQL).
tampered renumbered "DELETE FROM audit WHERE id = 3; UPDATE audit SET id = -id WHERE id > 3; UPDATE audit SET id = -id - 1 WHERE id < 0"
ks --store "$(store_at renumbered)" audit --verify
expect_rc 8 "a removed and renumbered row is detected"
fi
finish
