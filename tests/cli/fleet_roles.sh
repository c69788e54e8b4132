#!/usr/bin/env bash
# keysafe-test: postgresql-only
# Fleets on PostgreSQL: each host's agent logs in as its own role, and row-level security shows
# it its own assignments and the public rows of its entries and nothing else (no sealed store
# key, no other host's rows, no settings or audit). Checked twice: with psql, as an intruder on
# the host would try, and with keysafe's agent. The admin without CREATEROLE gets the SQL.
source "$KEYSAFE_TESTS/lib.sh"
new_store
ks ca init root --days 3650
for n in a b; do
  ks create "$n" --dns "$n.example.test" -o "$n.req"
  ks ca sign root --key "$n" --days 90
done
ks show a --json
fp_a=$(jget '.fingerprint_sha256')
# host_uri ROLE: the store's URI, logged in as ROLE.
host_uri() { echo "${KEYSAFE_STORE/postgres@/$1@}"; }
# as_role ROLE SQL: runs SQL as ROLE; OUT gets the rows, RC psql's exit, ERR its message.
as_role() {
  OUT=$("$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$(host_uri "$1")" -c "$2" 2>"$T/psql.err")
  RC=$?
  ERR=$(cat "$T/psql.err")
}

# --- host add creates the role ----------------------------------------------------------------
ks host add web1 --key-out web1.key --json
expect_rc 0 "host add web1"
expect_eq "$(jget '.role')" keysafe_host_web1 "the default role name"
expect_eq "$(jget '.role_created')" true "a superuser connection creates it"
ks host add web2 --key-out web2.key --role web_two
expect_rc 0 "host add web2 with a role named"
expect_in "database role web_two (created" "$OUT" "the text says which role its agent uses"
ks host show web1 --json
expect_eq "$(jget '.role')" keysafe_host_web1 "host show --json has role"
expect_eq "$(store_sql "SELECT rolcanlogin::int::text || rolsuper::int::text || rolcreaterole::int::text FROM pg_roles
  WHERE rolname = 'keysafe_host_web1'")" 100 "a login role without privileges of its own"
store_sql "CREATE ROLE taken LOGIN"
ks host add web3 --key-out web3.key --role taken
expect_rc 0 "an existing role is used when named"
expect_eq "$(store_sql "SELECT role FROM hosts WHERE name = 'web3'")" taken "and recorded"
store_sql "CREATE ROLE keysafe_host_web4 LOGIN"
ks host add web4 --key-out web4.key
expect_rc 6 "an existing role is not taken over unless named"
expect_in "--role keysafe_host_web4" "$ERR" "the fix names the flag"
[ ! -e web4.key ] && ok || bad "no key file for the refused host"

ks assign a --host web1 --to "$T/h1/a" --layout pem
expect_rc 0 "assign a to web1"
ks assign b --host web2 --to "$T/h2/b" --layout pem
expect_rc 0 "assign b to web2"

# --- what web1's role sees with psql ----------------------------------------------------------
as_role keysafe_host_web1 "SELECT name FROM hosts ORDER BY name"
expect_eq "$OUT" web1 "web1 sees its own host row only"
as_role keysafe_host_web1 "SELECT target_dir FROM assignments"
expect_eq "$OUT" "$T/h1/a" "and its own assignment only"
as_role keysafe_host_web1 "SELECT name FROM keys ORDER BY name"
expect_eq "$OUT" a "the entries assigned to it, no other"
as_role keysafe_host_web1 "SELECT count(*) FROM certificates"
expect_eq "$OUT" 1 "a's certificate only"
as_role keysafe_host_web1 "SELECT sealed_private_key FROM keys"
[ "$RC" != 0 ] && ok || bad "the store-sealed private key column is not readable"
expect_in "permission denied" "$ERR" "refused by the server"
as_role keysafe_host_web1 "SELECT count(*) FROM keys WHERE sealed_private_key IS NOT NULL"
[ "$RC" != 0 ] && ok || bad "not even in a WHERE clause"
for table in store_header settings audit audit_head key_slots authorities issued_certificates deployments requests; do
  as_role keysafe_host_web1 "SELECT count(*) FROM $table"
  [ "$RC" != 0 ] && expect_in "permission denied" "$ERR" "$table is not readable by a host" ||
    bad "$table is readable by a host role"
done
as_role keysafe_host_web1 "SELECT private_key FROM fleet_signing_key"
[ "$RC" != 0 ] && ok || bad "the fleet signing private key is not readable"
as_role keysafe_host_web1 "SELECT length(public_key) > 0 FROM fleet_signing_key"
expect_eq "$OUT" t "its public key is (the agent checks signatures with it)"
as_role keysafe_host_web1 "UPDATE assignments SET target_dir = '/etc'"
[ "$RC" != 0 ] && ok || bad "a host role cannot change its assignments"
as_role keysafe_host_web1 "DELETE FROM host_events"
[ "$RC" != 0 ] && ok || bad "nor erase events"
as_role keysafe_host_web1 "INSERT INTO host_events (at, host, action, entry, detail) VALUES (1, 'web2', 'deployed', 'b', 'forged')"
[ "$RC" != 0 ] && ok || bad "nor write another host's events"
expect_in "row-level security" "$ERR" "refused by row-level security"
as_role keysafe_host_web1 "SELECT keysafe_host_refused('b', 'tried b')"
expect_rc 0 "a host role may record a refusal"
expect_eq "$(store_sql "SELECT host || ':' || action || ':' || entry FROM host_events WHERE detail = 'tried b'")" \
  "web1:refused:b" "recorded under its own name, whatever it claims"
as_role web_two "SELECT name FROM keys"
expect_eq "$OUT" b "web2's role sees b only"
as_role taken "SELECT count(*) FROM assignments"
expect_eq "$OUT" 0 "a host with no assignment sees none"

# --- keysafe's agent as the host role ---------------------------------------------------------
unset KEYSAFE_PASSPHRASE
admin_store=$KEYSAFE_STORE
KEYSAFE_STORE=$(host_uri keysafe_host_web1) ks agent --host web1 --host-key web1.key --once --json
expect_rc 0 "web1's agent, logged in as its role, deploys"
expect_eq "$(openssl x509 -in "$T/h1/a/cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)" \
  "$fp_a" "web1 serves a's certificate"
KEYSAFE_STORE=$(host_uri keysafe_host_web1) ks agent --host web1 --host-key web1.key --once --json
expect_rc 0 "a second pass changes nothing"
expect_eq "$(jget 'map(select(.deployed)) | length')" 0 "nothing deployed again"
KEYSAFE_STORE=$(host_uri keysafe_host_web1) ks agent --host web2 --host-key web2.key --once
expect_rc 1 "web1's role cannot act as web2 even with web2's key: it cannot see web2"
[ ! -e "$T/h2" ] && ok || bad "nothing of web2's was written"
KEYSAFE_STORE=$(host_uri keysafe_host_web1) ks agent --host web1 --host-key web2.key --once
expect_rc 6 "web1's role with another host's key is refused"
expect_eq "$(store_sql "SELECT host || ':' || action FROM host_events WHERE detail LIKE '%is not this host''s%'")" \
  "web1:refused" "and the refusal is recorded for web1"
KEYSAFE_STORE=$(host_uri keysafe_host_web1) ks list
[ "$RC" != 0 ] && ok || bad "a host role cannot list the store"
KEYSAFE_STORE=$(host_uri keysafe_host_web1) ks export a --format pem -o stolen.pem
[ "$RC" != 0 ] && ok || bad "nor export a key"
[ ! -s stolen.pem ] && ok || bad "no key file written"
export KEYSAFE_PASSPHRASE="correct horse battery staple"
KEYSAFE_STORE=$admin_store
ks fleet --json
expect_eq "$(jget '[.[] | select(.host == "web1")][0].state')" current "the admin sees web1 current"
ks check
expect_rc 0 "the store checks clean after the host roles' work"

# --- an admin who may not create roles gets the SQL -------------------------------------------
store_sql "CREATE ROLE clerk LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO clerk;
  GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO clerk"
KEYSAFE_STORE=$(host_uri clerk) ks host add web5 --key-out web5.key --json
expect_rc 0 "host add by a role without CREATEROLE"
expect_eq "$(jget '.role_created')" false "no role created"
expect_eq "$(store_sql "SELECT count(*) FROM pg_roles WHERE rolname = 'keysafe_host_web5'")" 0 "none exists"
jget '.role_sql[]' >web5.sql
expect_in 'CREATE ROLE "keysafe_host_web5" LOGIN' "$(cat web5.sql)" "the SQL creates the role"
sed 's/$/;/' web5.sql >web5-run.sql
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$KEYSAFE_STORE" -f web5-run.sql
[ $? = 0 ] && ok || bad "the printed SQL runs as the database administrator"
ks assign b --host web5 --to "$T/h5/b" --layout pem
unset KEYSAFE_PASSPHRASE
KEYSAFE_STORE=$(host_uri keysafe_host_web5) ks agent --host web5 --host-key web5.key --once
expect_rc 0 "web5's agent works with the role made from the printed SQL"
[ -s "$T/h5/b/privkey.pem" ] && ok || bad "web5 deployed b"
export KEYSAFE_PASSPHRASE="correct horse battery staple"

# --- host remove drops the role ---------------------------------------------------------------
ks host remove web1
expect_rc 0 "host remove web1"
expect_eq "$(store_sql "SELECT count(*) FROM pg_roles WHERE rolname = 'keysafe_host_web1'")" 0 "its role is dropped"
ks host remove web2 --keep-role
expect_rc 0 "host remove web2 --keep-role"
expect_eq "$(store_sql "SELECT count(*) FROM pg_roles WHERE rolname = 'web_two'")" 1 "the role stays"
as_role web_two "SELECT count(*) FROM assignments"
[ "$RC" != 0 ] && ok || bad "but has lost its grants"
# A copy of the database made from it as a template carries web3's grants: its role cannot be
# dropped from here, and the host is removed all the same.
store_copy store_twin
ks host remove web3 --json
expect_rc 0 "host remove web3 while its role has grants in another database"
expect_eq "$(jget '.role_dropped')" false "the role is not dropped"
expect_in "depend" "$(jget '.role_kept_because')" "and the reason is given"
expect_eq "$(store_sql "SELECT count(*) FROM hosts WHERE name = 'web3'")" 0 "the host is gone"
as_role taken "SELECT count(*) FROM hosts"
[ "$RC" != 0 ] && ok || bad "its role lost its grants on this store"
ks check
expect_rc 0 "check after the removals"
finish
