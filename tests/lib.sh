# Shared helpers for the end-to-end test scripts (sourced, never run directly).
# Each script: `source "$KEYSAFE_TESTS/lib.sh"`, then uses ks, expect_rc, expect_in, ... and
# ends with `finish`, which prints "N passed, N failed" and sets the exit code.
set -u
: "${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}"
: "${KEYSAFE_TEST_DATA:?KEYSAFE_TEST_DATA must name tests/data}"
CORPUS="$KEYSAFE_TEST_DATA/corpus"
# The script being run, named before the cd below (its marker lines are read in "Backends").
KEYSAFE_TEST_SCRIPT=$(realpath "$0")
T=$(mktemp -d /tmp/keysafe-test.XXXXXX)
# on_exit COMMAND: runs COMMAND when the script exits, however it exits (a failed check, exit,
# SIGTERM), in the order registered, before $T is removed. Scripts add their servers' stops
# here rather than replacing the EXIT trap, so no cleanup of lib.sh is lost.
EXIT_HOOKS=()
on_exit() { EXIT_HOOKS+=("$1"); }
run_exit_hooks() {
  local hook
  for hook in "${EXIT_HOOKS[@]}"; do eval "$hook"; done
  rm -rf "$T"
}
trap run_exit_hooks EXIT
cd "$T"
PASSED=0
FAILED=0
# What the last command gave (ks sets them; bad prints them).
RC="" OUT="" ERR=""
# Test stores use a low-cost KDF (documented: --kdf-cost below 15 is for tests only).
export KEYSAFE_STORE="$T/store.db"
export KEYSAFE_PASSPHRASE="correct horse battery staple"
unset XDG_DATA_HOME

# skip REASON: this script cannot run here. Exit 77 (CTest reports it as skipped, with the
# reason in the output), but a failure where every tool must be there: CI exports
# KEYSAFE_REQUIRE_ALL_TOOLS=1 (.ci/run), as scripts/setup.sh has installed them all.
skip() {
  if [ "${KEYSAFE_REQUIRE_ALL_TOOLS:-}" = 1 ]; then
    echo "FAIL: this test would be skipped, and KEYSAFE_REQUIRE_ALL_TOOLS=1 forbids it: $*" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
# require_tool COMMAND PACKAGE: skip (see above) when COMMAND is not installed.
require_tool() {
  command -v "$1" >/dev/null 2>&1 ||
    skip "$1 is not installed (apt-get install $2, or run scripts/setup.sh)"
}
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
# A fresh store with the test KDF cost, where KEYSAFE_STORE points (see "Backends" below).
new_store() {
  store_remove; ks init --kdf-cost 10; [ "$RC" = 0 ] || bad "init failed"
  # On PostgreSQL the schema must be in the database (a keysafe that took the URI for a file
  # path would pass every script on a SQLite file under ./postgresql:/).
  on_sqlite || store_exists || bad "init made no schema in the database $KEYSAFE_STORE"
}
# store_hash: what "the store is unchanged" compares. SQLite: the file's bytes; PostgreSQL: the
# database's schema and rows (pg_dump_hash).
store_hash() {
  if is_pg_uri "$KEYSAFE_STORE"; then pg_dump_hash "$KEYSAFE_STORE"
  else sha256sum "$KEYSAFE_STORE" | cut -d' ' -f1; fi
}
# A throwaway CA made with the openssl CLI: ca.pem / ca.key in the current directory.
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "${1:-ca}.key" \
    -out "${1:-ca}.pem" -subj "/CN=${1:-ca} Test Root" -days 3650 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
# recovery_certificate rsa|ec: a self-signed recovery certificate made by openssl, as
# rec-KIND.pem with its key rec-KIND.key (recipient backups are encrypted to it).
recovery_certificate() {
  local newkey=(-newkey rsa:2048)
  [ "$1" = ec ] && newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  openssl req -x509 "${newkey[@]}" -nodes -keyout "rec-$1.key" -out "rec-$1.pem" \
    -subj "/CN=recovery $1" -days 365 2>/dev/null
}
# sign_csr REQ OUT [DAYS] [CA]: the openssl CLI signs a request, copying its SAN.
sign_csr() {
  openssl x509 -req -in "$1" -CA "${4:-ca}.pem" -CAkey "${4:-ca}.key" -CAcreateserial \
    -days "${3:-90}" -copy_extensions copyall -out "$2" 2>/dev/null
}
# sign_dated REQ OUT FROM TO [CA-PEM] [CA-KEY] [EKU]: openssl ca signs a request (copying its
# SAN) for a certificate valid from FROM to TO, `date -d` expressions such as "-15 days"
# (openssl x509 -req cannot backdate). The CA defaults to ca.pem / ca.key (make_ca), the
# extendedKeyUsage to serverAuth.
sign_dated() {
  local d="$T/.openssl-ca"
  mkdir -p "$d/newcerts"; [ -f "$d/index.txt" ] || : >"$d/index.txt"
  [ -f "$d/serial" ] || printf '%s\n' "$(openssl rand -hex 8)" >"$d/serial"
  cat >"$d/ca.cnf" <<CNF
[ca]
default_ca = c
[c]
database = $d/index.txt
new_certs_dir = $d/newcerts
serial = $d/serial
default_md = sha256
policy = p
copy_extensions = copy
unique_subject = no
x509_extensions = leaf
[p]
commonName = optional
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = ${7:-serverAuth}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
  openssl ca -batch -notext -config "$d/ca.cnf" -cert "${5:-ca.pem}" -keyfile "${6:-ca.key}" \
    -in "$1" -out "$2" -startdate "$(date -u -d "$3" +%Y%m%d%H%M%SZ)" \
    -enddate "$(date -u -d "$4" +%Y%m%d%H%M%SZ)" 2>"$d/err" || cat "$d/err" >&2
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

# --- a private nginx on loopback (tests/interop/deploy_*.sh) -----------------------------------
# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# require_nginx: sets NGINX, or skips the script (see skip) when nginx is not installed.
require_nginx() {
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [ -x "$NGINX" ] || skip "nginx is not installed (apt-get install nginx)"
}
# nginx_tls_server PORT CERT KEY [SERVER_NAME]: one TLS server block for nginx_config.
nginx_tls_server() {
  printf '  server {\n    listen 127.0.0.1:%s ssl;\n' "$1"
  [ -n "${4:-}" ] && printf '    server_name %s;\n' "$4"
  printf '    ssl_certificate %s;\n    ssl_certificate_key %s;\n' "$2" "$3"
  printf '    location / { return 200 "ok\\n"; }\n  }\n'
}
# nginx_config SERVER_BLOCKS [DIR]: writes DIR/nginx.conf (DIR: $T/nginx by default) for an
# nginx of this script alone (pid, logs and temp directories in DIR; TLS 1.2 and 1.3) serving
# SERVER_BLOCKS (see nginx_tls_server); sets NG, the nginx command for it (`$NG -t -q` tests,
# `$NG -s reload` reloads), and stops that nginx when the script exits. A script running
# several nginx instances gives each its own DIR and keeps each NG.
nginx_config() {
  local dir=${2:-$T/nginx}
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  ssl_protocols TLSv1.2 TLSv1.3;
$1
}
CONF
  NG="$NGINX -c $dir/nginx.conf -e $dir/error.log"
  on_exit "[ -f '$dir/nginx.pid' ] && kill \"\$(cat '$dir/nginx.pid')\" 2>/dev/null"
}
# start_nginx: starts it; a failure ends the script, showing nginx's error log.
start_nginx() { $NG || { bad "nginx did not start: $(cat "$T/nginx/error.log")"; finish; exit 1; }; }

# --- Backends: the scripts run on SQLite, and again on PostgreSQL ------------------------------
# KEYSAFE_TEST_BACKEND=sqlite (default): stores are files $T/NAME.db. postgresql: one throwaway
# cluster per script (tests/pg.sh), and a store is a database NAME in it (KEYSAFE_STORE is its
# URI). The helpers below are what a script does to "the store file", said for both:
#   use_store NAME       KEYSAFE_STORE names store NAME (the default one is "store")
#   store_at NAME        prints the locator of store NAME (path or URI), without switching; on
#                        PostgreSQL its database is made (empty) if missing, as keysafe makes none
#   store_remove         no store where KEYSAFE_STORE points any more (rm -f the file and its
#                        -wal/-shm; an empty database: keysafe never creates databases)
#   store_exists         true when a store is there (the file exists; the database has tables)
#   store_move NAME      mv the current store to store NAME, leaving none at KEYSAFE_STORE
#   store_move_back NAME mv store NAME back to KEYSAFE_STORE (replacing what is there)
#   store_copy NAME      cp the current store to store NAME (closed: no keysafe running on it)
#   store_copy_back NAME cp store NAME over the current one (which keeps its name)
#   store_sql SQL        runs SQL on the current store (sqlite3 / psql; rows as a|b, no header)
#   store_dump           the current store as SQL text (sqlite3 .dump; on PostgreSQL pg_dump's
#                        INSERTs, sorted, without the schema prefix: "INSERT INTO audit ...")
#   store_sqlite_file    prints a SQLite file holding the current store (the store itself; on
#                        PostgreSQL a copy made by `keysafe store copy`), for SQLite-only tools
#   on_sqlite            true on the SQLite backend: guards the checks of the file itself
# CMake registers each script a second time as cli.pg.NAME unless a line of the script says
#   # keysafe-test: sqlite-only — REASON        (it tests the SQLite file itself)
#   # keysafe-test: postgresql-only             (registered once, on PostgreSQL)
#   # keysafe-test: no-store — REASON           (registered once: it opens no store)
KEYSAFE_TEST_BACKEND=${KEYSAFE_TEST_BACKEND:-sqlite}
on_sqlite() { [ "$KEYSAFE_TEST_BACKEND" = sqlite ]; }
is_pg_uri() { case "$1" in postgresql://* | postgres://*) return 0 ;; *) return 1 ;; esac; }
# pg_db_of URI: the database name in a URI (its last path component, before any ?options).
pg_db_of() { local db=${1%%\?*}; echo "${db##*/}"; }
if [ "$KEYSAFE_TEST_BACKEND" = postgresql ]; then
  source "$KEYSAFE_TESTS/pg.sh" || exit 1
  if grep -q '^# keysafe-test: sqlite-only' "$KEYSAFE_TEST_SCRIPT"; then
    echo "FAIL: $KEYSAFE_TEST_SCRIPT is marked sqlite-only and cannot run with KEYSAFE_TEST_BACKEND=postgresql" >&2
    exit 1
  fi
  pg_require
  pg_start main || { echo "FAIL: the test cluster did not start" >&2; exit 1; }
  use_store() { KEYSAFE_STORE=$(store_at "$1"); export KEYSAFE_STORE; }
  store_at() {
    [ "$(pg_psql main postgres -c "SELECT count(*) FROM pg_database WHERE datname = '$1'")" = 1 ] ||
      pg_createdb main "$1" >&2
    pg_uri main "$1"
  }
  store_remove() { local db; db=$(pg_db_of "$KEYSAFE_STORE"); pg_dropdb main "$db" && pg_createdb main "$db"; }
  store_exists() {
    local tables
    tables=$(pg_psql main "$(pg_db_of "$KEYSAFE_STORE")" -c "SELECT count(*) FROM pg_tables
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema')" 2>/dev/null)
    [ "${tables:-0}" -gt 0 ]
  }
  store_move() {
    local db; db=$(pg_db_of "$KEYSAFE_STORE")
    pg_dropdb main "$1" && pg_psql main postgres -c "ALTER DATABASE \"$db\" RENAME TO \"$1\"" &&
      pg_createdb main "$db"
  }
  store_move_back() {
    local db; db=$(pg_db_of "$KEYSAFE_STORE")
    pg_dropdb main "$db" && pg_psql main postgres -c "ALTER DATABASE \"$1\" RENAME TO \"$db\""
  }
  store_copy() {
    pg_dropdb main "$1" &&
      pg_psql main postgres -c "CREATE DATABASE \"$1\" TEMPLATE \"$(pg_db_of "$KEYSAFE_STORE")\""
  }
  store_copy_back() {
    local db; db=$(pg_db_of "$KEYSAFE_STORE")
    pg_dropdb main "$db" && pg_psql main postgres -c "CREATE DATABASE \"$db\" TEMPLATE \"$1\""
  }
  store_sql() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$KEYSAFE_STORE" -c "$1"; }
  store_dump() {
    "$PG_BIN/pg_dump" --inserts --rows-per-insert=1 --no-owner --no-privileges --data-only \
      -d "$KEYSAFE_STORE" | grep '^INSERT INTO ' | sed -E 's/^INSERT INTO [a-z_]+\./INSERT INTO /' |
      LC_ALL=C sort
  }
  # A new name each time (callers use $(...), a subshell: a counter would not count).
  store_sqlite_file() {
    local file
    file=$(mktemp -u "$T/.sqlite-copy.XXXXXX") && file="$file.db"
    "$KEYSAFE_BIN" store copy "$KEYSAFE_STORE" "$file" >"$T/.store-copy.out" 2>&1 ||
      { echo "store_sqlite_file: keysafe store copy failed: $(cat "$T/.store-copy.out")" >&2; return 1; }
    echo "$file"
  }
  use_store store
  [ "$(pg_psql main store -c 'SELECT 1')" = 1 ] ||
    { echo "FAIL: no database for the store" >&2; exit 1; }
elif [ "$KEYSAFE_TEST_BACKEND" = sqlite ]; then
  if grep -q '^# keysafe-test: postgresql-only' "$KEYSAFE_TEST_SCRIPT"; then
    echo "FAIL: $KEYSAFE_TEST_SCRIPT is marked postgresql-only: run it with KEYSAFE_TEST_BACKEND=postgresql" >&2
    exit 1
  fi
  use_store() { KEYSAFE_STORE=$(store_at "$1"); export KEYSAFE_STORE; }
  store_at() { echo "$T/$1.db"; }
  store_remove() { rm -f "$KEYSAFE_STORE" "$KEYSAFE_STORE-wal" "$KEYSAFE_STORE-shm"; }
  store_exists() { [ -e "$KEYSAFE_STORE" ]; }
  store_move() { mv "$KEYSAFE_STORE" "$(store_at "$1")"; }
  # A -wal left by the replaced store must not be replayed into the one moved back.
  store_move_back() { mv "$(store_at "$1")" "$KEYSAFE_STORE" && rm -f "$KEYSAFE_STORE-wal" "$KEYSAFE_STORE-shm"; }
  store_copy() { cp "$KEYSAFE_STORE" "$(store_at "$1")"; }
  store_copy_back() { cp "$(store_at "$1")" "$KEYSAFE_STORE" && rm -f "$KEYSAFE_STORE-wal" "$KEYSAFE_STORE-shm"; }
  store_sql() { sqlite3 "$KEYSAFE_STORE" "$1"; }
  store_dump() { sqlite3 "$KEYSAFE_STORE" .dump; }
  store_sqlite_file() { echo "$KEYSAFE_STORE"; }
else
  echo "FAIL: KEYSAFE_TEST_BACKEND=$KEYSAFE_TEST_BACKEND: expected sqlite or postgresql" >&2
  exit 1
fi

finish() {
  if ! on_sqlite && ls -d "$T"/postgres*: >/dev/null 2>&1; then
    bad "a file was made for a postgresql:// URI: $(ls -d "$T"/postgres*:)"
  fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}
