#!/usr/bin/env bash
# Fleets without a server (pem layout, files compared on disk): host keys, sealed and signed
# assignments, the agent's refusals, re-sealing on renewal, store copy, rotation of the data
# key. The three-nginx end-to-end run is tests/cli/fleet.sh.
source "$KEYSAFE_TESTS/lib.sh"
new_store
ks ca init root --days 3650
for n in a b c; do
  ks create "$n" --dns "$n.example.test" -o "$n.req"
  ks ca sign root --key "$n" --days 90
done
fp() { ks show "$1" --json; jget '.fingerprint_sha256'; }

# --- host add ---------------------------------------------------------------------------------
ks host add web1 --key-out web1.key
expect_rc 0 "host add web1"
expect_eq "$(stat -c %a web1.key)" 600 "the host key file is 0600"
expect_in "BEGIN PRIVATE KEY" "$(cat web1.key)" "the host key file holds the private key"
expect_in "BEGIN PUBLIC KEY" "$(cat web1.key)" "and the store's signing public key"
expect_in "created the store's fleet signing key" "$OUT" "the first host makes the signing key"
before=$(cat web1.key)
ks host add web9 --key-out web1.key
expect_rc 6 "host add refuses an existing key file"
expect_eq "$(cat web1.key)" "$before" "the existing file is untouched"
ks host list --json
expect_eq "$(jget 'map(.name) | join(",")')" "web1" "web9 was not added when its file was refused"
ks host add web1 --key-out other.key
expect_rc 6 "a host name is unique"
ks host add 'bad/name' --key-out bad.key
expect_rc 2 "a host name with a slash is refused"
[ ! -e bad.key ] && ok || bad "no file for a refused host"
KEYSAFE_PASSPHRASE=wrong-passphrase ks host add web3 --key-out web3.key
[ "$RC" != 0 ] && ok || bad "host add needs the store passphrase"
[ ! -e web3.key ] && ok || bad "no key file without the passphrase"
ks host add web2 --key-out web2.key
expect_rc 0 "host add web2"
expect_not_in "created the store's fleet signing key" "$OUT" "a second host makes no new signing key"
expect_eq "$(tail -n +2 web2.key | sed -n '/BEGIN PUBLIC KEY/,$p')" "$(sed -n '/BEGIN PUBLIC KEY/,$p' web1.key)" \
  "both host files pin the same store signing key"

# --- assign -----------------------------------------------------------------------------------
ks assign a --host web1 --to "$T/h1/a" --layout pem
expect_rc 0 "assign a to web1"
ks assign b --host web1 --to "$T/h1/b" --layout pem --test-cmd 'test -s "$KEYSAFE_DEPLOY_DIR/privkey.pem"'
expect_rc 0 "assign b to web1"
ks assign c --host web2 --to "$T/h2/c" --layout pem
expect_rc 0 "assign c to web2"
ks assign c --host web1 --to "$T/h1/a" --layout pem
expect_rc 6 "one directory on a host serves one entry"
ks assign a --host web1 --to relative/dir
expect_rc 2 "a relative directory is refused"
ks assign a --host nosuch --to /x
expect_rc 1 "an unknown host"
expect_in "host list" "$ERR" "the fix lists the hosts"
ks fleet --json
expect_rc 13 "before any agent ran every row is silent (counted as unreachable)"
expect_eq "$(jget 'map(.state) | unique | join(",")')" "silent" "all silent"
expect_eq "$(jget 'length')" 3 "one row per host x entry"

# --- agent ------------------------------------------------------------------------------------
unset KEYSAFE_PASSPHRASE
KEYSAFE_STATS=1 ks agent --host web1 --host-key web1.key --once --json
expect_rc 0 "web1's agent deploys its two entries without the store passphrase"
expect_eq "$(jget 'map(select(.deployed)) | length')" 2 "both deployed now"
expect_in "kdf_derivations=0 keys_opened=0 host_copies_opened=2" "$ERR" "no store unlock; one key agreement per deployed entry"
expect_eq "$(openssl x509 -in "$T/h1/a/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" \
  "$(fp a)" "web1 holds a's newest certificate"
expect_eq "$(openssl pkey -in "$T/h1/a/privkey.pem" -pubout | sha256sum)" \
  "$(openssl x509 -in "$T/h1/a/cert.pem" -noout -pubkey | sha256sum)" "with its key"
[ ! -e "$T/h2" ] && ok || bad "web1's agent wrote nothing of web2's"
sums=$(sha256sum "$T"/h1/*/* ; stat -c '%n %Y' "$T"/h1/*/*)
KEYSAFE_STATS=1 ks agent --host web1 --host-key web1.key --once --json
expect_rc 0 "a second pass"
expect_in "host_copies_opened=0" "$ERR" "an idle pass opens no sealed copy"
expect_eq "$(jget 'map(select(.deployed)) | length')" 0 "deploys nothing"
expect_eq "$(sha256sum "$T"/h1/*/* ; stat -c '%n %Y' "$T"/h1/*/*)" "$sums" "and leaves the files alone"
ks fleet --json
expect_rc 13 "web2 has not reported yet"
expect_eq "$(jget '[.[] | select(.host == "web1") | .state] | unique | join(",")')" current "web1's rows are current"

# A host's key opens only its own copies: web2's key for web1 is refused and recorded.
ks agent --host web1 --host-key web2.key --once
expect_rc 6 "web2's key cannot act as web1"
expect_in "not this host's" "$ERR" "the refusal says why"
ks host show web1 --json
expect_eq "$(jget '[.events[] | select(.action == "refused")] | length')" 1 "the refusal is a host event"
ks audit --json
expect_in "host-refused" "$OUT" "and an audit row"
# Rows changed in the store by someone without the passphrase (on a copy: a tampered store
# stops every admin command until restored, which tests/cli/tamper.sh covers).
store_copy clean
# web2's own sealed copy, moved into web1's assignment, does not open with web1's key.
on_sqlite && store_sql "DROP TRIGGER assignments_mac_update"
store_sql "UPDATE assignments SET sealed_private_key = (SELECT sealed_private_key FROM assignments WHERE target_dir = '$T/h2/c') WHERE target_dir = '$T/h1/a'"
ks agent --host web1 --host-key web1.key --once --json
expect_rc 1 "a copy changed in the store fails (its signature no longer covers it)"
expect_in "signature does not verify" "$(jget '.[] | select(.entry == "a") | .detail')" "refused by signature"
# A changed target directory likewise: the agent writes nowhere the admins did not sign.
store_sql "UPDATE assignments SET target_dir = '$T/evil' WHERE target_dir = '$T/h1/b'"
ks agent --host web1 --host-key web1.key --once --json
expect_rc 1 "a redirected assignment is refused"
[ ! -e "$T/evil" ] && ok || bad "nothing written to the redirected directory"
ks fleet --json
expect_eq "$(jget '[.[] | select(.state == "failed") | .entry] | join(",")')" "a,b" "fleet shows both failed"
KEYSAFE_PASSPHRASE="correct horse battery staple" ks check
expect_rc 8 "check reports the altered assignments as tampering"
expect_in "assignments" "$OUT" "naming the table"
store_copy_back clean
ks agent --host web1 --host-key web1.key --once
expect_rc 0 "assigned again, web1 is current"

# --- renewal re-seals to the host -------------------------------------------------------------
export KEYSAFE_PASSPHRASE="correct horse battery staple"
ks renew a
expect_rc 0 "renew a with a new key by the local CA"
new_a=$(fp a)
unset KEYSAFE_PASSPHRASE
ks fleet --json
expect_eq "$(jget '.[] | select(.host == "web1" and .entry == "a") | .state')" stale "a is stale on web1 after the renewal"
expect_eq "$(jget '.[] | select(.host == "web1" and .entry == "a") | .newest_fingerprint')" "$new_a" "newest is the renewal's"
ks agent --host web2 --host-key web2.key --once
expect_rc 0 "web2's agent"
c_sum=$(sha256sum "$T"/h2/c/*)
KEYSAFE_STATS=1 ks agent --host web1 --host-key web1.key --once --json
expect_rc 0 "web1's agent deploys the renewal"
expect_eq "$(jget '[.[] | select(.deployed) | .entry] | join(",")')" a "only a is deployed"
expect_in "host_copies_opened=1" "$ERR" "one key agreement, for a"
expect_eq "$(openssl x509 -in "$T/h1/a/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" "$new_a" "the new certificate"
expect_eq "$(openssl pkey -in "$T/h1/a/privkey.pem" -pubout | sha256sum)" \
  "$(openssl x509 -in "$T/h1/a/cert.pem" -noout -pubkey | sha256sum)" "with the new key"
ks agent --host web2 --host-key web2.key --once
expect_eq "$(sha256sum "$T"/h2/c/*)" "$c_sum" "web2 changed nothing"
ks fleet
expect_rc 0 "fleet all current: $OUT"

# --- the data key rotates, the fleet signing key follows ------------------------------------------
export KEYSAFE_PASSPHRASE="correct horse battery staple"
ks passwd --rotate-data-key --yes
expect_rc 0 "rotate the data key"
ks assign c --host web1 --to "$T/h1/c" --layout pem
expect_rc 0 "assigning after a rotation signs with the same fleet key"
unset KEYSAFE_PASSPHRASE
ks agent --host web1 --host-key web1.key --once
expect_rc 0 "web1 verifies it with the key in its file"

# --- unassign, then assign again to the same directory ---------------------------------------
# The files the agent wrote there stay keysafe's (unassign records them, path and sha-256): the
# new assignment replaces exactly those; a file the administrator put there is still refused.
export KEYSAFE_PASSPHRASE="correct horse battery staple"
ks unassign b --host web1
expect_rc 0 "unassign b from web1"
ks host show web1 --json
expect_eq "$(jget '[.events[] | select(.action == "released" and .entry == "b")] | length')" 1 \
  "unassign records the files it leaves (a released event)"
ks renew b
expect_rc 0 "renew b while it is unassigned"
new_b=$(fp b)
ks assign b --host web1 --to "$T/h1/b" --layout pem
expect_rc 0 "assign b again to the same directory"
unset KEYSAFE_PASSPHRASE
cp "$T/h1/b/cert.pem" old-b-cert.pem
echo "the administrator's own file" >"$T/h1/b/cert.pem"
ks agent --host web1 --host-key web1.key --once --json
expect_rc 1 "a file keysafe did not write there is still refused"
expect_in "keysafe did not write" "$(jget '.[] | select(.entry == "b") | .detail')" "as foreign"
expect_in "$T/h1/b/cert.pem" "$(jget '.[] | select(.entry == "b") | .detail')" "naming it"
expect_eq "$(cat "$T/h1/b/cert.pem")" "the administrator's own file" "and left alone"
cp old-b-cert.pem "$T/h1/b/cert.pem"
ks agent --host web1 --host-key web1.key --once --json
expect_rc 0 "the files the agent wrote before the unassignment are replaced"
expect_eq "$(jget '[.[] | select(.deployed) | .entry] | join(",")')" b "b deployed again"
expect_eq "$(openssl x509 -in "$T/h1/b/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" \
  "$new_b" "web1 holds b's renewal"
expect_eq "$(openssl pkey -in "$T/h1/b/privkey.pem" -pubout | sha256sum)" \
  "$(openssl x509 -in "$T/h1/b/cert.pem" -noout -pubkey | sha256sum)" "with its key"

# --- host remove ------------------------------------------------------------------------------
export KEYSAFE_PASSPHRASE="correct horse battery staple"
ks host remove web2
expect_rc 0 "host remove"
expect_in "keysafe" "$OUT" "it says what to renew"
expect_in "renew c" "$OUT" "names the entry it held"
ks fleet --json
expect_eq "$(jget '[.[] | select(.host == "web2")] | length')" 0 "no rows of web2 left"
ks check
expect_rc 0 "check is clean after all of it"
finish
