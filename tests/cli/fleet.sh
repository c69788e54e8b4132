#!/usr/bin/env bash
# keysafe-test: run-serial — three nginx instances and three agent processes at once
# Fleets end to end (docs/FLEET.md): three hosts on this one machine, each with its own nginx on
# its own loopback port, its own directories and its own host key; a local CA issues 6 entries,
# 2 assigned to each host (nginx layout, nginx -t, reload, probe with SNI). The agents, run with
# no store passphrase, deploy them and every nginx serves its certificates (openssl s_client);
# `fleet` says all current. A renewal makes `fleet` exit 12 until its host's agent deploys it,
# while the other agents change nothing. Refusals: another host's key, a tampered assignment,
# an existing key file; `host remove` and `unassign`.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_nginx

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
# served_fp PORT SNI: the SHA-256 fingerprint of the leaf served for SNI, verified against the
# local CA (empty when nothing is served or it does not verify).
served_fp() {
  openssl s_client -connect "127.0.0.1:$1" -servername "$2" -CAfile root.pem -verify_return_error \
    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null |
    cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'
}
newest_fp() { jget .fingerprint_sha256 "$("$KEYSAFE_BIN" --json show "$1")"; }
# state_of DIR: hash, inode and mtime of every file under DIR: "changes nothing" compares it.
state_of() { find "$1" -type f -printf '%p %i %T@ ' -exec sha256sum {} \; 2>/dev/null | LC_ALL=C sort; }
# agent N [HOST-KEY-OF] [ARGS...]: host N's agent (--once) with no store passphrase, no
# terminal and stdin closed; the key of host HOST-KEY-OF (default N).
agent() {
  local n=$1 key=${2:-$1}
  shift; [ $# -gt 0 ] && shift
  ks_notty agent --host "host$n" --host-key "$T/keys/host$key.key" --once "$@"
}
# row HOST ENTRY FIELD: one field of `fleet --json`'s row for HOST and ENTRY (from $OUT).
row() { jget "[.[] | select(.host == \"$1\" and .entry == \"$2\")][0].$3"; }
# tamper SQL: edits the store's rows as someone with write access to it would: on SQLite with
# the sqlite3 shell, first dropping the trigger that recomputes the row's MAC (keysafe's own SQL
# function, which the shell lacks); on PostgreSQL with psql as a database administrator would,
# the table's triggers disabled first (as tests/cli/tamper.sh does).
tamper() {
  if on_sqlite; then sqlite3 "$KEYSAFE_STORE" "DROP TRIGGER IF EXISTS assignments_mac_update; $1"
  else store_sql "ALTER TABLE assignments DISABLE TRIGGER ALL; $1" >/dev/null; fi || bad "could not tamper: $1"
}
# calls N: the test and reload commands host N's assignments ran, in order (one word each).
calls() { tr '\n' ' ' <"$T/h$1/calls" 2>/dev/null; }

new_store
ks ca init fleet-root --days 3650
expect_rc 0 "a local CA"
ks ca export fleet-root -o root.pem

# --- three hosts: one nginx each, two TLS sites each on one port, told apart by SNI ----------
declare -A PORT NGC
mkdir -p keys
for n in 1 2 3; do
  PORT[$n]=$(free_port)
  mkdir -p "h$n"
  nginx_config "$(nginx_tls_server "${PORT[$n]}" "$T/h$n/a/fullchain.pem" "$T/h$n/a/privkey.pem" "e${n}a.example.test")
$(nginx_tls_server "${PORT[$n]}" "$T/h$n/b/fullchain.pem" "$T/h$n/b/privkey.pem" "e${n}b.example.test")" "$T/h$n/nginx"
  NGC[$n]=$NG
  : >"h$n/calls"
done

# --- host add: the key file ------------------------------------------------------------------
for n in 1 2 3; do
  ks host add "host$n" --key-out "keys/host$n.key"
  expect_rc 0 "host add host$n"
done
expect_eq "$(stat -c %a keys/host1.key)" "600" "the host key file is 0600"
KEY_TEXT=$(openssl pkey -in keys/host1.key -noout -text 2>&1)
expect_in "X25519 Private-Key" "$KEY_TEXT" "the host key file holds an X25519 private key"
pub_block() { sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' "$1"; }
SIGNER_TEXT=$(pub_block keys/host1.key | openssl pkey -pubin -noout -text 2>&1)
expect_in "ED25519 Public-Key" "$SIGNER_TEXT" "and the Ed25519 public key that verifies its assignments"
expect_eq "$(pub_block keys/host2.key)" "$(pub_block keys/host1.key)" "every host gets the same (the store's) assignment-signing key"
[ "$(openssl pkey -in keys/host1.key -pubout 2>/dev/null)" != "$(openssl pkey -in keys/host2.key -pubout 2>/dev/null)" ] &&
  ok || bad "each host has its own X25519 key"
H1_KEY=$(hash_of keys/host1.key)
ks host add host4 --key-out keys/host1.key
[ "$RC" != 0 ] && ok || bad "host add refuses an existing key file"
expect_in "keys/host1.key" "$ERR" "the error names the file"
expect_eq "$(hash_of keys/host1.key)" "$H1_KEY" "the existing key file is untouched"
ks host list --json
expect_eq "$(jget '[.[] | select(.name == "host4")] | length')" "0" "a host whose key was never written is not made"
ks host add host1 --key-out keys/again.key
[ "$RC" != 0 ] && ok || bad "host add refuses a name in use"
[ -e keys/again.key ] && bad "a refused host add wrote a key file" || ok
ks_notty host add host5 --key-out keys/host5.key
[ "$RC" != 0 ] && ok || bad "host add needs the store passphrase"
[ -e keys/host5.key ] && bad "host add without the passphrase wrote a key file" || ok

ks host list --json
expect_rc 0 "host list --json"
expect_eq "$(jget '[.[].name] | sort | join(",")')" "host1,host2,host3" "three hosts listed"
expect_eq "$(jget '[.[] | select(.name == "host1")][0].public_key_sha256')" \
  "$(openssl pkey -in keys/host1.key -pubout -outform DER | sha256sum | cut -d' ' -f1)" \
  "public_key_sha256 is the SHA-256 of the host key's public half (SubjectPublicKeyInfo DER)"
expect_eq "$(jget '[.[] | select(.name == "host1")][0].assignments')" "0" "no assignments yet"

# --- six entries from the local CA, two assigned to each host --------------------------------
for n in 1 2 3; do
  for s in a b; do
    ks create "e$n$s" --dns "e$n$s.example.test"
    ks ca sign fleet-root --key "e$n$s" --days 90
    expect_rc 0 "the local CA issues e$n$s"
  done
done
# assign_site N S: assigns entry eNS to hostN, served by hostN's nginx for SNI eNS.example.test.
# nginx is not running before the first agent run: the reload command starts it then.
assign_site() {
  ks assign "e$1$2" --host "host$1" --to "$T/h$1/$2" --layout nginx \
    --test-cmd "echo test >>$T/h$1/calls && ${NGC[$1]} -t -q" \
    --reload-cmd "echo reload >>$T/h$1/calls && { ${NGC[$1]} -s reload 2>/dev/null || ${NGC[$1]} </dev/null >/dev/null 2>&1; }" \
    --probe "127.0.0.1:${PORT[$1]}" --sni "e$1$2.example.test"
}
for n in 1 2 3; do
  for s in a b; do
    assign_site $n $s
    expect_rc 0 "assign e$n$s to host$n"
  done
done
ks_notty assign e1a --host host2 --to "$T/h2/x" --layout nginx
expect_rc 2 "assign needs the store passphrase (none given, no terminal)"
ks host show host1 --json
expect_rc 0 "host show --json"
expect_eq "$(jget '.assignments | length')" "2" "host1 has two assignments"
expect_eq "$(jget '[.assignments[].entry] | sort | join(",")')" "e1a,e1b" "its two entries"
expect_eq "$(jget '[.assignments[] | select(.entry == "e1a")][0].target_dir')" "$T/h1/a" "the target directory"
expect_eq "$(jget '[.assignments[] | select(.entry == "e1a")][0].layout')" "nginx" "the layout"
ks host show host2 --json
expect_eq "$(jget '[.assignments[].entry] | sort | join(",")')" "e2a,e2b" "host2 has only its own two"

ks fleet --json
[ "$RC" = 12 ] || [ "$RC" = 13 ] && ok || bad "fleet before any agent ran: nothing deployed (12 or 13)"
expect_eq "$(jget 'length')" "6" "fleet: one row per host and entry"
expect_eq "$(jget '[.[] | select(.state == "current")] | length')" "0" "nothing current before the agents ran"

# --- host 2's key is refused for host 1 -------------------------------------------------------
agent 1 2
[ "$RC" != 0 ] && [ "$RC" != 12 ] && [ "$RC" != 13 ] && ok || bad "host2's key with --host host1 is refused"
expect_in "host1" "$ERR" "the refusal names the host"
expect_eq "$(find h1 -name '*.pem' | wc -l)" "0" "nothing deployed with another host's key"
expect_eq "$(calls 1)" "" "no command run with another host's key"
ks audit --json
expect_eq "$(jget '[.entries[] | select(.action == "host-refused")] | length')" "1" "the refused attempt is in the audit log"
expect_in "host1" "$(jget '[.entries[] | select(.action == "host-refused")][0].detail')" "naming host1"
ks host show host1 --json
expect_eq "$(jget '[.events[] | select(.action == "refused")] | length')" "1" "and among host1's events (host show)"
ks fleet --json
expect_eq "$(jget '[.[] | select(.state == "current")] | length')" "0" "the refused attempt deployed nothing"

# --- the three agents, as three processes at once ----------------------------------------------
for n in 1 2 3; do
  ( unset KEYSAFE_PASSPHRASE
    "$KEYSAFE_BIN" agent --host "host$n" --host-key "$T/keys/host$n.key" --once </dev/null \
      >"agent$n.out" 2>"agent$n.err"
    echo $? >"agent$n.rc" ) &
done
wait
for n in 1 2 3; do
  RC=$(cat "agent$n.rc"); OUT=$(cat "agent$n.out"); ERR=$(cat "agent$n.err")
  expect_rc 0 "host$n's agent deploys its two entries, tests, reloads and probes them"
  # nginx -t fails unless both sites' files exist: the agent wrote both before testing.
  expect_eq "$(calls $n)" "test reload " "host$n: one test and one reload for its two entries"
  expect_eq "$(stat -c %a "h$n/a/privkey.pem")" "600" "host$n's private key file is 0600"
  for s in a b; do
    expect_eq "$(served_fp "${PORT[$n]}" "e$n$s.example.test")" "$(newest_fp "e$n$s")" \
      "host$n's nginx serves e$n$s (SNI e$n$s.example.test), verified against the local CA"
  done
done
expect_eq "$(ls h1 | tr "\n" " ")" "a b calls nginx " "host1's agent wrote only host1's directories"
ks fleet --json
expect_rc 0 "fleet: all current"
expect_eq "$(jget '[.[] | select(.state == "current")] | length')" "6" "six rows current"
expect_eq "$(row host2 e2b newest_fingerprint)" "$(newest_fp e2b)" "newest_fingerprint"
expect_eq "$(row host2 e2b deployed_fingerprint)" "$(newest_fp e2b)" "deployed_fingerprint"
expect_eq "$(row host2 e2b served_fingerprint)" "$(newest_fp e2b)" "served_fingerprint (the probe)"
[ "$(row host2 e2b last_report)" != null ] && ok || bad "last_report is set"
ks fleet
expect_rc 0 "fleet (text): exit 0"
expect_in "host3" "$OUT" "the text names the hosts"

# --- idempotent: a second --once changes nothing -------------------------------------------------
for n in 1 2 3; do FILES[$n]=$(state_of "h$n/a"; state_of "h$n/b"); done
for n in 1 2 3; do
  agent $n
  expect_rc 0 "host$n's second agent --once exits 0"
  expect_eq "$(state_of "h$n/a"; state_of "h$n/b")" "${FILES[$n]}" "host$n's files are untouched (bytes, inode, mtime)"
  expect_eq "$(calls $n)" "test reload " "host$n: no test or reload on the second run"
done

# --- a renewal: fleet says stale until host2's agent deploys it ----------------------------------
OLD_E2A=$(newest_fp e2a)
ks renew e2a
expect_rc 0 "the local CA renews e2a"
NEW_E2A=$(newest_fp e2a)
[ "$NEW_E2A" != "$OLD_E2A" ] && ok || bad "e2a has a new certificate"
ks fleet --json
expect_rc 12 "fleet exits 12 between the renewal and the agent run"
expect_eq "$(row host2 e2a state)" "stale" "host2/e2a is stale"
expect_eq "$(row host2 e2a newest_fingerprint)" "$NEW_E2A" "its newest fingerprint is the renewed one"
expect_eq "$(row host2 e2a deployed_fingerprint)" "$OLD_E2A" "its deployed fingerprint is the old one"
expect_eq "$(jget '[.[] | select(.state == "current")] | length')" "5" "the five others are current"
for n in 1 3; do
  agent $n
  expect_rc 0 "host$n's agent: nothing of its own was renewed"
  expect_eq "$(state_of "h$n/a"; state_of "h$n/b")" "${FILES[$n]}" "host$n's files are untouched"
  expect_eq "$(calls $n)" "test reload " "host$n: no test or reload"
done
ks fleet
expect_rc 12 "fleet still 12: host2's agent has not run"
E2B_STATE=$(state_of h2/b)
agent 2
expect_rc 0 "host2's agent deploys the renewed e2a"
expect_eq "$(calls 2)" "test reload test reload " "host2: one test and one reload"
expect_eq "$(served_fp "${PORT[2]}" e2a.example.test)" "$NEW_E2A" "host2's nginx serves the renewed e2a"
expect_eq "$(served_fp "${PORT[2]}" e2b.example.test)" "$(newest_fp e2b)" "and still e2b"
expect_eq "$(state_of h2/b)" "$E2B_STATE" "e2b's files are untouched"
ks fleet --json
expect_rc 0 "fleet: all current again"
expect_eq "$(row host2 e2a deployed_fingerprint)" "$NEW_E2A" "host2/e2a deployed the renewed certificate"
expect_eq "$(row host2 e2a served_fingerprint)" "$NEW_E2A" "and serves it"

# --- silent: no report within --silent-after ------------------------------------------------
sleep 2
ks fleet --json --silent-after 1
expect_rc 13 "a host without a report within --silent-after counts as unreachable (13)"
expect_eq "$(jget '[.[] | select(.state == "silent")] | length')" "6" "every row silent"
ks fleet --silent-after 3600
expect_rc 0 "the same reports within --silent-after 3600: current"

# --- a tampered assignment is refused by the agent (its signature) -------------------------------
# e1a is renewed first, so that host1's agent has something due: a tampered assignment it
# accepted would be deployed (and its commands run) on this pass.
for n in 1 2 3; do FILES[$n]=$(state_of "h$n/a"; state_of "h$n/b"); done
CALLS1=$(calls 1)
store_copy before-tamper
ks renew e1a
expect_rc 0 "setup: e1a renewed, due on host1"
tamper "UPDATE assignments SET target_dir = '$T/evil', reload_cmd = 'touch $T/pwned' WHERE target_dir = '$T/h1/a'"
expect_eq "$(store_sql "SELECT count(*) FROM assignments WHERE target_dir = '$T/evil'")" "1" \
  "setup: the stored assignment now points at $T/evil"
agent 1
expect_rc 1 "the agent refuses an assignment whose signature does not verify (failed: 1)"
expect_in "signature" "$OUT$ERR" "the refusal says why"
[ -e evil ] && bad "the tampered target directory was written: $(ls -la evil)" || ok
[ -e pwned ] && bad "the tampered reload command ran" || ok
expect_eq "$(state_of h1/a; state_of h1/b)" "${FILES[1]}" "host1's files are untouched"
expect_eq "$(calls 1)" "$CALLS1" "no command of host1 ran"
ks fleet --json
expect_rc 1 "fleet: a failed row makes it exit 1"
expect_eq "$(row host1 e1a state)" "failed" "host1/e1a failed"
expect_eq "$(row host1 e1b state)" "current" "the other assignment of host1 is still current"
ks audit --json
expect_eq "$(jget '[.entries[] | select(.action == "host-refused" and .entry == "e1a")] | length')" "1" \
  "the refused assignment is in the audit log"
store_copy_back before-tamper

# Host 2 cannot take host 1's (renewed, so due) assignment by moving it to itself: it is signed
# for host1 and sealed to host1's key.
ks renew e1a
tamper "UPDATE assignments SET host_id = (SELECT id FROM hosts WHERE name = 'host2')
  WHERE host_id = (SELECT id FROM hosts WHERE name = 'host1') AND key_id = (SELECT id FROM keys WHERE name = 'e1a')"
expect_eq "$(store_sql "SELECT h.name FROM assignments a JOIN hosts h ON h.id = a.host_id
  JOIN keys k ON k.id = a.key_id WHERE k.name = 'e1a'")" "host2" "setup: e1a's assignment now belongs to host2"
agent 2
expect_rc 1 "host2's agent refuses an assignment moved to it from host1 (failed: 1)"
expect_in "e1a" "$OUT$ERR" "naming e1a"
expect_eq "$(state_of h1/a; state_of h1/b)" "${FILES[1]}" "e1a's directory is untouched"
expect_eq "$(state_of h2/a; state_of h2/b)" "${FILES[2]}" "host2's files are untouched"
expect_eq "$(calls 2)" "test reload test reload " "no command of host2 ran"
store_copy_back before-tamper

# --- unassign and host remove --------------------------------------------------------------
ks_notty unassign e1b --host host1
expect_rc 2 "unassign needs the store passphrase"
ks unassign e1b --host host1
expect_rc 0 "unassign e1b from host1"
ks host show host1 --json
expect_eq "$(jget '[.assignments[].entry] | join(",")')" "e1a" "host1 keeps e1a only"
ks fleet --json
expect_eq "$(jget 'length')" "5" "fleet: five rows after unassign"

# --- PostgreSQL: host2's database role sees only host2's rows, and its agent works as it ------
if ! on_sqlite; then
  host_uri() { echo "${KEYSAFE_STORE/postgres@/$1@}"; }
  as_role() { "$PG_BIN/psql" -X -q -A -t -d "$(host_uri "$1")" -c "$2" 2>&1; }
  expect_eq "$(as_role keysafe_host_host2 "SELECT string_agg(name, ',') FROM hosts")" host2 \
    "host2's role sees its own host row only"
  expect_eq "$(as_role keysafe_host_host2 "SELECT count(*) FROM keys WHERE name NOT LIKE 'e2%'")" 0 \
    "and no entry of host1's or host3's"
  expect_eq "$(as_role keysafe_host_host2 "SELECT count(*) FROM assignments")" 2 "its own two assignments"
  expect_eq "$(as_role keysafe_host_host2 "SELECT count(*) FROM host_reports")" 2 "and their reports only"
  expect_in "permission denied" "$(as_role keysafe_host_host2 "SELECT sealed_private_key FROM keys")" \
    "the store-sealed keys are out of its reach"
  before=$(state_of h2)
  KEYSAFE_STORE=$(host_uri keysafe_host_host2) agent 2
  expect_rc 0 "host2's agent, logged in as its role, checks its assignments"
  expect_eq "$(state_of h2)" "$before" "and changes nothing (all current)"
fi

ks_notty host remove host3 --yes
expect_rc 2 "host remove needs the store passphrase"
ks host remove host3 --yes
expect_rc 0 "host remove host3"
expect_in "may still" "$OUT$ERR" "it says the keys host3 held may still be on it"
expect_in "renew" "$OUT$ERR" "and suggests renewing them"
expect_in "e3a" "$OUT$ERR" "naming e3a"
expect_in "e3b" "$OUT$ERR" "and e3b"
ks host list --json
expect_eq "$(jget '[.[].name] | sort | join(",")')" "host1,host2" "host3 is gone"
ks fleet --json
expect_eq "$(jget '[.[] | select(.host == "host3")] | length')" "0" "fleet: no rows for host3"
expect_eq "$(store_sql "SELECT count(*) FROM assignments a JOIN hosts h ON h.id = a.host_id WHERE h.name = 'host3'")" "0" \
  "host3's assignments are gone from the store"
agent 3
[ "$RC" != 0 ] && ok || bad "a removed host's agent is refused"
# --- rotating host1's key, as docs/FLEET.md says ------------------------------------------------
before_rotation=$(ks host show host1 --json; jget '.assignments | length')
ks host rotate host1 --key-out keys/host1.key
expect_rc 6 "rotation never writes over an existing key file"
ks host rotate host1 --key-out keys/host1-new.key
expect_rc 0 "rotation: host rotate host1"
expect_eq "$(stat -c %a keys/host1-new.key)" 600 "the new host key file is 0600"
expect_in "renew e1a" "$OUT" "rotation names the entries to renew"
ks host show host1 --json
expect_eq "$(jget '.assignments | length')" "$before_rotation" "host1 keeps its assignments"
ks_notty agent --host host1 --host-key "$T/keys/host1-new.key" --once
expect_rc 0 "the new key's agent: nothing to deploy, its files are its own"
OLD_E1A=$(newest_fp e1a)
ks renew e1a
expect_rc 0 "rotation: renew the entry the old key could open"
agent 1
[ "$RC" != 0 ] && [ "$RC" != 12 ] && [ "$RC" != 13 ] && ok || bad "the old host1 key is refused after the rotation"
[ "$(newest_fp e1a)" != "$OLD_E1A" ] && ok || bad "e1a has a new certificate"
expect_eq "$(served_fp "${PORT[1]}" e1a.example.test)" "$OLD_E1A" "nothing deployed with the old key"
ks_notty agent --host host1 --host-key "$T/keys/host1-new.key" --once
expect_rc 0 "the new key's agent deploys the renewed e1a"
expect_eq "$(served_fp "${PORT[1]}" e1a.example.test)" "$(newest_fp e1a)" "host1's nginx serves the renewed e1a"

ks audit --verify
expect_rc 0 "the audit chain verifies after all of it"
finish
