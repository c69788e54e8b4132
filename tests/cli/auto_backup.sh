# Automatic backups: with a recovery certificate and a backup directory configured, create and
# install write a recipient-encrypted backup of the key; openssl cms opens it; list shows it.
source "$KEYSAFE_TESTS/lib.sh"
new_store
make_ca
openssl req -x509 -newkey rsa:2048 -nodes -keyout recovery.key -out recovery.pem \
  -subj "/CN=keysafe recovery" -days 365 2>/dev/null
mkdir -m 700 backups
ks config show --json
expect_in '"automatic_backups": false' "$OUT" "off by default"
ks config set recovery-certificate recovery.pem;  expect_rc 0 "set recovery certificate"
ks config set backup-dir nowhere;                 expect_rc 1 "a missing directory is refused"
ks config set backup-dir backups;                 expect_rc 0 "set backup dir"
ks config set colour blue;                        expect_rc 2 "unknown setting"
ks config show --json
expect_in '"automatic_backups": true' "$OUT" "on once both are set"

ks create www --dns www.example.test
expect_rc 0 "create with automatic backup"
expect_in "automatic backup written" "$OUT" "create reports the backup"
n=$(ls backups/*.p7m 2>/dev/null | wc -l)
expect_eq "$n" "1" "one backup after create"
ks show www --json
expect_not_in '"last_backup": null' "$OUT" "create's key is recorded as backed up"
f=$(ls backups/*.p7m | head -1)
expect_eq "$(stat -c %a "$f")" "600" "automatic backup is 0600"
openssl cms -decrypt -inform DER -in "$f" -inkey recovery.key 2>/dev/null | grep -q '"www"' \
  && ok || bad "openssl cms -decrypt opens the automatic backup"

sign_csr www.req www.cer 90
ks install www.cer --ca-file ca.pem
expect_rc 0 "install with automatic backup"
n=$(ls backups/*.p7m | wc -l)
expect_eq "$n" "2" "a fresh backup after install"
newest=$(ls -t backups/*.p7m | head -1)
# The newest backup holds the certificate: restore it with the recovery key into a new store.
store_move old; new_store
ks restore "$newest" --recovery-key recovery.key
expect_rc 0 "restore the automatic backup"
ks show www --json
expect_in '"state": "installed"' "$OUT" "restored with its certificate"

# install with automatic backups needs the passphrase: a wrong one changes nothing.
store_move_back old
ks create api --dns api.example.test; expect_rc 0 "create api"
sign_csr api.req api.cer 90
h=$(store_hash)
KEYSAFE_PASSPHRASE=wrong ks install api.cer
expect_rc 3 "wrong passphrase with automatic backups on"
expect_eq "$(store_hash)" "$h" "store unchanged"
ks config unset backup-dir; expect_rc 0 "unset"
KEYSAFE_PASSPHRASE="" ks install api.cer
expect_rc 0 "install without automatic backup needs no passphrase"
expect_not_in "automatic backup" "$OUT" "no backup once off"
finish
