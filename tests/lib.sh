# Shared helpers for the end-to-end test scripts (sourced, never run directly).
# Each script: `source "$KEYSAFE_TESTS/lib.sh"`, then uses ks, expect_rc, expect_in, ... and
# ends with `finish`, which prints "N passed, N failed" and sets the exit code.
set -u
: "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}"
: "${KEYSAFE_TEST_DATA:?KEYSAFE_TEST_DATA must name tests/data}"
CORPUS="$KEYSAFE_TEST_DATA/corpus"
T=$(mktemp -d /tmp/keysafe-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
PASSED=0
FAILED=0
# Test stores use a low-cost KDF (documented: --kdf-cost below 15 is for tests only).
export KEYSAFE_STORE="$T/store.db"
export KEYSAFE_PASSPHRASE="correct horse battery staple"
unset XDG_DATA_HOME

# ks ARGS...: runs keysafe, capturing stdout in $OUT, stderr in $ERR, exit code in $RC.
ks() {
  OUT=$("$KEYSAFE_BIN" "$@" 2>"$T/.stderr"); RC=$?
  ERR=$(cat "$T/.stderr")
  return 0
}
ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; echo "  rc=$RC" >&2; echo "  stdout: ${OUT:0:2000}" >&2; echo "  stderr: ${ERR:0:2000}" >&2; }
# expect_rc N DESCRIPTION
expect_rc() { if [ "$RC" = "$1" ]; then ok; else bad "$2 (expected exit $1)"; fi; }
# expect_in TEXT HAYSTACK DESCRIPTION (case-insensitive)
expect_in() { if printf '%s' "$2" | grep -qiF -- "$1"; then ok; else bad "$3 (missing: $1)"; fi; }
expect_not_in() { if printf '%s' "$2" | grep -qiF -- "$1"; then bad "$3 (unexpected: $1)"; else ok; fi; }
expect_eq() { if [ "$1" = "$2" ]; then ok; else bad "$3 (got '$1', expected '$2')"; fi; }
# A fresh store with the test KDF cost.
new_store() { rm -f "$KEYSAFE_STORE" "$KEYSAFE_STORE-wal" "$KEYSAFE_STORE-shm"; ks init --kdf-cost 10; [ "$RC" = 0 ] || bad "init failed"; }
store_hash() { sha256sum "$KEYSAFE_STORE" | cut -d' ' -f1; }
# A throwaway CA made with the openssl CLI: ca.pem / ca.key in the current directory.
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "${1:-ca}.key" \
    -out "${1:-ca}.pem" -subj "/CN=${1:-ca} Test Root" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# sign_csr REQ OUT [DAYS] [CA]: the openssl CLI signs a request, copying its SAN.
sign_csr() {
  openssl x509 -req -in "$1" -CA "${4:-ca}.pem" -CAkey "${4:-ca}.key" -CAcreateserial \
    -days "${3:-90}" -copy_extensions copyall -out "$2" 2>/dev/null
}
# jget PATH [JSON]: one value of a JSON document ($OUT by default). PATH is .field, .[N] or a
# chain of them, optionally followed by "| length"; strings come out raw, anything else as JSON.
jget() {
  local json=${2-$OUT}
  if command -v jq >/dev/null 2>&1; then
    printf '%s' "$json" | jq -c -r "$1" 2>/dev/null || echo "<not json>"
    return 0
  fi
  printf '%s' "$json" | python3 -c '
import json, re, sys
path, length = sys.argv[1], False
if path.endswith("| length"):
    path, length = path[:-len("| length")].strip(), True
try:
    v = json.load(sys.stdin)
except ValueError:
    print("<not json>"); sys.exit(0)
try:
    for key, idx in re.findall(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path):
        v = v[key] if key else v[int(idx)]
except (KeyError, IndexError, TypeError):
    v = None
if length:
    v = len(v)
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1"
}
# ks_notty ARGS...: keysafe with no KEYSAFE_PASSPHRASE, stdin /dev/null and no terminal.
ks_notty() {
  local setsid=()
  command -v setsid >/dev/null 2>&1 && setsid=(setsid -w)
  OUT=$(unset KEYSAFE_PASSPHRASE; exec "${setsid[@]}" "$KEYSAFE_BIN" "$@" </dev/null 2>"$T/.stderr"); RC=$?
  ERR=$(<"$T/.stderr")
  return 0
}
hash_of() { if [ -e "$1" ]; then sha256sum "$1" | cut -d' ' -f1; else echo "<no file>"; fi; }

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}
