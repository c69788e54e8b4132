# keysafe-test: postgresql-only
# PostgreSQL stores named by libpq URIs (issue 15): a password written in the URI is refused
# (exit 2) without touching the store or repeating the password; a URI is never taken as a file
# path (no ./postgresql:/); postgres:// is the same as postgresql://; each server error has its
# own JSON code (exit 4): store-unreachable (stopped server, no such host), store-database-missing,
# store-permission (a role without rights), store-read-only (hot standby, read-only
# transactions), store-authentication-failed (scram and md5 with a wrong or missing password);
# PGPASSWORD, PGPASSFILE and ~/.pgpass give the password; init into the schema named by
# ?options=-csearch_path%3Dkeysafe; a store of a newer schema version (keysafe_schema.version) is
# refused (store-newer) and left as it was.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
P=${PG_PORT[main]}
mkdir -p "$T/cwd" "$T/home"
export HOME="$T/home"   # no ~/.pgpass of the machine
unset PGPASSWORD PGPASSFILE PGHOST PGPORT PGUSER PGDATABASE PGSERVICE

# no_uri_files WHAT: nothing named after a URI scheme was made in the current directory or $T.
no_uri_files() {
  if ls -d ./postgres* "$T"/postgres* "$T/cwd"/postgres* >/dev/null 2>&1; then
    bad "$1: a file or directory was made for the URI: $(ls -d ./postgres* "$T"/postgres* "$T/cwd"/postgres* 2>/dev/null)"
  else ok; fi
}
# expect_store_error CODE WHAT: exit 4, the JSON error CODE with a cause and a fix, the message
# on standard error.
expect_store_error() {
  expect_rc 4 "$2"
  expect_eq "$(jget .error.code)" "$1" "$2: JSON error code"
  expect_eq "$(jget .error.exit_code)" 4 "$2: JSON exit_code"
  [ -n "$(jget .error.cause)" ] && [ "$(jget .error.cause)" != null ] && ok || bad "$2: the error has a cause"
  [ -n "$(jget .error.fix)" ] && [ "$(jget .error.fix)" != null ] && ok || bad "$2: the error has a fix"
  expect_in "keysafe: error:" "$ERR" "$2: the message on standard error"
}

# --- a password in the URI: refused before anything is opened --------------------------------
for uri in "postgresql://postgres:Sekr1tPw@127.0.0.1:$P/store" "postgres://postgres:Sekr1tPw@127.0.0.1:$P/store" \
           "postgresql://postgres@127.0.0.1:$P/store?password=Sekr1tPw"; do
  ks --store "$uri" init --kdf-cost 10
  expect_rc 2 "init with a password in the URI ($uri)"
  expect_in "password" "$ERR" "the refusal is about the password ($uri)"
  expect_in "pgpass" "$ERR" "the fix names ~/.pgpass or PGPASSFILE ($uri)"
  expect_not_in "Sekr1tPw" "$ERR$OUT" "the password is not repeated ($uri)"
  KEYSAFE_STORE=$uri ks --json list
  expect_rc 2 "KEYSAFE_STORE with a password in the URI ($uri)"
  expect_eq "$(jget .error.exit_code)" 2 "JSON exit_code of a password in the URI"
  expect_not_in "Sekr1tPw" "$ERR$OUT" "the password is not repeated in JSON ($uri)"
done
store_exists && bad "a refused init touched the database" || ok
no_uri_files "refused URIs"

# --- init and use through a URI; postgres:// is the same store ----------------------------------
cd "$T/cwd"
ks --store "postgres://postgres@127.0.0.1:$P/store" init --kdf-cost 10
expect_rc 0 "init --store postgres://..."
store_exists && ok || bad "init made the schema in the database"
ks create www --dns www.example.test -o www.req
expect_rc 0 "create through KEYSAFE_STORE=postgresql://..."
ks --store "postgres://postgres@127.0.0.1:$P/store" show www --json
expect_rc 0 "show through postgres://"
expect_eq "$(jget .name)" www "the same store under both schemes"
ks init --kdf-cost 10
expect_rc 6 "init over an existing store in the database"
ks --store "postgresql://postgres@127.0.0.1:$P/store" list
expect_rc 0 "list with --store postgresql://..."
no_uri_files "commands through URIs"
cd "$T"

# --- server errors, each with its own code ------------------------------------------------------
NOBODY_PORT=$(free_port)
ks --json --store "postgresql://postgres@127.0.0.1:$NOBODY_PORT/store" list
expect_store_error store-unreachable "a port where no server listens"
expect_in "127.0.0.1" "$ERR" "the message names the host"
ks --json --store "postgresql://postgres@no-such-host.invalid:$P/store" list
expect_store_error store-unreachable "a host name that does not resolve"
ks --json --store "$(pg_uri main no_such_db)" list
expect_store_error store-database-missing "a database that does not exist"
expect_in "no_such_db" "$ERR" "the message names the database"
ks --json --store "$(pg_uri main no_such_db)" init --kdf-cost 10
expect_store_error store-database-missing "init does not create databases"
expect_eq "$(pg_psql main postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'no_such_db'")" 0 \
  "no database was created"

# A role without rights on the store's tables (trust authentication: only rights are missing).
pg_psql main postgres -c "CREATE ROLE clerk LOGIN"
CLERK="postgresql://clerk@127.0.0.1:$P/store"
ks --json --store "$CLERK" list
expect_store_error store-permission "list as a role that may not read the tables"
pg_psql main store -c "GRANT USAGE ON SCHEMA public TO clerk; GRANT SELECT ON ALL TABLES IN SCHEMA public TO clerk"
ks --store "$CLERK" list
expect_rc 0 "list as a role that may read"
H=$(store_hash)
ks --json --store "$CLERK" create denied --dns denied.example.test -o denied.req
expect_store_error store-permission "create as a role that may only read"
expect_eq "$(store_hash)" "$H" "the store is unchanged"
[ ! -e denied.req ] && ok || bad "a refused create wrote its request"
pg_createdb main clerkdb
ks --json --store "postgresql://clerk@127.0.0.1:$P/clerkdb" init --kdf-cost 10
expect_store_error store-permission "init as a role that may not create tables"

# Read-only: a transaction made read-only by the URI's options, and a hot standby.
H=$(store_hash)
ks --json --store "postgresql://postgres@127.0.0.1:$P/store?options=-cdefault_transaction_read_only%3Don" \
  create ro --dns ro.example.test -o ro.req
expect_store_error store-read-only "create in a read-only transaction"
expect_eq "$(store_hash)" "$H" "the store is unchanged"
pg_allow_replication main
pg_start_standby main standby || bad "the standby did not start"
pg_wait_streaming main && ok || bad "the standby streams"
STANDBY=$(pg_uri standby store)
ks --store "$STANDBY" list --json
expect_rc 0 "a hot standby serves reads"
expect_eq "$(jget '.[0].name')" www "with the primary's entries"
ks --json --store "$STANDBY" create on-standby --dns s.example.test -o s.req
expect_store_error store-read-only "create on a hot standby"
expect_in "read-only" "$ERR" "the message says read-only"
pg_stop standby
ks --json --store "$STANDBY" list
expect_store_error store-unreachable "a stopped server"

# Authentication: scram-sha-256 (alice) and md5 (bob), passwords from libpq's own sources.
pg_psql main postgres -c "CREATE ROLE alice LOGIN PASSWORD 'alice-Pw-1'"
pg_psql main postgres -c "SET password_encryption = 'md5'; CREATE ROLE bob LOGIN PASSWORD 'bob-Pw-1'"
pg_psql main postgres -c "CREATE DATABASE alicedb OWNER alice"
pg_psql main postgres -c "CREATE DATABASE bobdb OWNER bob"
pg_hba_first main "host all alice 127.0.0.1/32 scram-sha-256"
pg_hba_first main "host all bob 127.0.0.1/32 md5"
ALICE="postgresql://alice@127.0.0.1:$P/alicedb"
BOB="postgresql://bob@127.0.0.1:$P/bobdb"
ks --json --store "$ALICE" list
expect_store_error store-authentication-failed "scram: no password anywhere"
PGPASSWORD=Wr0ngPw ks --json --store "$ALICE" list
expect_store_error store-authentication-failed "scram: a wrong PGPASSWORD"
expect_in "alice" "$ERR" "the message names the role"
expect_not_in "Wr0ngPw" "$ERR$OUT" "the wrong password is not repeated"
PGPASSWORD=Wr0ngPw ks --json --store "$BOB" list
expect_store_error store-authentication-failed "md5: a wrong PGPASSWORD"
PGPASSWORD=alice-Pw-1 ks --store "$ALICE" init --kdf-cost 10
expect_rc 0 "PGPASSWORD gives the password (init as alice)"
printf '127.0.0.1:%s:alicedb:alice:alice-Pw-1\n127.0.0.1:%s:bobdb:bob:Wr0ngPw\n' "$P" "$P" >"$T/pgpass"
chmod 600 "$T/pgpass"
PGPASSFILE="$T/pgpass" ks --store "$ALICE" create from-passfile --dns pf.example.test -o pf.req
expect_rc 0 "PGPASSFILE gives the password"
PGPASSFILE="$T/pgpass" ks --json --store "$BOB" list
expect_store_error store-authentication-failed "md5: a wrong password in PGPASSFILE"
printf '127.0.0.1:%s:alicedb:alice:alice-Pw-1\n' "$P" >"$HOME/.pgpass"
chmod 600 "$HOME/.pgpass"
ks --store "$ALICE" show from-passfile
expect_rc 0 "~/.pgpass gives the password"
printf '127.0.0.1:%s:alicedb:alice:Wr0ngPw\n' "$P" >"$HOME/.pgpass"
ks --json --store "$ALICE" list
expect_store_error store-authentication-failed "scram: a wrong password in ~/.pgpass"
rm -f "$HOME/.pgpass"

# --- init into a schema named by the URI's options ----------------------------------------------
pg_createdb main schemadb
pg_psql main schemadb -c "CREATE SCHEMA keysafe"
SCHEMA_URI="$(pg_uri main schemadb)?options=-csearch_path%3Dkeysafe"
ks --store "$SCHEMA_URI" init --kdf-cost 10
expect_rc 0 "init with ?options=-csearch_path%3Dkeysafe"
[ "$(pg_psql main schemadb -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'keysafe'")" -gt 0 ] && ok ||
  bad "the tables are in schema keysafe"
expect_eq "$(pg_psql main schemadb -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 \
  "and none in public"
ks --store "$SCHEMA_URI" create in-schema --dns schema.example.test -o schema.req
expect_rc 0 "create in the schema"
ks --store "$SCHEMA_URI" list --json
expect_eq "$(jget '.[0].name')" in-schema "list in the schema"
ks --store "$(pg_uri main schemadb)" list
expect_rc 4 "without the options, the public schema holds no store"

# --- the write lock: KEYSAFE_LOCK_TIMEOUT bounds the wait, then store-locked; nothing left open ---
# Another session holds the store's advisory lock (what a running keysafe writer holds).
pg_psql main store -c "BEGIN" -c "SELECT pg_advisory_xact_lock(1801812339, hashtext('public'))" \
  -c "SELECT pg_sleep(6)" -c "COMMIT" >/dev/null &
HOLDER=$!
for _ in $(seq 1 50); do
  [ "$(pg_psql main store -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" -ge 1 ] && break
  sleep 0.1
done
H=$(store_hash)
START=$(date +%s%N)
KEYSAFE_LOCK_TIMEOUT=1 ks --json create locked-out --dns locked.example.test -o locked.req
ELAPSED_MS=$(( ($(date +%s%N) - START) / 1000000 ))
expect_store_error store-locked "create while another session holds the write lock"
[ "$ELAPSED_MS" -ge 900 ] && [ "$ELAPSED_MS" -lt 5000 ] && ok ||
  bad "KEYSAFE_LOCK_TIMEOUT=1 waited about a second (took $ELAPSED_MS ms)"
expect_eq "$(store_hash)" "$H" "a writer that did not get the lock changed nothing"
wait "$HOLDER"
ks create after-lock --dns after.example.test -o after.req
expect_rc 0 "create once the lock is free"

# --- a command that asks whether a store exists, then opens it, logs in once ------------------
pg_psql main postgres -c "ALTER SYSTEM SET log_connections = on" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
pg_createdb main oncedb
BEFORE=$(grep -c "connection authorized" "$PG_ROOT/main/server.log")
ks --store "$(pg_uri main oncedb)" init --kdf-cost 10
expect_rc 0 "init into a new database"
AFTER=$(grep -c "connection authorized" "$PG_ROOT/main/server.log")
expect_eq "$((AFTER - BEFORE))" 1 "init connected once (asking whether a store exists reuses the connection)"
pg_psql main postgres -c "ALTER SYSTEM RESET log_connections" -c "SELECT pg_reload_conf()" >/dev/null

# --- a store written by a newer keysafe is refused, and left as it was ------------------------------
pg_psql main store -c "UPDATE keysafe_schema SET version = 99 WHERE id = 1"
H=$(store_hash)
ks_notty list
expect_rc 4 "list on a store of a newer schema version"
expect_in "newer" "$ERR" "says newer"
expect_in "99" "$ERR" "names the version"
ks --json create other --dns other.example.test -o other.req
expect_store_error store-newer "create on a store of a newer schema version"
expect_eq "$(store_hash)" "$H" "the newer store is unchanged"
expect_eq "$(pg_psql main store -c "SELECT version FROM keysafe_schema")" 99 "its version is still 99"
finish
