# keysafe-test: postgresql-only
# keysafe-test: run-serial — up to four clusters at once
# The throwaway PostgreSQL clusters of the tests (tests/pg.sh, lib.sh's backends): a cluster of
# this script alone on 127.0.0.1, run by postgres (not root), on no system cluster; the store
# helpers (store_hash, store_move, store_copy, store_remove) do to a database what the SQLite
# scripts do to a file; a port taken by someone else is retried; a streaming standby follows
# its primary synchronously and takes over; and every cluster is stopped and its files removed
# when the script ends, whether it passes, fails or is killed with SIGKILL.
source "$KEYSAFE_TESTS/lib.sh"

# --- the cluster lib.sh started for this script
postmaster_pid() { head -n 1 "${PG_DATA[$1]}/postmaster.pid" 2>/dev/null; }
PID=$(postmaster_pid main)
expect_eq "$(ps -o user= -p "$PID" 2>/dev/null)" "$( [ "$(id -u)" = 0 ] && echo postgres || id -un)" \
  "the server runs as postgres when the tests run as root"
expect_eq "$(pg_psql main postgres -c "SELECT current_setting('listen_addresses')")" "127.0.0.1" \
  "it listens on loopback only"
expect_eq "$(pg_psql main postgres -c "SELECT current_setting('port')")" "${PG_PORT[main]}" "on the port it chose"
case "${PG_DATA[main]}" in "$PG_ROOT"/*) ok ;; *) bad "the data directory is not under $PG_ROOT" ;; esac
expect_eq "$(pg_psql main postgres -c "SELECT current_setting('unix_socket_directories')")" \
  "$PG_ROOT/main" "its unix socket is in its own directory (no /var/run/postgresql)"
expect_eq "$KEYSAFE_STORE" "postgresql://postgres@127.0.0.1:${PG_PORT[main]}/store" "KEYSAFE_STORE is the store's URI"
expect_eq "$(pg_psql main store -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 \
  "the store's database exists, empty, for init"
store_exists && bad "store_exists on an empty database" || ok

# --- store_hash: rows and schema, not where they lie on disk
pg_psql main store -c "CREATE TABLE t (id int PRIMARY KEY, b bytea); INSERT INTO t VALUES (1, '\\x00ff'), (2, '\\x01')"
store_exists && ok || bad "store_exists once the database has tables"
H=$(store_hash)
pg_psql main store -c "UPDATE t SET b = b"
expect_eq "$(store_hash)" "$H" "a row rewritten with the same values hashes the same"
pg_psql main store -c "BEGIN; INSERT INTO t VALUES (3, '\\x02'); ROLLBACK"
expect_eq "$(store_hash)" "$H" "a rolled-back insert leaves the hash"
pg_psql main store -c "UPDATE t SET b = '\\x02' WHERE id = 2"
[ "$(store_hash)" != "$H" ] && ok || bad "a changed byte changes the hash"
H=$(store_hash)
pg_psql main store -c "CREATE INDEX t_b ON t (b)"
[ "$(store_hash)" != "$H" ] && ok || bad "a new index changes the hash"
A=$(KEYSAFE_STORE=$(pg_uri main no_such_db) store_hash 2>/dev/null)
B=$(KEYSAFE_STORE=$(pg_uri main no_such_db) store_hash 2>/dev/null)
[ "$A" != "$B" ] && ok || bad "two failed dumps must not compare equal ($A)"

# --- store_copy / store_move / store_move_back / store_remove
H=$(store_hash)
store_copy copy1
expect_eq "$(KEYSAFE_STORE=$(store_at copy1) store_hash)" "$H" "store_copy: the same rows in the copy"
store_move aside
store_exists && bad "store_move left the store in place" || ok
expect_eq "$(KEYSAFE_STORE=$(store_at aside) store_hash)" "$H" "store_move: the rows moved"
pg_psql main store -c "CREATE TABLE other (x int)"
store_move_back aside
expect_eq "$(store_hash)" "$H" "store_move_back: the moved store replaces what was there"
store_remove
store_exists && bad "store_remove left tables" || ok
expect_eq "$(pg_psql main postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'store'")" 1 \
  "store_remove leaves an empty database (keysafe creates none)"
use_store second
expect_eq "$KEYSAFE_STORE" "postgresql://postgres@127.0.0.1:${PG_PORT[main]}/second" "use_store names another database"

# --- a child script, to watch what happens when it ends
child() {
  cat >"$T/child.sh" <<EOF
$2
source "\$KEYSAFE_TESTS/lib.sh"
echo "\$PG_ROOT \$(head -n 1 "\${PG_DATA[main]}/postmaster.pid") \$\$" >"$T/child.$1"
$3
EOF
  KEYSAFE_TEST_BACKEND=postgresql bash "$T/child.sh" >"$T/child.$1.out" 2>&1
}
# gone ROOT PID DESCRIPTION: waits up to 10 s for the cluster of a child to be gone.
gone() {
  local i
  for i in $(seq 1 50); do
    if [ ! -e "$1" ] && ! kill -0 "$2" 2>/dev/null; then ok; return; fi
    sleep 0.2
  done
  bad "$3: $1 or server $2 still there"
  pg_as_owner "$PG_BIN/pg_ctl" -D "$1/main/data" -m immediate stop >/dev/null 2>&1
}
child passed "" "finish"
read -r root pid _ <"$T/child.passed"
expect_eq "$(cat "$T/child.passed.out")" "0 passed, 0 failed" "the child ran"
gone "$root" "$pid" "a passing script stops its cluster"
child failed "" 'bad "on purpose"; finish'
read -r root pid _ <"$T/child.failed"
gone "$root" "$pid" "a failing script stops its cluster"
child killed "" "sleep 300 & echo \$! >'$T/child.sleep'; wait" 2>/dev/null &
CHILD=$!
for i in $(seq 1 150); do [ -s "$T/child.killed" ] && [ -s "$T/child.sleep" ] && break; sleep 0.2; done
read -r root pid script <"$T/child.killed"
kill -0 "$pid" 2>/dev/null && ok || bad "the killed child's server was running"
# SIGKILL, as a CTest timeout does: no trap of the script runs.
kill -9 "$script"; wait "$CHILD" 2>/dev/null; kill "$(cat "$T/child.sleep")" 2>/dev/null
gone "$root" "$pid" "a script killed with SIGKILL: the watchdog stops its cluster"

# --- the backend markers
child marked "# keysafe-test: sqlite-only — a test of this harness" "finish"
RC=$?; OUT=$(cat "$T/child.marked.out")
expect_rc 1 "a script marked sqlite-only refuses to run on PostgreSQL"
expect_in "marked sqlite-only" "$OUT" "and says why"
printf '# keysafe-test: postgresql-only\nsource "$KEYSAFE_TESTS/lib.sh"; finish\n' >"$T/pgonly.sh"
OUT=$(KEYSAFE_TEST_BACKEND=sqlite bash "$T/pgonly.sh" 2>&1); RC=$?
expect_rc 1 "a postgresql-only script refuses to run on SQLite"
expect_in "marked postgresql-only" "$OUT" "and says why"

# --- a port someone else took between choosing and binding it is retried
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(120)' >"$T/busy.port" &
BUSY=$!
for i in $(seq 1 50); do [ -s "$T/busy.port" ] && break; sleep 0.1; done
BUSY_PORT=$(cat "$T/busy.port")
on_exit "kill $BUSY 2>/dev/null"
real_free_port=$(declare -f free_port)
free_port() { if [ ! -e "$T/busy.given" ]; then : >"$T/busy.given"; echo "$BUSY_PORT"; else python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; fi; }
pg_start retried && ok || bad "pg_start retries a port in use"
[ -e "$T/busy.given" ] && ok || bad "the busy port was offered"
[ "${PG_PORT[retried]:-}" != "$BUSY_PORT" ] && [ -n "${PG_PORT[retried]:-}" ] && ok || bad "another port was taken"
expect_eq "$(pg_psql retried postgres -c 'SELECT 1')" 1 "the retried cluster answers"
eval "$real_free_port"
kill "$BUSY" 2>/dev/null
pg_stop retried

# --- primary + synchronous streaming standby, and failover (what pg_failover.sh builds on)
pg_start primary -c "synchronous_standby_names='*'" || bad "the primary did not start"
pg_allow_replication primary
pg_start_standby primary standby || bad "the standby did not start"
pg_wait_streaming primary && ok || bad "the standby streams"
expect_eq "$(pg_psql primary postgres -c "SELECT sync_state FROM pg_stat_replication")" sync \
  "the standby is synchronous: a commit waits for it"
pg_createdb primary db
pg_psql primary db -c "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"
expect_eq "$(pg_psql standby postgres -c "SELECT pg_is_in_recovery()")" t "the standby is read-only"
TWO="postgresql://postgres@127.0.0.1:${PG_PORT[primary]},127.0.0.1:${PG_PORT[standby]}/db?target_session_attrs=read-write"
expect_eq "$("$PG_BIN/psql" -X -A -t -d "$TWO" -c "SELECT current_setting('port')")" "${PG_PORT[primary]}" \
  "a two-host URI reaches the primary"
pg_stop primary
pg_promote standby
expect_eq "$(pg_psql standby db -c "SELECT count(*) FROM t")" 1 "the committed row is on the promoted standby"
expect_eq "$("$PG_BIN/psql" -X -q -A -t -d "$TWO" -c "INSERT INTO t VALUES (2); SELECT current_setting('port')")" \
  "${PG_PORT[standby]}" "after failover the same URI writes to the promoted standby"
finish
