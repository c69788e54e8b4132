# Sourced by the PostgreSQL benchmarks (pg.sh, writers.sh, fleet.sh): one throwaway
# PostgreSQL 15 cluster on loopback, run as the postgres user with the default durable settings
# (fsync and synchronous_commit on, as docs/POSTGRESQL.md recommends). Needs root.
#
#   pg_bench_start DIR [DB]  initdb DIR/data (DIR is given to postgres), start it on a random
#                            port ($PORT) with its socket and log in DIR; create database DB if given
#   pg_bench_stop            stop it (immediate; nothing to keep), for the caller's EXIT trap
PGBIN=/usr/lib/postgresql/15/bin
PG_BENCH_DIR=

pg_bench_start() {
  PG_BENCH_DIR=$1
  chown postgres "$PG_BENCH_DIR"
  PORT=$((20000 + RANDOM % 20000))
  runuser -u postgres -- "$PGBIN/initdb" -D "$PG_BENCH_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_BENCH_DIR/data" -l "$PG_BENCH_DIR/server.log" -w -s \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PG_BENCH_DIR" start
  if [ -n "${2:-}" ]; then
    runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$2"
  fi
}

pg_bench_stop() {
  [ -n "$PG_BENCH_DIR" ] || return 0
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_BENCH_DIR/data" -m immediate -w -s stop 2>/dev/null || true
}
