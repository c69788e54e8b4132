#!/usr/bin/env bash
# 20 certificates from one Pebble (PEBBLE_VA_NOSLEEP=1, PEBBLE_AUTHZREUSE=0: every name
# validated by a real HTTP-01 fetch; tests/pebble.sh), HTTP-01 answered on Pebble's httpPort:
#   keysafe  20 sequential `acme issue NAME --http-listen` (one process each)
#   keysafe  one `renew --all --due 1 --parallel P` over the same 20 (new orders, new keys),
#            for P = 1 and 4 (the default) and 8
#   lego     a loop of 20 `lego run --http` (Debian's lego; LEGO_CA_CERTIFICATES = Pebble's CA)
#   certbot  a loop of 20 `certbot certonly --standalone` (REQUESTS_CA_BUNDLE = Pebble's CA)
# Pebble issues 90-second certificates here (PEBBLE_VALIDITY_SECONDS) so that keysafe's 20 are
# due for renew --all once less than a third of that is left: the script waits for it, outside
# the timings. The store uses --kdf-cost 10 (the tests' cost): each sequential acme issue
# unlocks the store once, and the default cost would add its key derivation to every one.
# A local command, not a CTest test:
#   KEYSAFE_BIN=build/cli/keysafe bash bench/acme.sh [N]
set -uo pipefail
N=${1:-20}
KEYSAFE_BIN=$(readlink -f "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}")
export KEYSAFE_BIN
export KEYSAFE_TESTS=$(cd "$(dirname "$0")/../tests" && pwd)
export KEYSAFE_TEST_BACKEND=sqlite
export KEYSAFE_TEST_DATA="$KEYSAFE_TESTS/data"
source "$KEYSAFE_TESTS/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1
pebble_require
require_tool lego lego
require_tool certbot certbot
new_store
PEBBLE_VALIDITY_SECONDS=90 pebble_start || { echo "pebble did not start" >&2; exit 1; }
LISTEN="127.0.0.1:$PEBBLE_HTTP_PORT"

now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
must() { [ "$RC" = 0 ] || { echo "FAILED ($RC): $ERR" >&2; exit 1; }; }

ks acme account create bench --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email bench@example.test --agree-tos; must

t=$(now)
for i in $(seq 1 "$N"); do ks acme issue "k$i" --dns "k$i.example.test" --http-listen "$LISTEN"; must; done
KS_SEQ=$(since "$t")
echo "keysafe: $N sequential acme issue: $KS_SEQ s"

# renew --all: wait (untimed) until every certificate has less than a third of 90 s left.
wait_due() {
  local last=0 n x
  for n in $(seq 1 "$N"); do ks show "k$n" --json; x=$(date -d "$(jget .not_after)" +%s); [ "$x" -gt "$last" ] && last=$x; done
  while [ "$(date +%s)" -lt $((last - 29)) ]; do sleep 0.5; done
}
declare -A KS_PAR
for p in 1 4 8; do
  wait_due
  t=$(now)
  ks renew --all --due 1 --parallel "$p" --json; must
  KS_PAR[$p]=$(since "$t")
  [ "$(jget .renewed)" = "$N" ] || { echo "renew --all renewed $(jget .renewed) of $N" >&2; exit 1; }
  echo "keysafe: renew --all --parallel $p ($N orders): ${KS_PAR[$p]} s"
done

export LEGO_CA_CERTIFICATES="$PEBBLE_CA"
t=$(now)
for i in $(seq 1 "$N"); do
  lego --server "$PEBBLE_DIRECTORY" --email bench@example.test --accept-tos --path "$T/lego" \
    --http --http.port "$LISTEN" -d "l$i.example.test" run >>lego.log 2>&1 ||
    { echo "lego failed:" >&2; tail -20 lego.log >&2; exit 1; }
done
LEGO=$(since "$t")
echo "lego: $N sequential runs: $LEGO s"

export REQUESTS_CA_BUNDLE="$PEBBLE_CA"
t=$(now)
for i in $(seq 1 "$N"); do
  certbot certonly -n --standalone --http-01-address 127.0.0.1 --http-01-port "$PEBBLE_HTTP_PORT" \
    --server "$PEBBLE_DIRECTORY" --agree-tos -m bench@example.test --no-eff-email \
    --config-dir "$T/certbot" --work-dir "$T/certbot-work" --logs-dir "$T/certbot-logs" \
    -d "c$i.example.test" >>certbot.log 2>&1 ||
    { echo "certbot failed:" >&2; tail -20 certbot.log >&2; exit 1; }
done
CERTBOT=$(since "$t")
echo "certbot: $N sequential runs: $CERTBOT s"

ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
echo
echo "| run | seconds | lego loop / it | certbot loop / it |"
echo "|---|---|---|---|"
for row in "keysafe renew --all --parallel 4:${KS_PAR[4]}" "keysafe renew --all --parallel 8:${KS_PAR[8]}" \
           "keysafe renew --all --parallel 1:${KS_PAR[1]}" "keysafe $N x acme issue:$KS_SEQ" \
           "lego $N x run:$LEGO" "certbot $N x certonly:$CERTBOT"; do
  name=${row%%:*}; s=${row##*:}
  echo "| $name | $s | $(ratio "$LEGO" "$s") | $(ratio "$CERTBOT" "$s") |"
done
finish >/dev/null 2>&1 || true
