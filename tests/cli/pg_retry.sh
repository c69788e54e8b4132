# keysafe-test: postgresql-only
# keysafe-test: run-serial — several keysafe processes and a psql session at once
# Serialization failures and deadlocks on PostgreSQL (issue 15): a write transaction the server
# aborts with 40P01 (deadlock_detected) or 40001 (serialization_failure) is run again by keysafe
# itself (bounded, jittered backoff), so the command succeeds and the store stays consistent.
# 1. A real deadlock with another session: it holds the audit head, keysafe waits for it, then
#    it inserts the audit row keysafe has just inserted (so it waits for keysafe). The server
#    aborts keysafe's transaction (its log says "deadlock detected"); keysafe runs it again and
#    succeeds once the session rolls back: the entry and its audit row are there once, check and
#    audit --verify clean.
# 2. A database whose default isolation is SERIALIZABLE: 4 writers × 10 creates all succeed
#    (writers use READ COMMITTED under their lock whatever the default).
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
new_store
ks create first --dns first.example.test -o first.req
expect_rc 0 "create first"

LOG="$PG_ROOT/main/server.log"
deadlocks() { grep -c "deadlock detected" "$LOG"; }
DEADLOCKS=$(deadlocks)
N=$(store_sql "SELECT max(id) FROM audit")

# --- 1. a deadlock with another session -------------------------------------------------------
# The session looks for deadlocks after 60 s, keysafe's backend after the default 1 s: the
# server aborts keysafe's transaction, not the session's.
pg_psql main store >"$T/session.out" 2>&1 <<SQL &
SET deadlock_timeout = '60s';
BEGIN;
SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE;
DO \$\$ BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted);
    PERFORM pg_sleep(0.05);
  END LOOP;
END \$\$;
INSERT INTO audit (id, at, "user", action, entry, detail, prev_hash, hash)
  VALUES ($((N + 1)), 0, 'session', 'session', '', '', '\x00', '\x00');
SELECT pg_sleep(1);
ROLLBACK;
SQL
SESSION=$!
for _ in $(seq 1 100); do
  [ "$(pg_psql main store -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
       WHERE c.relname = 'audit_head' AND l.mode = 'RowShareLock' AND l.granted")" -ge 1 ] && break
  sleep 0.1
done
ks --json create second --dns second.example.test -o second.req
expect_rc 0 "create while another session deadlocks with it (run again by keysafe)"
wait "$SESSION"
expect_eq "$(deadlocks)" "$((DEADLOCKS + 1))" "the server detected one deadlock (a real 40P01)"
grep -A3 "deadlock detected" "$LOG" | grep -q "audit_head" && ok ||
  bad "the deadlock aborted keysafe's update of the audit head: $(grep -A3 'deadlock detected' "$LOG")"
expect_eq "$(store_sql "SELECT count(*) FROM keys WHERE name = 'second'")" 1 "the entry is there once"
expect_eq "$(store_sql "SELECT count(*) FROM audit WHERE entry = 'second'")" 1 "its audit row is there once"
expect_eq "$(store_sql "SELECT count(*) FROM audit WHERE \"user\" = 'session'")" 0 "the session's row was rolled back"
ks check
expect_rc 0 "check after the retried transaction"
ks audit --verify
expect_rc 0 "audit --verify after the retried transaction"

# --- 2. default_transaction_isolation = serializable: concurrent writers all succeed ---------
pg_psql main postgres -c "ALTER DATABASE store SET default_transaction_isolation = 'serializable'"
writer() {
  local w=$1 i
  for i in $(seq 1 10); do
    "$KEYSAFE_BIN" --json create "s$w-$i" --dns "s$w-$i.example.test" -o "s$w-$i.req" \
      >"out-$w-$i.json" 2>>"err-$w.log" || echo "s$w-$i" >>failed.log
  done
}
: >failed.log
for w in 1 2 3 4; do writer "$w" & done
wait
expect_eq "$(wc -l <failed.log)" 0 "4 writers × 10 creates under SERIALIZABLE: none failed ($(cat err-*.log 2>/dev/null | head -c 1500))"
expect_eq "$(store_sql "SELECT count(*) FROM keys WHERE name LIKE 's%-%'")" 40 "all 40 entries are there"
ks check
expect_rc 0 "check after the concurrent writers"
ks audit --verify
expect_rc 0 "audit --verify after the concurrent writers"
pg_psql main postgres -c "ALTER DATABASE store RESET default_transaction_isolation"
finish
