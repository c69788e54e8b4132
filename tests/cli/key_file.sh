# Key files: unattended unlocking without a passphrase in the environment; refused when others
# can read the file; a wrong file is told apart; passwd keeps key files working.
source "$KEYSAFE_TESTS/lib.sh"
new_store
ks passwd --add-key-file unlock.key
expect_rc 0 "add a key file"
expect_eq "$(stat -c %a unlock.key)" "600" "key file is 0600"
ks passwd --add-key-file unlock.key
expect_rc 6 "never over an existing file"
( unset KEYSAFE_PASSPHRASE; "$KEYSAFE_BIN" --key-file unlock.key create www --dns www.example.test </dev/null >out.txt 2>&1; echo $? > rc.txt )
expect_eq "$(cat rc.txt)" "0" "create with --key-file and no passphrase anywhere"
( unset KEYSAFE_PASSPHRASE; KEYSAFE_KEY_FILE=unlock.key "$KEYSAFE_BIN" check --strict </dev/null >out.txt 2>&1; echo $? > rc.txt )
expect_in "1 private key(s) opened" "$(cat out.txt)" "KEYSAFE_KEY_FILE opens the keys"
chmod 640 unlock.key
ks --key-file unlock.key create api --dns api.example.test
expect_rc 6 "a key file readable by the group is refused"
expect_in "chmod 600" "$ERR" "the fix is chmod 600"
chmod 600 unlock.key
head -c 32 /dev/urandom | xxd -p -c 64 > other.key; chmod 600 other.key
h=$(store_hash)
ks --key-file other.key create api --dns api.example.test
expect_rc 3 "another key file does not open the store"
expect_in "key file" "$ERR" "says key file"
expect_eq "$(store_hash)" "$h" "store unchanged"
echo nonsense > bad.key; chmod 600 bad.key
ks --key-file bad.key create api --dns api.example.test
expect_rc 1 "not a key file"
ln -s unlock.key link.key
ks --key-file link.key create api --dns api.example.test
[ "$RC" != 0 ] && ok || bad "a symlinked key file must be refused"
KEYSAFE_NEW_PASSPHRASE="new" ks passwd --weak-passphrase
expect_rc 0 "change the passphrase"
ks --key-file unlock.key create api --dns api.example.test
expect_rc 0 "the key file still opens the store after passwd"
finish
