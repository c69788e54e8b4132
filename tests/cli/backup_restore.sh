# backup and restore end to end: warning and confirmation, file rules, read-back, last_backup,
# restore into a fresh store, merge without duplicates, name clashes, diagnosis, store unchanged.
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_OUT_PASSPHRASE="backup pass" KEYSAFE_IN_PASSPHRASE="backup pass"
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

new_store
make_ca
ks create www --dns www.example.test --dns example.test;   expect_rc 0 "create www"
ks create api --dns api.example.test --key rsa-2048;       expect_rc 0 "create api"
sign_csr www.req www.cer 90
ks install www.cer --ca-file ca.pem;                       expect_rc 0 "install www"
ks show www --json
expect_eq "$(printf '%s' "$OUT" | json_field '["last_backup"]')" "None" "never backed up yet"
ks list
expect_in "NEVER" "$OUT" "list flags keys never backed up"

# No terminal, no --yes: refused, nothing written.
ks backup www -o www.kbk --kdf-cost 10 </dev/null
expect_rc 6 "backup without --yes and without a terminal is refused"
expect_in "impersonate" "$ERR" "the warning names the risk"
expect_in "--yes" "$ERR" "the refusal names --yes"
[ ! -e www.kbk ] && ok || bad "a refused backup wrote a file"

ks backup www api -o both.kbk --yes --kdf-cost 10
expect_rc 0 "backup two entries"
expect_in "verified" "$OUT" "backup reports verification"
expect_eq "$(stat -c %a both.kbk)" "600" "backup file mode 0600"
expect_eq "$(head -c 17 both.kbk)" "KEYSAFE-BACKUP 1" "format line"
ks show www --json
expect_not_in '"last_backup": null' "$OUT" "last_backup recorded"
ks list
expect_not_in "NEVER" "$OUT" "no entry flagged after backing up both"

# Never over an existing file without --force; --force replaces.
before=$(sha256sum both.kbk)
ks backup www -o both.kbk --yes --kdf-cost 10
expect_rc 6 "backup over an existing file refused"
expect_eq "$(sha256sum both.kbk)" "$before" "existing backup untouched"
ks backup --all -o both.kbk --yes --force --kdf-cost 10
expect_rc 0 "--force replaces"
# Never through a symlink or over a device.
ln -s /tmp/elsewhere link.kbk
ks backup www -o link.kbk --yes --force --kdf-cost 10
expect_rc 6 "backup through a symlink refused"
[ ! -e /tmp/elsewhere ] && ok || bad "wrote through a symlink"
ks backup www -o /dev/null --yes --force --kdf-cost 10
expect_rc 6 "backup over a device refused"
[ -c /dev/null ] && ok || bad "/dev/null replaced"

# The seed drill: the store is lost, the certificate cannot be installed, restore fixes it.
store_move lost-store
new_store
ks install www.cer
expect_rc 5 "before restore, the certificate has no key"
ks restore both.kbk --dry-run
expect_rc 0 "dry run"
expect_in "create" "$OUT" "dry run says what it would create"
ks list --json
expect_eq "$(printf '%s' "$OUT" | json_field '.__len__()')" "0" "dry run changed nothing"
ks restore both.kbk
expect_rc 0 "restore into a fresh store"
ks show www --json
expect_eq "$(printf '%s' "$OUT" | json_field '["state"]')" "installed" "www restored with its certificate"
ks show api --json
expect_eq "$(printf '%s' "$OUT" | json_field '["state"]')" "pending" "api restored pending"
ks request api -o api-again.req
expect_rc 0 "the request came back too"
cmp -s api.req api-again.req && ok || bad "restored request differs"
ks install www.cer
expect_rc 0 "installing the certificate now finds its key"
expect_in "already installed" "$OUT" "and it is already there"

# The restored key is the same key: compare with the python recovery tool.
python3 -c 'import cryptography' 2>/dev/null ||
  skip "the python3 cryptography package is missing (apt-get install python3-cryptography)"
python3 "$KEYSAFE_TESTS/../docs/recover-key.py" "$(store_sqlite_file)" www > www.der 2>/dev/null
got=$(openssl pkey -inform DER -in www.der -pubout 2>/dev/null | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
want=$(openssl x509 -in www.cer -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
expect_eq "$got" "$want" "restored private key matches the certificate"

# Restoring again: nothing duplicated.
ks restore both.kbk
expect_rc 0 "restore twice"
expect_in "unchanged" "$OUT" "second restore changes nothing"
ks list --json
expect_eq "$(printf '%s' "$OUT" | json_field '.__len__()')" "2" "no duplicates"

# A name clash with a different key: refused, unless --rename.
new_store
ks create www --dns other.example.test -o other.req; expect_rc 0 "another www"
h=$(store_hash)
ks restore both.kbk
expect_rc 6 "name clash refused"
expect_in "--rename" "$ERR" "clash names the fix"
expect_eq "$(store_hash)" "$h" "store unchanged after a refused restore"
ks restore both.kbk --rename
expect_rc 0 "restore with --rename"
ks show www-restored --json
expect_rc 0 "renamed entry exists"

# Diagnosis: wrong passphrase, truncated, altered, not a backup, newer format; store unchanged.
h=$(store_hash)
KEYSAFE_IN_PASSPHRASE=wrong ks restore both.kbk
expect_rc 3 "wrong backup passphrase"
expect_in "passphrase" "$ERR" "says passphrase"
head -c 200 both.kbk > truncated.kbk
ks restore truncated.kbk
[ "$RC" != 0 ] && [ "$RC" -lt 128 ] && ok || bad "truncated backup"
expect_in "keysafe: error:" "$ERR" "truncated backup: clear error"
cp both.kbk altered.kbk
printf 'X' | dd of=altered.kbk bs=1 seek=$(( $(stat -c %s altered.kbk) - 40 )) conv=notrunc 2>/dev/null
ks restore altered.kbk
expect_rc 3 "altered backup fails authentication"
expect_in "altered" "$ERR" "says it may be altered"
echo "hello" > notbackup.kbk
ks restore notbackup.kbk
expect_rc 1 "not a backup"
expect_in "not a keysafe backup" "$ERR" "says not a backup"
sed '1s/KEYSAFE-BACKUP 1/KEYSAFE-BACKUP 9/' both.kbk > newer.kbk
ks restore newer.kbk
expect_rc 1 "newer format"
expect_in "newer keysafe" "$ERR" "says newer keysafe"
# Numbers in the clear header that are not integers of the right size (a fuzzer once found
# 1.79566e+51 as "created", converted with undefined behaviour): damaged, not a crash.
for field in '"created":[0-9]*' '"log2_n":[0-9]*' '"version":[0-9]*'; do
  name=${field%%:*}
  too_big=4294967296  # 2^32: no int or uint32_t holds it
  [ "$name" = '"created"' ] && too_big=18446744073709551616  # past int64, parsed as a double
  for bad_number in 1.79566e+51 -1e300 2.5 $too_big; do
    sed "2s/$field/$name:$bad_number/" both.kbk > badnum.kbk
    ks restore badnum.kbk
    expect_rc 1 "header $name=$bad_number refused"
    expect_in "damaged keysafe backup" "$ERR" "header $name=$bad_number: says damaged"
  done
done
# A header that is not JSON, or names another format, or lacks a field: damaged, saying why.
sed '2s/^{/[/' both.kbk > notjson.kbk
sed '2s/"format":"keysafe-backup"/"format":"other"/' both.kbk > otherformat.kbk
sed '2s/"version":1/"vers":1/' both.kbk > noversion.kbk
for bad_header in notjson:"not a JSON object" otherformat:'"format" is not "keysafe-backup"' \
                  noversion:"key 'version' not found"; do
  ks restore "${bad_header%%:*}.kbk"
  expect_rc 1 "header ${bad_header%%:*} refused"
  expect_in "its header cannot be read (${bad_header#*:})" "$ERR" "header ${bad_header%%:*}: says why"
done
expect_eq "$(store_hash)" "$h" "store unchanged after every failed restore"

# Recipient backups: CMS AuthEnvelopedData that `openssl cms -decrypt` opens with the recovery key.
for kind in rsa ec; do
  recovery_certificate $kind
  ks backup --all -o rec-$kind.p7m --recipient rec-$kind.pem --yes
  expect_rc 0 "recipient backup ($kind)"
  openssl cms -decrypt -inform DER -in rec-$kind.p7m -inkey rec-$kind.key -out rec-$kind.json 2>/dev/null
  RC=$?; OUT=""; ERR=""
  expect_rc 0 "openssl cms -decrypt ($kind)"
  grep -q '"keysafe-backup-payload"' rec-$kind.json && ok || bad "openssl cms -decrypt gives the payload ($kind)"
  ks restore rec-$kind.p7m
  expect_rc 2 "restore of a recipient backup needs --recovery-key"
  ks restore rec-$kind.p7m --recovery-key ca.key
  expect_rc 3 "the wrong recovery key is refused ($kind)"
  store_move keep; new_store
  ks restore rec-$kind.p7m --recovery-key rec-$kind.key
  expect_rc 0 "restore with the recovery key ($kind)"
  ks list --json
  expect_eq "$(printf '%s' "$OUT" | json_field '.__len__()')" "3" "all three entries restored ($kind)"
done
finish
