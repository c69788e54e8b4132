#!/usr/bin/env bash
# Fleet agents against direct deploys: N entries (default 1,000) issued by a local CA with
# issue-bulk, assigned round-robin to H hosts (default 10; pem layout, no server, no commands),
# each host with its own host key and directory on this machine. After a renewal of every entry,
# each agent runs `--once` until it exits 0 (converged), one host after the other; the same
# entries are then deployed with `keysafe deploy` run directly, one process per entry (what an
# administrator's script does today), over files of an earlier deployment as the agents do.
# Reports total time and time per deployed entry for both, the agents' idle poll (nothing due)
# how many entries the agents' runs deployed (--json), and their store key derivations
# (KEYSAFE_STATS: none, the agents never unlock the store).
#
#   KEYSAFE_BIN=build/cli/keysafe bash bench/fleet.sh [N] [H]          (SQLite store, as root)
#   KEYSAFE_BIN=build/cli/keysafe BACKEND=postgresql bash bench/fleet.sh [N] [H]
#
# The store uses --kdf-cost 10 (the tests' cost), so the per-process key derivation of the direct
# deploys is not what makes them slow here; with the default cost each deploy pays it in full.
set -euo pipefail
KS=$(readlink -f "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}")
N=${1:-1000}
H=${2:-10}
BACKEND=${BACKEND:-sqlite}
W=$(mktemp -d /tmp/keysafe-fleet-bench.XXXXXX)
source "$(dirname "$0")/pg_common.sh"
cleanup() { pg_bench_stop; rm -rf "$W"; }
trap cleanup EXIT
if [ "$BACKEND" = postgresql ]; then
  # Its own directory: the hosts' directories stay under root-owned $W (the agents refuse to
  # write under a directory another user can write).
  chmod 711 "$W" && mkdir "$W/pg"
  pg_bench_start "$W/pg" bench
  export KEYSAFE_STORE="postgresql://postgres@127.0.0.1:$PORT/bench"
else
  export KEYSAFE_STORE="$W/store.db"
fi
export KEYSAFE_PASSPHRASE="correct horse battery staple" KEYSAFE_NO_PROGRESS=1 KEYSAFE_LOCK_TIMEOUT=120
now() { date +%s.%N; }
secs() { echo "scale=2; ($2 - $1) / 1" | bc; }
ms_per() { echo "scale=2; 1000 * ($2 - $1) / $3" | bc; }
host_of() { printf 'h%02d' $(( ($1 - 1) % H + 1 )); }
# agent HOST: one `agent --once` with no store passphrase; its exit code, KEYSAFE_STATS on stderr.
agent() {
  (unset KEYSAFE_PASSPHRASE
   KEYSAFE_STATS=1 "$KS" --json agent --host "$1" --host-key "$W/keys/$1.key" --once </dev/null \
     >"$W/agent-$1.out" 2>"$W/agent-$1.err")
}
# converge: every host's agent --once until it exits 0, one host after the other; prints the runs.
converge() {
  local runs=0 h rc
  for h in $(seq -f 'h%02g' 1 "$H"); do
    for _ in 1 2 3; do
      runs=$((runs + 1)); rc=0; agent "$h" || rc=$?
      [ "$rc" = 0 ] && break
      echo "  $h: agent --once exited $rc: $(jq -r '.[] | select(.state != "current") | .detail' "$W/agent-$h.out" 2>/dev/null | head -3) $(grep -v '^keysafe: stats' "$W/agent-$h.err" | tail -3)" >&2
    done
    [ "$rc" = 0 ] || { echo "$h did not converge" >&2; exit 1; }
  done
  echo "$runs"
}
deployed_sum() {  # entries the agents' last runs deployed (their --json "deployed": true)
  cat "$W"/agent-h*.out | jq -s '[.[][] | select(.deployed)] | length'
}
stats_sum() {  # stats_sum FIELD: FIELD=V summed over the agents' KEYSAFE_STATS lines
  cat "$W"/agent-h*.err | grep -o "$1=[0-9]*" | cut -d= -f2 | awk '{s += $1} END {print s + 0}'
}
# issue-bulk pads the numbers to the width of N: e-0001 ... e-1000.
name_of() { printf "e-%0${#N}d" "$1"; }
names() { seq -f "e-%0${#N}g" 1 "$N"; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $N entries over $H hosts, $BACKEND store"
"$KS" init --kdf-cost 10 >/dev/null
"$KS" ca init bench-ca --days 3650 >/dev/null
t0=$(now)
"$KS" issue-bulk bench-ca --count "$N" --prefix e --threads 2 >/dev/null
t1=$(now)
echo "setup: issue-bulk of $N: $(secs "$t0" "$t1") s"
[ "$("$KS" list --json | jq '[.[] | select(.name | startswith("e-"))] | length')" = "$N" ] ||
  { echo "issue-bulk did not make $N entries" >&2; exit 1; }
mkdir -p "$W/keys"
for h in $(seq -f 'h%02g' 1 "$H"); do
  "$KS" host add "$h" --key-out "$W/keys/$h.key" >/dev/null
done
t0=$(now)
i=0
for e in $(names); do
  i=$((i + 1)); h=$(host_of $i)
  "$KS" assign "$e" --host "$h" --to "$W/hosts/$h/$e" --layout pem >/dev/null
done
t1=$(now)
echo "setup: $N assign processes: $(secs "$t0" "$t1") s ($(ms_per "$t0" "$t1" "$N") ms each)"

# First deployment of everything: by the agents, and directly (the files the timed runs replace).
t0=$(now); runs=$(converge); t1=$(now)
echo "first deployment by the agents: $(secs "$t0" "$t1") s, $runs agent runs ($(ms_per "$t0" "$t1" "$N") ms per entry)"
for e in $(names); do
  "$KS" deploy "$e" --to "$W/direct/$e" --layout pem >/dev/null
done

t0=$(now)
for e in $(names); do "$KS" renew "$e" >/dev/null; done
t1=$(now)
echo "setup: renew of $N entries, one process each: $(secs "$t0" "$t1") s"
STALE=$(set +e; "$KS" fleet --json >"$W/fleet.json"; echo $?)
echo "fleet after the renewal: exit $STALE, $(jq '[.[] | select(.state == "stale")] | length' "$W/fleet.json") stale rows"

# --- the measurement -------------------------------------------------------------------------
rm -f "$W"/agent-h*.err
t0=$(now); runs=$(converge); t1=$(now)
AGENT_S=$(secs "$t0" "$t1"); AGENT_MS=$(ms_per "$t0" "$t1" "$N")
echo "agents after renewing all: $AGENT_S s over $runs runs, $AGENT_MS ms per deployed entry"
echo "  entries deployed by those runs: $(deployed_sum); store key derivations (KEYSAFE_STATS): $(stats_sum kdf_derivations)"
FLEET=$(set +e; "$KS" fleet --json >"$W/fleet.json"; echo $?)
echo "fleet after the agents: exit $FLEET, $(jq '[.[] | select(.state == "current")] | length' "$W/fleet.json") of $N rows current"
[ "$FLEET" = 0 ] || { echo "the fleet did not converge" >&2; exit 1; }
# Spot check: the files an agent wrote hold the newest certificate.
for i in 1 "$N"; do
  e=$(name_of "$i"); h=$(host_of "$i")
  want=$("$KS" --json show "$e" | jq -r .fingerprint_sha256)
  got=$(openssl x509 -in "$(find "$W/hosts/$h/$e" -name '*.pem' | head -1)" -noout -fingerprint -sha256 |
    cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
  [ "$want" = "$got" ] || { echo "$h/$e holds $got, not the newest $want" >&2; exit 1; }
done

rm -f "$W"/agent-h*.err
t0=$(now); runs=$(converge); t1=$(now)
echo "idle poll (nothing due): $(secs "$t0" "$t1") s over $runs runs ($(ms_per "$t0" "$t1" "$H") ms per host);" \
  "entries deployed: $(deployed_sum), store key derivations: $(stats_sum kdf_derivations)"

t0=$(now)
for e in $(names); do
  "$KS" deploy "$e" --to "$W/direct/$e" --layout pem >/dev/null
done
t1=$(now)
DIRECT_S=$(secs "$t0" "$t1"); DIRECT_MS=$(ms_per "$t0" "$t1" "$N")
echo "keysafe deploy run directly, one process per entry: $DIRECT_S s, $DIRECT_MS ms per entry"
echo "agents / direct: $(echo "scale=2; $AGENT_S / $DIRECT_S" | bc)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
