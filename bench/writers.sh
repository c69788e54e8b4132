#!/usr/bin/env bash
# Four concurrent writers on one store, SQLite file against PostgreSQL database, in one run:
# each writer runs N `keysafe create` (key generation, sealing, request, audit row, one write
# transaction) and the throughput is reported in operations per second. A throwaway
# PostgreSQL 15 cluster on loopback (as the postgres user; fsync on, synchronous_commit on:
# the durable configuration docs/POSTGRESQL.md recommends).
#
#   KEYSAFE_BIN=build/cli/keysafe bash bench/writers.sh [N]     (default N=50, as root)
set -euo pipefail
KS=$(readlink -f "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}")
N=${1:-50}
WRITERS=4
source "$(dirname "$0")/pg_common.sh"
W=$(mktemp -d /tmp/keysafe-writers.XXXXXX)
cleanup() { pg_bench_stop; rm -rf "$W"; }
trap cleanup EXIT
pg_bench_start "$W" bench
export KEYSAFE_PASSPHRASE="correct horse battery staple" KEYSAFE_NO_PROGRESS=1
export KEYSAFE_LOCK_TIMEOUT=120

run() {  # run STORE: prints operations per second
  local store=$1
  "$KS" --store "$store" init --kdf-cost 10 >/dev/null 2>&1
  local start end
  start=$(date +%s.%N)
  for w in $(seq 1 $WRITERS); do
    (for i in $(seq 1 "$N"); do
       "$KS" --store "$store" create "w$w-$i" --dns "w$w-$i.example.test" -o "$W/w$w-$i-$(basename "$store").req" >/dev/null 2>&1 ||
         { echo "writer $w: create $i failed" >&2; exit 1; }
     done) &
  done
  wait
  end=$(date +%s.%N)
  local count
  count=$("$KS" --store "$store" list --json | jq length)
  [ "$count" = $((WRITERS * N)) ] || { echo "$store: $count entries, expected $((WRITERS * N))" >&2; exit 1; }
  echo "scale=1; $count / ($end - $start)" | bc
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
S=$(run "$W/store.db")
P=$(run "postgresql://postgres@127.0.0.1:$PORT/bench")
echo "$WRITERS writers x $N creates: SQLite $S ops/s, PostgreSQL $P ops/s (ratio PG/SQLite $(echo "scale=2; $P / $S" | bc))"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
