# Integrity MACs: rows an attacker who can write the store file could abuse (settings,
# deployments, CA state, the audit head) are edited with the sqlite3 shell, the way such an
# attacker would (dropping the triggers that need keysafe's MAC function); on PostgreSQL with
# psql, as a database administrator would (the tables' triggers disabled first). Each edit is caught
# and named: exit 8 from check and audit --verify, exit 4 from every command that unlocks, and
# the planted value is not used. Then a stripped/downgraded store, and passwd --rotate-data-key.
source "$KEYSAFE_TESTS/lib.sh"
on_sqlite && { command -v sqlite3 >/dev/null || { echo "sqlite3 is needed" >&2; exit 1; }; }
# tamper SQLITE-SQL PG-SQL: edits the store behind keysafe's back with the backend's own shell.
tamper() {
  if on_sqlite; then sqlite3 "$KEYSAFE_STORE" "$1"
  else store_sql "$2" >/dev/null || bad "psql could not tamper: $2"; fi
}

# --- a store with everything the MACs protect -----------------------------------------------
new_store
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout recovery.key \
  -out recovery.pem -subj "/CN=keysafe recovery" -days 365 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout attacker.key \
  -out attacker.der -outform DER -subj "/CN=attacker" -days 365 2>/dev/null
mkdir -p backups site
ks config set recovery-certificate recovery.pem; expect_rc 0 "config set recovery-certificate"
ks config set backup-dir backups;                expect_rc 0 "config set backup-dir"
ks ca init corp-root --subject "CN=Tamper Test Root" --days 3650; expect_rc 0 "ca init"
ks create www --dns www.example.test;            expect_rc 0 "create www"
ks ca sign corp-root --key www --days 30;        expect_rc 0 "ca sign www"
ks deploy www --to site --layout pem --reload-cmd "touch $T/reloaded";  expect_rc 0 "deploy www"
ks ca revoke corp-root www --reason superseded;  expect_rc 0 "ca revoke (needs the passphrase now)"
ks check;                                        expect_rc 0 "the untouched store checks clean"
expect_not_in "tampered" "$OUT" "no tampering reported on the untouched store"
ks audit --verify;                               expect_rc 0 "the untouched audit log verifies"
expect_in "head MAC verified" "$OUT" "audit --verify checks the MAC'd head with the passphrase"
store_copy pristine
rm -f reloaded
restore_pristine() { store_copy_back pristine; }
backups_now() { ls backups | wc -l; }

# check_caught TABLE ROW-WORDS DESCRIPTION: check exits 8 naming the table and the row.
check_caught() {
  ks check
  expect_rc 8 "check: $3"
  expect_in "TAMPERED" "$OUT" "check says tampered: $3"
  expect_in "$1 row $2" "$OUT" "check names $1 row $2: $3"
  ks --json check
  expect_eq "$(jget .damaged)" "true" "check --json: damaged: $3"
}
# unlock_refused TABLE ROW-WORDS DESCRIPTION: the last command exited 4 naming the table and row.
unlock_refused() {
  expect_rc 4 "$3"
  expect_in "tampered" "$ERR" "says tampered: $3"
  expect_in "$1 row $2" "$ERR" "names $1 row $2: $3"
}

# --- 1. a planted recovery certificate --------------------------------------------------------
restore_pristine
tamper "DROP TRIGGER settings_mac_update;
  UPDATE settings SET value = readfile('attacker.der') WHERE key = 'recovery_certificate'" \
  "ALTER TABLE settings DISABLE TRIGGER ALL;
  UPDATE settings SET value = '\\x$(xxd -p attacker.der | tr -d '\n')' WHERE key = 'recovery_certificate'"
check_caught settings 'key "recovery_certificate"' "planted recovery certificate"
before=$(backups_now)
ks create new --dns new.example.test
unlock_refused settings 'key "recovery_certificate"' "create refuses a store with a planted recovery certificate"
expect_eq "$(backups_now)" "$before" "no automatic backup was written to the planted certificate"
ks list; expect_not_in "new" "$OUT" "the entry was not created"
ks backup www -o www.kbk --yes
unlock_refused settings 'key "recovery_certificate"' "backup refuses too"
[ ! -e www.kbk ] && ok || bad "no backup file was written"
ks audit --verify; expect_rc 0 "audit --verify covers the audit log only (settings: check)"

# --- 2. a deployment's reload command ---------------------------------------------------------
restore_pristine
tamper "DROP TRIGGER deployments_mac_update;
  UPDATE deployments SET reload_cmd = 'touch $T/pwned'" \
  "ALTER TABLE deployments DISABLE TRIGGER ALL; UPDATE deployments SET reload_cmd = 'touch $T/pwned'"
check_caught deployments "id 1" "changed reload command"
ks renew --all --due 3650
unlock_refused deployments "id 1" "renew --all refuses before running any command"
ks deploy www --to site --layout pem
unlock_refused deployments "id 1" "deploy refuses too"
[ ! -e pwned ] && ok || bad "the planted reload command was run"

# --- 3. a CA's CRL number ---------------------------------------------------------------------
restore_pristine
tamper "DROP TRIGGER authorities_mac_update; UPDATE authorities SET crl_number = 41" \
  "ALTER TABLE authorities DISABLE TRIGGER ALL; UPDATE authorities SET crl_number = 41"
check_caught authorities "key_id 1 (corp-root)" "changed crl_number"
ks ca crl corp-root -o corp.crl
unlock_refused authorities "key_id 1 (corp-root)" "ca crl refuses"
[ ! -e corp.crl ] && ok || bad "no CRL was written"

# --- 3b. a revocation undone ------------------------------------------------------------------
restore_pristine
tamper "DROP TRIGGER issued_certificates_mac_update;
  UPDATE issued_certificates SET revoked_at = NULL, revocation_reason = NULL" \
  "ALTER TABLE issued_certificates DISABLE TRIGGER ALL;
  UPDATE issued_certificates SET revoked_at = NULL, revocation_reason = NULL"
check_caught issued_certificates "serial" "an undone revocation"

# --- 4. the last audit row deleted ------------------------------------------------------------
restore_pristine
last=$(store_sql "SELECT max(id) FROM audit")
tamper "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = $last" \
  "ALTER TABLE audit DISABLE TRIGGER ALL; DELETE FROM audit WHERE id = $last"
check_caught audit "$last" "the last audit row deleted"
ks audit --verify
expect_rc 8 "audit --verify: the last row deleted"
expect_in "row $last is missing" "$OUT" "audit --verify names the missing row"
ks_notty audit --verify
expect_rc 0 "without the passphrase the cut chain still looks intact (unkeyed)"
expect_in "head MAC NOT verified" "$OUT" "and audit --verify says the head was not verified"
ks export www -o www.p12 --yes
unlock_refused audit "$last" "export refuses a store whose audit log was cut"

# --- 5. every audit row deleted and the chain rebuilt with correct SHA-256 --------------------
restore_pristine
if on_sqlite; then
python3 - "$KEYSAFE_STORE" <<'PY'
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT at, user, action, entry, detail FROM audit ORDER BY id").fetchall()
# Hide the revocation: drop its row and rebuild a consistent chain (docs/FORMAT.md).
rows = [r for r in rows if r[2] != "revoked"]
db.executescript("DROP TRIGGER audit_no_delete; DROP TRIGGER audit_no_update; DELETE FROM audit;")
def field(b):
    return len(b).to_bytes(4, "big") + b
prev = bytes(32)
for i, (at, user, action, entry, detail) in enumerate(rows, 1):
    h = hashlib.sha256(field(b"keysafe-audit-v1") + field(prev) + field(str(i).encode()) +
                       field(str(at).encode()) + b"".join(field(x.encode()) for x in
                       (user, action, entry, detail))).digest()
    db.execute("INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)", (i, at, user, action, entry, detail, prev, h))
    prev = h
db.commit()
PY
else
# The same rebuild, the rows read and written through psql.
store_sql "COPY (SELECT at, \"user\", action, entry, detail FROM audit ORDER BY id) TO STDOUT WITH (FORMAT csv)" >audit.csv
python3 - audit.csv >rebuild.sql <<'PY'
import csv, hashlib, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if r[2] != "revoked"]
def field(b):
    return len(b).to_bytes(4, "big") + b
def q(t):
    return "'" + t.replace("'", "''") + "'"
def hx(b):
    return "'\\x" + b.hex() + "'"
print("ALTER TABLE audit DISABLE TRIGGER ALL; DELETE FROM audit;")
prev = bytes(32)
for i, (at, user, action, entry, detail) in enumerate(rows, 1):
    h = hashlib.sha256(field(b"keysafe-audit-v1") + field(prev) + field(str(i).encode()) +
                       field(at.encode()) + b"".join(field(x.encode()) for x in
                       (user, action, entry, detail))).digest()
    print(f"INSERT INTO audit VALUES ({i}, {at}, {q(user)}, {q(action)}, {q(entry)}, {q(detail)}, "
          f"{hx(prev)}, {hx(h)});")
    prev = h
PY
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$KEYSAFE_STORE" -f rebuild.sql >/dev/null ||
    bad "psql could not rebuild the audit chain"
fi
ks_notty audit --verify
expect_rc 0 "the rebuilt chain passes the unkeyed check (what the MAC is for)"
ks audit --verify
expect_rc 8 "audit --verify with the passphrase catches the rebuilt chain"
expect_in "the chain was rebuilt" "$OUT" "and says the chain was rebuilt"
check_caught audit "" "the rebuilt audit chain"
ks renew --all --due 3650
unlock_refused audit "" "renew --all refuses a store whose audit chain was rebuilt"

# --- 6. MACs stripped and the schema rolled back (SQLite: its version 8 had no MACs; a
# PostgreSQL store starts at version 9, with them) --------------------------------------------
if on_sqlite; then
restore_pristine
sqlite3 "$KEYSAFE_STORE" "
  DROP TRIGGER settings_mac_insert; DROP TRIGGER settings_mac_update;
  DROP TRIGGER deployments_mac_insert; DROP TRIGGER deployments_mac_update;
  DROP TRIGGER key_slots_mac_insert; DROP TRIGGER key_slots_mac_update;
  DROP TRIGGER authorities_mac_insert; DROP TRIGGER authorities_mac_update;
  DROP TRIGGER issued_certificates_mac_insert; DROP TRIGGER issued_certificates_mac_update;
  DROP TRIGGER audit_head_mac_insert; DROP TRIGGER audit_head_mac_update;
  DROP TABLE audit_head;
  ALTER TABLE settings DROP COLUMN mac; ALTER TABLE deployments DROP COLUMN mac;
  ALTER TABLE key_slots DROP COLUMN mac; ALTER TABLE authorities DROP COLUMN mac;
  ALTER TABLE issued_certificates DROP COLUMN mac;
  UPDATE settings SET value = readfile('attacker.der') WHERE key = 'recovery_certificate';
  PRAGMA user_version = 8;"
ks list; expect_rc 0 "list still reads the downgraded store (it migrates, and verifies no MAC)"
check_caught settings 'key "recovery_certificate"' "a store stripped of its MACs"
expect_in "no MAC" "$OUT" "check says the MAC is missing"
before=$(backups_now)
ks create new --dns new.example.test
unlock_refused settings 'key "recovery_certificate"' "the stripped store is not re-MAC'd on unlock"
expect_eq "$(backups_now)" "$before" "no backup to the planted certificate after the downgrade"
fi

# --- locked writes: what needs the passphrase now -------------------------------------------
restore_pristine
ks_notty config unset backup-dir
expect_rc 2 "config unset needs the passphrase (none, no terminal)"
ks config show; expect_in "backups" "$OUT" "the setting was left as it was"
ks config unset backup-dir;  expect_rc 0 "config unset with the passphrase"
ks check;                    expect_rc 0 "the store checks clean after keysafe's own writes"

# --- passwd --rotate-data-key ---------------------------------------------------------------
new_store
ks create a --dns a.example.test;   expect_rc 0 "create a"
ks passwd --add-key-file unlock.key; expect_rc 0 "add a key file"
store_copy old-copy
ks passwd --rotate-data-key --key-file unlock.key
expect_rc 2 "rotation refuses a key file (the new key is wrapped under the passphrase)"
ks passwd --rotate-data-key
expect_rc 0 "rotate the data key"
expect_in "removed 1 key file" "$OUT" "rotation says the key file was removed"
expect_in "passwd --add-key-file" "$OUT" "and how to add it again"
ks --key-file unlock.key export a -o a.p12 --yes
expect_rc 3 "the old key file opens nothing after rotation"
ks create b --dns b.example.test;   expect_rc 0 "create b after the rotation"
ks check;                           expect_rc 0 "the rotated store checks clean"
expect_in "2 private key(s) opened" "$OUT" "both keys open under the new data key"
ks audit --verify;                  expect_rc 0 "the audit log verifies after rotation"
expect_in "data-key-rotated" "$OUT" "the rotation is audited"
# An old copy's header (old data key, old passphrase) put back: opens nothing added since.
if on_sqlite; then
sqlite3 "$KEYSAFE_STORE" "ATTACH 'old-copy.db' AS o;
  UPDATE store_header SET wrapped_data_key = (SELECT wrapped_data_key FROM o.store_header),
    checksum = (SELECT checksum FROM o.store_header)"
else
  IFS='|' read -r old_wrapped old_checksum < <(KEYSAFE_STORE=$(store_at old-copy) store_sql \
    "SELECT encode(wrapped_data_key, 'hex'), encode(checksum, 'hex') FROM store_header")
  store_sql "UPDATE store_header SET wrapped_data_key = '\\x$old_wrapped', checksum = '\\x$old_checksum'" >/dev/null
fi
ks export b -o b.p12 --yes
expect_rc 4 "the old data key does not open the rotated store"
expect_in "tampered" "$ERR" "every MAC fails under the old data key"
[ ! -e b.p12 ] && ok || bad "nothing was exported with the old data key"
if on_sqlite; then
python3 - "$KEYSAFE_STORE" old-copy.db <<'PY' && ok || bad "a sealed key still matches the old copy"
import sqlite3, sys
new = dict(sqlite3.connect(sys.argv[1]).execute("SELECT name, sealed_private_key FROM keys"))
old = dict(sqlite3.connect(sys.argv[2]).execute("SELECT name, sealed_private_key FROM keys"))
sys.exit(0 if new["a"] != old["a"] else 1)
PY
else
  new_a=$(store_sql "SELECT encode(sealed_private_key, 'hex') FROM keys WHERE name = 'a'")
  old_a=$(KEYSAFE_STORE=$(store_at old-copy) store_sql "SELECT encode(sealed_private_key, 'hex') FROM keys WHERE name = 'a'")
  [ -n "$new_a" ] && [ -n "$old_a" ] && [ "$new_a" != "$old_a" ] && ok || bad "a sealed key still matches the old copy"
fi

finish
