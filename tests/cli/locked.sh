# keysafe-test: sqlite-only — SQLite's file write lock held by the sqlite3 shell (PostgreSQL's locking: cli.pg.pg_concurrency)
# A store locked by another process: a writer waits KEYSAFE_LOCK_TIMEOUT seconds, then fails
# with exit 4 and names the process holding the lock (found in /proc/locks: pid and command);
# readers are not blocked; a lock released while waiting lets the command through.
source "$KEYSAFE_TESTS/lib.sh"
require_tool sqlite3 sqlite3
[ -r /proc/locks ] || skip "/proc/locks is not readable (it names the process holding the lock)"
new_store
ks create before --dns before.example.test; expect_rc 0 "create before"

# sqlite3 holds the write lock: BEGIN IMMEDIATE, fed through a fifo that stays open.
mkfifo sql.fifo
sqlite3 "$KEYSAFE_STORE" < sql.fifo > sql.out 2>&1 &
SQLITE_PID=$!
exec 3> sql.fifo
echo "BEGIN IMMEDIATE;" >&3
# Ready when /proc/locks shows a write lock of that pid (not a timing assumption: we wait for it).
for _ in $(seq 1 200); do
  awk -v p="$SQLITE_PID" '$5 == p && $4 == "WRITE"' /proc/locks | grep -q . && break
  sleep 0.05
done
awk -v p="$SQLITE_PID" '$5 == p && $4 == "WRITE"' /proc/locks | grep -q . && ok ||
  bad "sqlite3 (pid $SQLITE_PID) holds a write lock"

export KEYSAFE_LOCK_TIMEOUT=1
ks create blocked --dns blocked.example.test -o blocked.req
expect_rc 4 "create on a locked store: exit 4"
expect_in "locked by sqlite3 (pid $SQLITE_PID)" "$ERR" "the message names the holder and its pid"
expect_in "waited 1 s" "$ERR" "the message says how long it waited"
expect_in "KEYSAFE_LOCK_TIMEOUT" "$ERR" "the fix says how to wait longer"
expect_not_in "internal" "$ERR" "not an internal error"
[ ! -e blocked.req ] && ok || bad "a failed create wrote its request"
ks --json create blocked2 --dns blocked2.example.test -o blocked2.req
expect_rc 4 "--json: exit 4"
expect_eq "$(jget .error.code)" "store-locked" "--json: error code store-locked"
expect_in "$SQLITE_PID" "$(jget .error.summary)" "--json: the summary names the pid"

# Readers are not blocked by a writer (WAL).
ks list
expect_rc 0 "list works while another process writes"
expect_in "before" "$OUT" "list shows the entry"

# Fractional timeouts; a bad value is a usage error.
KEYSAFE_LOCK_TIMEOUT=0.3 ks create blocked3 --dns blocked3.example.test -o blocked3.req
expect_rc 4 "a fractional timeout"
expect_in "waited 0.3 s" "$ERR" "the fractional timeout is reported"
KEYSAFE_LOCK_TIMEOUT=soon ks list
expect_rc 2 "KEYSAFE_LOCK_TIMEOUT=soon is a usage error"
expect_in "KEYSAFE_LOCK_TIMEOUT" "$ERR" "the error names the variable"

# A lock released while the command waits: the command goes through.
KEYSAFE_LOCK_TIMEOUT=60 "$KEYSAFE_BIN" create waited --dns waited.example.test -o waited.req \
  > waited.out 2> waited.err &
WAITER=$!
# The waiter has opened the store (it holds a shared lock on it) before the release.
for _ in $(seq 1 200); do
  awk -v p="$WAITER" '$5 == p' /proc/locks | grep -q . && break
  sleep 0.05
done
echo "COMMIT;" >&3
exec 3>&-
wait "$SQLITE_PID"
wait "$WAITER"; RC=$?; ERR=$(cat waited.err)
expect_rc 0 "a create waiting for the lock succeeds once it is released"
unset KEYSAFE_LOCK_TIMEOUT
ks list --json
expect_eq "$(jget '[.[].name] | sort | join(",")')" "before,waited" "only the entries that succeeded"
ks check
expect_rc 0 "check finds nothing damaged"
finish
