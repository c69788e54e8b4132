# Throwaway PostgreSQL 15 clusters for the end-to-end test scripts (sourced by lib.sh, never run
# directly). Each cluster lives in a fresh temporary directory (data, log, unix socket), listens
# on 127.0.0.1 on a port free at run time and trusts every local connection; nothing depends on
# a system cluster. All clusters of a script are stopped (-m immediate) and their directories
# removed when the script exits (lib.sh's on_exit), and by a watchdog if the script is killed
# with SIGKILL (a CTest timeout), which no trap can catch.
#   pg_start NAME [-c SETTING=VALUE]...   initdb + start; PG_PORT[NAME], PG_DATA[NAME]
#   pg_createdb NAME DB / pg_dropdb NAME DB / pg_uri NAME DB
#   pg_psql NAME DB ARGS...               psql as the superuser, stops at the first error
#   pg_stop NAME [MODE] / pg_ctl_as NAME ARGS... / pg_promote NAME
#   pg_start_standby PRIMARY NAME         a streaming standby of PRIMARY (pg_basebackup -R)
#   pg_allow_replication NAME / pg_hba_first NAME LINE / pg_wait_streaming NAME
#   pg_dump_hash URI                      a hash of the database's schema and rows
# initdb and pg_ctl refuse to run as root: as root they run as the `postgres` user.

PG_BIN=${KEYSAFE_PG_BIN:-/usr/lib/postgresql/15/bin}
declare -A PG_PORT=() PG_DATA=()
PG_ROOT=""

# pg_require: skips the script (lib.sh's skip; a failure in CI) when PostgreSQL 15 is missing.
pg_require() {
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] ||
    skip "PostgreSQL 15 is not installed in $PG_BIN (apt-get install postgresql-15, or run scripts/setup.sh)"
  [ -x "$PG_BIN/psql" ] && [ -x "$PG_BIN/pg_dump" ] ||
    skip "psql and pg_dump are not installed in $PG_BIN (apt-get install postgresql-client-15)"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || skip "there is no postgres user to run initdb as (apt-get install postgresql-15)"
  fi
}

# pg_as_owner COMMAND...: runs COMMAND as the owner of the clusters' files (postgres when root).
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    # From a directory postgres may enter: the scripts' own $T is root's, mode 0700.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# pg_root: the directory holding every cluster of this script, made on first use and owned by
# the clusters' owner; the watchdog that cleans up after a SIGKILL starts with it.
pg_root() {
  [ -n "$PG_ROOT" ] && return 0
  PG_ROOT=$(mktemp -d /tmp/keysafe-pg.XXXXXX) || return 1
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_ROOT"
  chmod 700 "$PG_ROOT"
  on_exit pg_cleanup
  # A separate session (setsid -f): CTest kills the script's process tree on a timeout, and this
  # must outlive it. It exits on its own once the script has gone.
  # pg_ctl stop rather than a kill: a killed postmaster leaves its SysV shared memory behind.
  local as_owner=()
  [ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)
  setsid -f bash -c '
    root=$1 script=$2; shift 2
    while kill -0 "$script" 2>/dev/null; do sleep 2; done
    for pid in "$root"/*/data/postmaster.pid; do
      [ -f "$pid" ] || continue
      "$@" "'"$PG_BIN"'/pg_ctl" -D "${pid%/postmaster.pid}" -m immediate -w -s stop ||
        kill -9 "$(head -n 1 "$pid")"
    done
    rm -rf "$root"' pg-watchdog "$PG_ROOT" "$$" "${as_owner[@]}" </dev/null >/dev/null 2>&1
}

# pg_log_tail NAME: the end of a cluster's server log, for failure messages.
pg_log_tail() { tail -n 15 "$PG_ROOT/$1/server.log" 2>/dev/null; }

# pg_start NAME [-c SETTING=VALUE]...: a new cluster named NAME, started and ready for
# connections. A port taken between choosing and binding it (another test) is retried.
pg_start() {
  local name=$1; shift
  local dir
  pg_root || return 1
  dir="$PG_ROOT/$name"
  mkdir "$dir" && { [ "$(id -u)" != 0 ] || chown postgres: "$dir"; }
  if ! pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-sync >"$dir/initdb.log" 2>&1; then
    echo "pg_start $name: initdb failed:" >&2; cat "$dir/initdb.log" >&2
    return 1
  fi
  PG_DATA[$name]="$dir/data"
  # fsync off: a test cluster is thrown away, and a kill of the server is simulated with
  # -m immediate (the WAL is still written, so crash recovery still runs on restart).
  pg_launch pg_start "$name" -c fsync=off -c full_page_writes=off "$@"
}

# pg_launch CALLER NAME [SERVER OPTION]...: starts the cluster in PG_DATA[NAME] on a free
# loopback port (PG_PORT[NAME]). A port taken between choosing and binding it (another test)
# is retried; any other failure is printed with the server's log.
pg_launch() {
  local caller=$1 name=$2; shift 2
  local dir="$PG_ROOT/$name" port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if pg_as_owner "$PG_BIN/pg_ctl" -D "${PG_DATA[$name]}" -l "$dir/server.log" -w -s -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $*" \
        start >"$dir/pg_ctl.log" 2>&1; then
      PG_PORT[$name]=$port
      return 0
    fi
    grep -q "could not bind\|Address already in use\|could not create any TCP/IP sockets" \
      "$dir/server.log" 2>/dev/null || break
  done
  echo "$caller $name: the server did not start:" >&2
  cat "$dir/pg_ctl.log" >&2; pg_log_tail "$name" >&2
  return 1
}

# pg_ctl_as NAME ARGS...: pg_ctl on cluster NAME's data directory (stop, promote, reload...).
pg_ctl_as() { local name=$1; shift; pg_as_owner "$PG_BIN/pg_ctl" -D "${PG_DATA[$name]}" -w -s "$@"; }
# pg_stop NAME [MODE]: stops cluster NAME (immediate by default: what a crash or kill does).
pg_stop() { pg_ctl_as "$1" -m "${2:-immediate}" stop; }
# pg_restart NAME: starts a stopped cluster again on its port.
pg_restart() {
  pg_ctl_as "$1" -l "$PG_ROOT/$1/server.log" start >/dev/null ||
    { echo "pg_restart $1: the server did not start:" >&2; pg_log_tail "$1" >&2; return 1; }
}
# pg_promote NAME: makes standby NAME a primary and waits until it accepts writes.
pg_promote() { pg_ctl_as "$1" promote; }

# pg_psql NAME DB ARGS...: psql as the superuser on DB of cluster NAME, quiet, unaligned, with
# no ~/.psqlrc, stopping at the first error.
pg_psql() {
  local name=$1 db=$2; shift 2
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PG_PORT[$name]}" -U postgres -d "$db" "$@"
}
# pg_createdb NAME DB / pg_dropdb NAME DB: a new empty database, or none any more.
pg_createdb() { pg_psql "$1" postgres -c "CREATE DATABASE \"$2\""; }
pg_dropdb() { pg_psql "$1" postgres -c "DROP DATABASE IF EXISTS \"$2\" WITH (FORCE)"; }
# pg_uri NAME DB: the libpq URI of DB on cluster NAME, as an administrator would write it.
pg_uri() { echo "postgresql://postgres@127.0.0.1:${PG_PORT[$1]}/$2"; }

# pg_start_standby PRIMARY NAME: cluster NAME, a hot standby streaming from PRIMARY (base
# backup with -R writes primary_conninfo and standby.signal). PRIMARY must allow replication
# connections from 127.0.0.1 (pg_start's trust covers the `replication` pseudo-database only
# through the line added here).
pg_start_standby() {
  local primary=$1 name=$2 dir
  dir="$PG_ROOT/$name"
  mkdir "$dir" && { [ "$(id -u)" != 0 ] || chown postgres: "$dir"; }
  if ! pg_as_owner "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "${PG_PORT[$primary]}" -U postgres \
      -D "$dir/data" -R -X stream -c fast --no-sync >"$dir/basebackup.log" 2>&1; then
    echo "pg_start_standby $name: pg_basebackup failed:" >&2; cat "$dir/basebackup.log" >&2
    return 1
  fi
  PG_DATA[$name]="$dir/data"
  # cluster_name names the standby in pg_stat_replication (its application_name).
  pg_launch pg_start_standby "$name" -c cluster_name="$name"
}

# pg_allow_replication NAME: lets replication connections from 127.0.0.1 in (trust), reloaded.
pg_allow_replication() {
  echo "host replication all 127.0.0.1/32 trust" >>"${PG_DATA[$1]}/pg_hba.conf"
  pg_ctl_as "$1" reload >/dev/null
}

# pg_hba_first NAME LINE: puts LINE first in cluster NAME's pg_hba.conf (the first matching line
# decides) and reloads, e.g. "host all alice 127.0.0.1/32 scram-sha-256".
pg_hba_first() {
  local hba="${PG_DATA[$1]}/pg_hba.conf"
  { printf '%s\n' "$2"; cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba" && rm -f "$hba.new"
  pg_ctl_as "$1" reload >/dev/null
  sleep 0.5   # the postmaster rereads the file on SIGHUP, after pg_ctl has returned
}

# pg_wait_streaming PRIMARY: waits (up to 30 s) until a standby streams from PRIMARY and, when
# PRIMARY names synchronous standbys, until one is synchronous: a walsender shows 'async' until
# the standby's first flush report, so a commit right after "streaming" need not wait for it yet.
pg_wait_streaming() {
  local i
  for i in $(seq 1 300); do
    [ "$(pg_psql "$1" postgres -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'
           AND (current_setting('synchronous_standby_names') = '' OR sync_state IN ('sync', 'quorum'))")" -ge 1 ] \
      2>/dev/null && return 0
    sleep 0.1
  done
  echo "pg_wait_streaming $1: no standby streams" >&2
  return 1
}

# pg_dump_hash URI: a SHA-256 over a deterministic dump of the database URI names: its schema
# and every row, sorted (a row rewritten with the same values moves on disk but hashes the
# same). Sequence positions are left out: a rolled-back insert advances a sequence, yet leaves
# the store as it was.
# A failed dump gives a value that equals no other, so "unchanged" cannot pass on two failures.
pg_dump_hash() {
  local dump
  if ! dump=$("$PG_BIN/pg_dump" --inserts --rows-per-insert=1 --no-owner --no-privileges -d "$1" 2>&1); then
    echo "pg_dump_hash: pg_dump $1 failed: $dump" >&2
    echo "<pg_dump failed $RANDOM$RANDOM>"
    return 0
  fi
  # pg_dump's \restrict lines carry a random key of each run (CVE-2025-8714).
  printf '%s\n' "$dump" | grep -v -e '^--' -e '^$' -e 'pg_catalog.setval(' -e '^\\restrict ' \
    -e '^\\unrestrict ' | LC_ALL=C sort |
    sha256sum | cut -d' ' -f1
}

# pg_cleanup: stops every cluster of this script and removes their files (lib.sh's on_exit).
pg_cleanup() {
  local name
  [ -n "$PG_ROOT" ] || return 0
  for name in "${!PG_DATA[@]}"; do
    [ -f "${PG_DATA[$name]}/postmaster.pid" ] && pg_stop "$name" >/dev/null 2>&1
  done
  rm -rf "$PG_ROOT"
}
