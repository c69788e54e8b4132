#!/usr/bin/env bash
# The PostgreSQL rows of the benchmarks, each keysafe and its baseline in one hyperfine
# invocation (-N, median of RUNS), on one throwaway PostgreSQL 15 cluster on loopback (as the
# postgres user, default durable settings: fsync and synchronous_commit on):
#   import  `keysafe import bundle.pem` (N_IMPORT certificates, no keys) into an empty store
#           against raw_pg_copy: the same parse loop as raw_import, the rows sent with COPY
#           (PQputCopyData), ids assigned by the client, one transaction. Target <= 1.5x.
#   list    `keysafe list --expiring 30 --json` over N_BIG entries against psql building the same
#           document itself (json_agg(json_build_object(...)), bench/list_pg.sh), checked equal
#           with jq -S first. Target <= 2x.
#
#   KEYSAFE_BIN=build/cli/keysafe BENCH_BIN=build/bench bash bench/pg.sh   (as root)
#   N_IMPORT=10000 N_BIG=100000 RUNS=5 by default; N_BIG=0 runs the import row only.
set -euo pipefail
KS=$(readlink -f "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}")
BIN=$(readlink -f "${BENCH_BIN:?BENCH_BIN must name the bench build directory}")
HERE=$(cd "$(dirname "$0")" && pwd)
N_IMPORT=${N_IMPORT:-10000} N_BIG=${N_BIG:-100000} RUNS=${RUNS:-5}
source "$HERE/pg_common.sh"
W=$(mktemp -d /tmp/keysafe-pgbench.XXXXXX)
cleanup() { pg_bench_stop; rm -rf "$W"; }
trap cleanup EXIT
pg_bench_start "$W"
cd "$W"
export KEYSAFE_PASSPHRASE="correct horse battery staple" KEYSAFE_NO_PROGRESS=1
PSQL=("$PGBIN/psql" -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres)
uri() { echo "postgresql://postgres@127.0.0.1:$PORT/$1"; }
log() { echo "== $*" >&2; }
med() { jq -r ".results[$2].median" "$1"; }
ratio() { echo "scale=2; $1 / $2" | bc; }
echo "load before: $(uptime)"

# --- import -------------------------------------------------------------------------------------
log "import of $N_IMPORT certificates"
"$BIN/gen_bundle" "$N_IMPORT" bundle.pem 2 >/dev/null
cat >prep_ks.sh <<SH
${PSQL[*]} postgres -c "DROP DATABASE IF EXISTS imp" -c "CREATE DATABASE imp" 2>/dev/null
"$KS" --store "$(uri imp)" init --kdf-cost 10 >/dev/null 2>&1
SH
cat >prep_raw.sh <<SH
${PSQL[*]} postgres -c "DROP DATABASE IF EXISTS rawc" -c "CREATE DATABASE rawc" 2>/dev/null
SH
# Correctness first: both import every certificate.
bash prep_ks.sh && "$KS" --store "$(uri imp)" import bundle.pem >/dev/null
bash prep_raw.sh && "$BIN/raw_pg_copy" bundle.pem "$(uri rawc)" >/dev/null
[ "$("${PSQL[@]}" imp -c "SELECT count(*) FROM certificates")" = "$N_IMPORT" ] || { echo "keysafe imported too few" >&2; exit 1; }
[ "$("${PSQL[@]}" rawc -c "SELECT count(*) FROM raw_certificates")" = "$N_IMPORT" ] || { echo "raw_pg_copy imported too few" >&2; exit 1; }
hyperfine -N --style none --runs "$RUNS" --export-json import.json \
  --prepare "bash prep_ks.sh" "$KS --store $(uri imp) import bundle.pem" \
  --prepare "bash prep_raw.sh" "$BIN/raw_pg_copy bundle.pem $(uri rawc)" >/dev/null
echo "import $N_IMPORT certificates: keysafe $(med import.json 0) s, COPY baseline $(med import.json 1) s, ratio $(ratio "$(med import.json 0)" "$(med import.json 1)") (target <= 1.5)"
echo "load: $(uptime)"

# --- list --expiring 30 --json ------------------------------------------------------------------
[ "$N_BIG" -gt 0 ] || exit 0   # N_BIG=0: the import row only
log "a store of $N_BIG entries"
"${PSQL[@]}" postgres -c "CREATE DATABASE list"
L=$(uri list)
"$KS" --store "$L" init --kdf-cost 10 >/dev/null 2>&1
"$BIN/gen_bundle" "$N_BIG" big.pem 2 >/dev/null
start=$(date +%s.%N)
"$KS" --store "$L" import big.pem >/dev/null
echo "(import of $N_BIG certificates into PostgreSQL: $(echo "$(date +%s.%N) - $start" | bc) s)"
rm -f big.pem
# One entry in each other state the list shows: installed and backed up, renewed (its old
# entry superseded and left out).
"$KS" --store "$L" create v-installed --dns v-installed.example -o v2.req >/dev/null
"$KS" --store "$L" selfsign v-installed --days 10 >/dev/null
KEYSAFE_OUT_PASSPHRASE=bench "$KS" --store "$L" backup v-installed -o v2.kbk --yes --kdf-cost 10 >/dev/null 2>&1
"$KS" --store "$L" create v-renewed --dns v-renewed.example -o v3.req >/dev/null
"$KS" --store "$L" selfsign v-renewed --days 20 >/dev/null
"$KS" --store "$L" renew v-renewed -o v3r.req >/dev/null
"$KS" --store "$L" selfsign v-renewed.renewal --days 20 >/dev/null
bash "$HERE/list_pg.sh" expiring 30 >list_exp.sql
# Equal documents: keysafe's, and the baseline's at any second between the clock readings.
t0=$(date +%s)
# (list --expiring exits non-zero when something expires: a result, not a failure)
"$KS" --store "$L" list --expiring 30 --json >ks.raw || true
jq -S . ks.raw >ks.json
t1=$(date +%s)
same=no
for now in $(seq "$t0" "$t1"); do
  "${PSQL[@]}" list -f <(bash "$HERE/list_pg.sh" expiring 30 "$now") | jq -S . >pg.json
  cmp -s ks.json pg.json && { same=yes; break; }
done
[ "$same" = yes ] || { echo "keysafe and the psql baseline disagree:" >&2; diff ks.json pg.json | head -20 >&2; exit 1; }
rows=$(jq length ks.json)
hyperfine -N -i --style none --runs "$RUNS" --warmup 1 --export-json list.json \
  "$KS --store $L list --expiring 30 --json" \
  "$PGBIN/psql -X -At -h 127.0.0.1 -p $PORT -U postgres -d list -f list_exp.sql" >/dev/null
echo "list --expiring 30 --json, $N_BIG entries ($rows match): keysafe $(med list.json 0) s, psql json_agg $(med list.json 1) s, ratio $(ratio "$(med list.json 0)" "$(med list.json 1)") (target <= 2)"
echo "load after: $(uptime)"
