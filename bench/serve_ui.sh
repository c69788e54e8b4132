#!/usr/bin/env bash
# The Key Manager page on a store of N entries (default 10,000; issue 18 wants the table's first
# rows in under 1 s): makes the store with issue-bulk (or uses KEYSAFE_STORE when it exists),
# starts keysafe serve on it and runs bench/serve_ui.mjs in headless Chromium.
# Usage: KEYSAFE_BIN=build/cli/keysafe bash bench/serve_ui.sh [N] [RUNS]
set -euo pipefail
N=${1:-10000}
RUNS=${2:-7}
HERE=$(cd "$(dirname "$0")" && pwd)
KEYSAFE_BIN=$(realpath "${KEYSAFE_BIN:-build/cli/keysafe}")
W=$(mktemp -d /tmp/keysafe-serve-ui.XXXXXX)
export KEYSAFE_PASSPHRASE=${KEYSAFE_PASSPHRASE:-bench passphrase}
if [ -z "${KEYSAFE_STORE:-}" ] || [ ! -e "$KEYSAFE_STORE" ]; then
  export KEYSAFE_STORE="$W/store.db"
  "$KEYSAFE_BIN" init --kdf-cost 10 >/dev/null 2>&1
  "$KEYSAFE_BIN" ca init bench-ca >/dev/null
  "$KEYSAFE_BIN" issue-bulk bench-ca --count "$N" --prefix host --dns-suffix .test.example >/dev/null
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$KEYSAFE_BIN" serve --listen "127.0.0.1:$PORT" >"$W/serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 100); do grep -q '^SHA-256 fingerprint' "$W/serve.log" && break; sleep 0.1; done
printf '%s\n' "$KEYSAFE_PASSPHRASE" >"$W/pass"
echo "store: $KEYSAFE_STORE ($("$KEYSAFE_BIN" list --json | jq length) entries), load $(cut -d' ' -f1 /proc/loadavg)"
node "$HERE/serve_ui.mjs" "https://127.0.0.1:$PORT" "$W/pass" "$RUNS"
echo "server log, GET /api/v1/entries:"; grep 'GET /api/v1/entries ' "$W/serve.log" | tail -"$RUNS"
