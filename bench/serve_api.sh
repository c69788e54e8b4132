#!/usr/bin/env bash
# GET /api/v1/entries over N entries (default 100,000) against `keysafe list --json` on the same
# store (issue 18: at most 1.5x), side by side in one hyperfine invocation (-N, median of RUNS).
# The API side is a whole HTTPS request from curl with a read-only bearer token (TLS handshake
# included, as a monitoring script pays it); the CLI side is a whole process start. Both answers
# are checked equal (jq -S) before anything is timed.
# Usage: KEYSAFE_BIN=build/cli/keysafe bash bench/serve_api.sh [N] [RUNS]
#        (KEYSAFE_STORE=FILE reuses a store that exists)
set -euo pipefail
N=${1:-100000}
RUNS=${2:-10}
KEYSAFE_BIN=$(realpath "${KEYSAFE_BIN:-build/cli/keysafe}")
W=$(mktemp -d /tmp/keysafe-serve-api.XXXXXX)
export KEYSAFE_PASSPHRASE=${KEYSAFE_PASSPHRASE:-bench passphrase} KEYSAFE_NO_PROGRESS=1
if [ -z "${KEYSAFE_STORE:-}" ] || [ ! -e "$KEYSAFE_STORE" ]; then
  export KEYSAFE_STORE="$W/store.db"
  echo "== making a store of $N entries (issue-bulk)" >&2
  "$KEYSAFE_BIN" init --kdf-cost 10 >/dev/null 2>&1
  "$KEYSAFE_BIN" ca init bench-ca >/dev/null
  "$KEYSAFE_BIN" issue-bulk bench-ca --count "$N" --prefix host --dns-suffix .test.example >/dev/null
fi
"$KEYSAFE_BIN" serve token create bench -o "$W/token" >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KEYSAFE_BIN" serve --listen "127.0.0.1:$PORT" >"$W/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 100); do grep -q '^SHA-256 fingerprint' "$W/serve.log" && break; sleep 0.1; done
URL="https://127.0.0.1:$PORT/api/v1/entries"
printf 'header = "Authorization: Bearer %s"\n' "$(cat "$W/token")" >"$W/curlrc"
chmod 600 "$W/curlrc"
curl -sk -K "$W/curlrc" "$URL" -o "$W/api.json"
"$KEYSAFE_BIN" list --json >"$W/cli.json"
if ! cmp -s <(jq -S . "$W/api.json") <(jq -S . "$W/cli.json"); then
  echo "the API's answer differs from list --json; not timing" >&2
  exit 1
fi
echo "store: $KEYSAFE_STORE ($(jq length "$W/cli.json") entries, $(stat -c %s "$W/cli.json") bytes of JSON), load $(cut -d' ' -f1 /proc/loadavg)"
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$W/h.json" \
  -n "GET /api/v1/entries" "curl -sk -K $W/curlrc $URL -o /dev/null" \
  -n "keysafe list --json" "$KEYSAFE_BIN list --json"
api=$(jq '.results[0].median' "$W/h.json")
cli=$(jq '.results[1].median' "$W/h.json")
echo "median: API $(echo "$api * 1000" | bc) ms, list --json $(echo "$cli * 1000" | bc) ms, ratio $(echo "scale=2; $api / $cli" | bc)x (target <= 1.5x); load $(cut -d' ' -f1 /proc/loadavg)"
