#!/usr/bin/env bash
# Complete backups carry the fleet (payload version 3): backup --all, then restore and recover
# into fresh stores give back the hosts, assignments, the agents' last reports and the fleet
# signing key, so the ORIGINAL host key files still work: fleet --json and host list --json
# equal before and after, check is clean, each agent verifies its re-signed assignments, opens
# its re-sealed copies and deploys. A version-2 payload (no fleet) still restores.
source "$KEYSAFE_TESTS/lib.sh"
require_tool openssl openssl
require_tool jq jq
export KEYSAFE_OUT_PASSPHRASE="fleet backup pass" KEYSAFE_IN_PASSPHRASE="fleet backup pass"
PASS="correct horse battery staple"
fp() { ks show "$1" --json; jget '.fingerprint_sha256'; }
leaf_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
# Like ks, in a subshell that keeps OUT/ERR/RC (agent's subshell would lose them).
agent_run() {
  OUT=$(unset KEYSAFE_PASSPHRASE; KEYSAFE_STATS=1 "$KEYSAFE_BIN" agent --host "$1" --host-key "$1.key" --once --json 2>"$T/.agent-err"); RC=$?
  ERR=$(cat "$T/.agent-err")
}
snapshot() {
  ks fleet --json; printf '%s\n' "$OUT" >"$1.fleet"
  ks host list --json; printf '%s\n' "$OUT" >"$1.hosts"
}

new_store
ks ca init root --days 3650
for n in a b c; do
  ks create "$n" --dns "$n.example.test" -o "$n.req"
  ks ca sign root --key "$n" --days 90
done
ks host add web1 --key-out web1.key
expect_rc 0 "host add web1"
ks host add web2 --key-out web2.key
expect_rc 0 "host add web2"
ks assign a --host web1 --to "$T/h1/a" --layout pem
ks assign b --host web1 --to "$T/h1/b" --layout pem --test-cmd 'test -s "$KEYSAFE_DEPLOY_DIR/privkey.pem"'
ks assign c --host web2 --to "$T/h2/c" --layout pem
expect_rc 0 "assign c to web2"
agent_run web1
expect_rc 0 "web1's agent deploys a and b before the backup"
snapshot before
expect_eq "$(jq -r 'length' before.fleet)" 3 "three rows before the backup"
expect_eq "$(jq -r '[.[] | select(.host == "web1") | .state] | unique | join(",")' before.fleet)" current "web1 current, web2 silent"

ks backup --all -o all.kbk --kdf-cost 10 --yes --json
expect_rc 0 "backup --all"
expect_eq "$(jget '.hosts'),$(jget '.assignments')" "2,3" "the backup counts the fleet"
recovery_certificate rsa
ks backup --all --recipient rec-rsa.pem -o all.p7m --yes
expect_rc 0 "recipient backup --all"
openssl cms -decrypt -inform DER -in all.p7m -inkey rec-rsa.key -out payload.json 2>cms.err
expect_eq "$(jq -r '.version' payload.json)" 4 "payload version 4"
expect_eq "$(jq -r '.fleet.signing_key.private_key_pkcs8 | length > 0' payload.json)" true \
  "the signing key's private half is inside the encrypted payload"
grep -q "fleet" all.p7m && bad "the fleet is readable in the sealed file" || ok
expect_eq "$(jq -r '[.fleet.assignments[] | select(.report != null)] | length' payload.json)" 2 \
  "web1's two reports travel"

# --- restore into a fresh store ----------------------------------------------------------------
check_restored() {  # $1: label
  snapshot after
  expect_eq "$(cat after.fleet)" "$(cat before.fleet)" "fleet --json equal after $1"
  expect_eq "$(cat after.hosts)" "$(cat before.hosts)" "host list --json equal after $1"
  ks check
  expect_rc 0 "check is clean after $1 (restored fleet rows carry valid MACs)"
  rm -rf "$T/h2"
  h1=$(sha256sum "$T"/h1/*/*)
  agent_run web1
  expect_rc 0 "web1's original key file works against the store after $1"
  expect_eq "$(jq -r 'map(select(.deployed)) | length' <<<"$OUT")" 0 "web1 has nothing due (its reports came back)"
  expect_in "host_copies_opened=0" "$ERR" "and opens no sealed copy"
  expect_eq "$(sha256sum "$T"/h1/*/*)" "$h1" "web1's files untouched"
  agent_run web2
  expect_rc 0 "web2's original key file: signature verified, re-sealed copy opened after $1"
  expect_eq "$(jq -r '[.[] | select(.deployed) | .entry] | join(",")' <<<"$OUT")" c "web2 deploys c"
  expect_in "host_copies_opened=1" "$ERR" "one key agreement"
  expect_eq "$(leaf_fp "$T/h2/c/cert.pem")" "$(fp c)" "web2 holds c's certificate"
  expect_eq "$(openssl pkey -in "$T/h2/c/privkey.pem" -pubout | sha256sum)" \
    "$(openssl x509 -in "$T/h2/c/cert.pem" -noout -pubkey | sha256sum)" "with c's key"
  ks renew a
  expect_rc 0 "renew a in the store after $1"
  agent_run web1
  expect_rc 0 "web1 deploys the renewal (sealed and signed by the restored store)"
  expect_eq "$(jq -r '[.[] | select(.deployed) | .entry] | join(",")' <<<"$OUT")" a "only a"
  expect_eq "$(leaf_fp "$T/h1/a/cert.pem")" "$(fp a)" "web1 holds the renewed certificate"
  ks fleet
  expect_rc 0 "fleet all current after $1: $OUT"
}

h1_before=$(tar -C "$T" -cf - h1 | base64 -w0)
use_store restored
new_store
ks restore all.kbk
expect_rc 0 "restore all.kbk into a fresh store"
expect_in "fleet-signing-key create" "$OUT" "the plan lists the signing key"
expect_in "host create  web1" "$OUT" "and each host"
expect_in "assignment create  a -> web1:$T/h1/a" "$OUT" "and each assignment"
ks audit --json
expect_in "hosts: 2 create" "$OUT" "the restore's audit event counts the hosts"
check_restored restore

# --- recover into another fresh store, from the recipient backup ------------------------------
rm -rf "$T/h1" "$T/h2"; base64 -d <<<"$h1_before" | tar -C "$T" -xf -
use_store recovered
store_remove
ks recover all.p7m --recovery-key rec-rsa.key --yes --kdf-cost 10
expect_rc 0 "recover all.p7m into a new store"
check_restored recover

# --- restoring again into the restored store changes nothing of the fleet ----------------------
ks restore all.kbk --dry-run --json
expect_eq "$(jget '[.hosts[].action, .fleet_signing_key[].action] | unique | join(",")')" \
  unchanged "a second restore finds the hosts and signing key there already"
expect_eq "$(jget '[.assignments[] | (.name | split(".")[0]) + ":" + .action] | join(",")')" "a:skip,b:unchanged,c:unchanged" \
  "b and c are assigned already; a's directory serves a's renewal now, so the old key's assignment is skipped"

# --- restore --only: the kept entries' assignments, their hosts and the signing key -------------
use_store only
new_store
ks restore all.kbk --only c
expect_rc 0 "restore --only c"
ks host list --json
expect_eq "$(jget 'map(.name) | join(",")')" web2 "only the host c is assigned to"
ks fleet --json
expect_eq "$(jget 'map(.host + ":" + .entry) | join(",")')" web2:c "only c's assignment"
rm -rf "$T/h2"
agent_run web2
expect_rc 0 "web2's original key file works against a store restored with --only"
expect_eq "$(leaf_fp "$T/h2/c/cert.pem")" "$(fp c)" "web2 deploys c"

# --- a store with its own fleet signing key keeps it: the backup's hosts are skipped ----------
use_store other
new_store
ks create z --dns z.example.test --self-signed
ks host add web9 --key-out web9.key
ks restore all.kbk --json
expect_rc 0 "restore into a store with another fleet signing key"
expect_eq "$(jget '[.hosts[].action] | unique | join(",")')" skip "the backup's hosts are skipped"
expect_in "not trust" "$(jget '.fleet_signing_key[0].detail')" "saying why"
ks host list --json
expect_eq "$(jget 'map(.name) | join(",")')" web9 "only the store's own host"

# --- a version-2 payload (no fleet) still restores ---------------------------------------------
jq -c '.version = 2 | del(.fleet)' payload.json >v2.json
openssl cms -encrypt -binary -aes-256-gcm -outform DER -in v2.json -out v2.p7m rec-rsa.pem 2>cms.err ||
  bad "openssl cms -encrypt: $(cat cms.err)"
use_store v2
new_store
ks restore v2.p7m --recovery-key rec-rsa.key --json
expect_rc 0 "a version-2 payload restores"
expect_eq "$(jget '.payload_version')" 2 "read as version 2"
expect_eq "$(jget '.hosts | length')" 0 "with no fleet"
ks list --json
expect_eq "$(jget 'length')" 4 "and every entry"
finish
