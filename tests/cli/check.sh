# keysafe check: clean store, warnings and --strict, swapped sealed keys named, altered
# certificates, integrity problems, and running without a passphrase.
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_OUT_PASSPHRASE="backup pass"
new_store
make_ca
ks create a --dns a.example.test; ks create b --dns b.example.test --key rsa-2048
sign_csr a.req a.cer 90; sign_csr b.req b.cer 90
ks install a.cer --ca-file ca.pem; ks install b.cer --ca-file ca.pem
ks check
expect_rc 0 "warnings only: exit 0"
expect_in "never backed up" "$OUT" "flags keys never backed up"
expect_in "2 private key(s) opened" "$OUT" "opens every key"
ks check --strict
expect_rc 7 "--strict makes warnings exit 7"
ks backup --all -o all.kbk --yes --kdf-cost 10
ks check --strict --json
expect_rc 0 "clean store after backup"
expect_in '"damaged": false' "$OUT" "json: not damaged"
expect_in '"keys_opened": 2' "$OUT" "json: keys opened"

# Without a passphrase the keys are not opened, and the report says so.
KEYSAFE_PASSPHRASE= ks check </dev/null
expect_rc 2 "an empty KEYSAFE_PASSPHRASE is a usage error"
( unset KEYSAFE_PASSPHRASE; "$KEYSAFE_BIN" check </dev/null > out.txt 2>&1; echo $? > rc.txt )
expect_eq "$(cat rc.txt)" "0" "check without a passphrase"
expect_in "NOT opened" "$(cat out.txt)" "says keys were not opened"

# A wrong passphrase is an error, not a report.
KEYSAFE_PASSPHRASE=wrong ks check
expect_rc 3 "wrong passphrase"

# Rows edited behind keysafe's back: with the sqlite3 shell (after dropping the checksum
# triggers, as a tool bypassing keysafe or a flipped bit would), or with psql after disabling
# the tables' triggers (a database administrator can).
no_triggers() {
  sqlite3 "$1" "DROP TRIGGER keys_checksum_update; DROP TRIGGER certificates_checksum_update; DROP TRIGGER chain_checksum_update;"
}
# edited NAME SQLITE-SQL PG-SQL [no-triggers]: store NAME, a copy of the store with the edit.
edited() {
  store_copy "$1"
  if on_sqlite; then
    [ "${4:-}" = no-triggers ] && no_triggers "$(store_at "$1")"
    sqlite3 "$(store_at "$1")" "$2"
  else
    KEYSAFE_STORE=$(store_at "$1") store_sql "ALTER TABLE keys DISABLE TRIGGER ALL;
      ALTER TABLE certificates DISABLE TRIGGER ALL; $3" >/dev/null || bad "psql could not make $1"
  fi
}

# Swapped sealed keys: each row's AEAD binds it to its row, so both are named.
edited swapped "CREATE TEMP TABLE s AS SELECT name, sealed_private_key AS k FROM keys; UPDATE keys SET sealed_private_key = (SELECT k FROM s WHERE s.name = CASE keys.name WHEN 'a' THEN 'b' ELSE 'a' END) WHERE name IN ('a','b');" \
  "UPDATE keys k SET sealed_private_key = o.sealed_private_key FROM keys o WHERE k.name IN ('a','b') AND o.name IN ('a','b') AND o.name <> k.name"
ks --store "$(store_at swapped)" check
expect_rc 8 "swapped ciphertexts are damage"
expect_in "DAMAGED a:" "$OUT" "names a"
expect_in "DAMAGED b:" "$OUT" "names b"
expect_in "restore" "$OUT" "points to restore"
ks --store "$(store_at swapped)" export a --format pem -o a.pem --yes
expect_rc 4 "export of a swapped key fails"
expect_in "damaged" "$ERR" "export says damaged"
[ ! -e a.pem ] && ok || bad "no file written from a damaged key"
ks --store "$(store_at swapped)" check b --json
expect_rc 8 "check NAME limits to one entry and still finds it"

# Checked columns can only be changed through keysafe: the row-checksum triggers call a
# function only keysafe registers, so the sqlite3 shell's UPDATE fails. The cases below drop
# the triggers first.
if on_sqlite; then
  cp "$KEYSAFE_STORE" shell.db
  sqlite3 shell.db "UPDATE keys SET created_at = 1 WHERE name='a';" 2>shell.err
  [ $? != 0 ] && ok || bad "the sqlite3 shell cannot change a checked column"
  expect_in "keysafe_row_sha256" "$(cat shell.err)" "it fails on the checksum function"
fi

# A listed date changed behind keysafe's back: the row checksum catches it.
edited dated "UPDATE keys SET last_backup_at = 1700000000 WHERE name='a';" \
  "UPDATE keys SET last_backup_at = 1700000000 WHERE name='a'" no-triggers
ks --store "$(store_at dated)" check --json
expect_rc 8 "a changed backup date is damage"
expect_in "row checksum" "$OUT" "the row checksum names it"
expect_eq "$(jq -r '[.findings[] | select(.severity=="damaged") | .entry] | unique | join(",")' <<<"$OUT")" "a" "only entry a is damaged"

# A certificate column that list shows without decoding (notAfter), changed: check compares it
# with the certificate's DER and names the field.
edited expiry "UPDATE certificates SET not_after = not_after + 86400 * 365 WHERE key_id = (SELECT id FROM keys WHERE name='a');" \
  "UPDATE certificates SET not_after = not_after + 86400 * 365 WHERE key_id = (SELECT id FROM keys WHERE name='a')" no-triggers
ks --store "$(store_at expiry)" check
expect_rc 8 "a changed notAfter column is damage"
expect_in "notAfter differs" "$OUT" "names the notAfter column"

# A certificate whose bytes were altered.
edited altered "UPDATE certificates SET der = substr(der, 1, length(der) - 10) || zeroblob(10) WHERE key_id = (SELECT id FROM keys WHERE name='a');" \
  "UPDATE certificates SET der = overlay(der PLACING '\\x00000000000000000000'::bytea FROM length(der) - 9) WHERE key_id = (SELECT id FROM keys WHERE name='a')" no-triggers
ks --store "$(store_at altered)" check
expect_rc 8 "altered certificate is damage"
expect_in "certificate" "$OUT" "names the certificate"

# A certificate row pointing at the wrong key.
edited moved "UPDATE certificates SET key_id = (SELECT id FROM keys WHERE name='b') WHERE key_id = (SELECT id FROM keys WHERE name='a');" \
  "UPDATE certificates SET key_id = (SELECT id FROM keys WHERE name='b') WHERE key_id = (SELECT id FROM keys WHERE name='a')" no-triggers
ks --store "$(store_at moved)" check
expect_rc 8 "a certificate under the wrong key is damage"
expect_in "does not carry" "$OUT" "says it does not carry the key"

# A damaged write-version byte in the SQLite header (offset 18): SQLite then opens the file
# read-only without calling it damage. keysafe does: check reports it, a write is refused as
# damage (exit 4), not as a permission problem, and the store is left as it was.
if on_sqlite; then
sqlite3 "$KEYSAFE_STORE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
cp "$KEYSAFE_STORE" wversion.db
printf '\x03' | dd of=wversion.db bs=1 seek=18 conv=notrunc 2>/dev/null
ks --store wversion.db check
expect_rc 8 "a write format version of 3 is damage"
expect_in "write format version 3" "$OUT" "check names the header byte"
before=$(sha256sum wversion.db | cut -d' ' -f1)
ks --store wversion.db create c --dns c.example.test
expect_rc 4 "a write to it is refused as damage"
expect_in "is damaged" "$ERR" "says damaged"
expect_not_in "permissions" "$ERR" "not blamed on permissions"
expect_eq "$(sha256sum wversion.db | cut -d' ' -f1)" "$before" "the store is unchanged"
fi

ks check nosuch
expect_rc 1 "unknown entry"
finish
