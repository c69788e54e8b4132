#!/usr/bin/env bash
# keysafe's benchmark harness: every row runs keysafe and its baseline side by side in one
# hyperfine invocation (same run, same machine), median of several runs, and prints one table.
#
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DKEYSAFE_BUILD_BENCH=ON
#   cmake --build build-bench -j2 --target bench          # = KEYSAFE_BIN=... BENCH_BIN=... bash bench/run.sh
#
# Options: --quick (tiny sizes, 2 runs: a smoke test that the harness works, not a measurement),
#          --micro (also run the Google Benchmark micro-benchmarks), --only ROWS (comma list of
#          import,list,cold,unlock,pkcs12,bulk,findkey).
# Environment: KEYSAFE_BIN (the keysafe binary), BENCH_BIN (directory of the bench programs),
#              BENCH_RUNS (runs per command, default 7), BENCH_THREADS (default: nproc),
#              BENCH_KEEP=1 (keep the work directory).
set -euo pipefail

QUICK=0
MICRO=0
ONLY="import,list,cold,unlock,pkcs12,bulk,findkey"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --micro) MICRO=1 ;;
    --only) ONLY=$2; shift ;;
    *) echo "usage: run.sh [--quick] [--micro] [--only import,list,cold,unlock,pkcs12,bulk,findkey]" >&2; exit 2 ;;
  esac
  shift
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }

KS=${KEYSAFE_BIN:?KEYSAFE_BIN must name the keysafe binary}
BIN=${BENCH_BIN:?BENCH_BIN must name the directory of the bench programs}
KS=$(readlink -f "$KS")
LIST_SQL="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/list_sql.sh"
BIN=$(readlink -f "$BIN")
THREADS=${BENCH_THREADS:-$(nproc)}
for tool in hyperfine jq openssl; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 77; }
done

if [ "$QUICK" = 1 ]; then
  RUNS=${BENCH_RUNS:-2}; WARMUP=0
  N_IMPORT=200; N_BIG=0; N_KEYS=20; N_BULK=20; N_CLI=2; KDF_COST=12; N_BACKUPS=50
else
  RUNS=${BENCH_RUNS:-7}; WARMUP=1
  N_IMPORT=10000; N_BIG=100000; N_KEYS=1000; N_BULK=2000; N_CLI=50; KDF_COST=17; N_BACKUPS=1000
fi

W=$(mktemp -d /tmp/keysafe-bench.XXXXXX)
if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory: $W" >&2; else trap 'rm -rf "$W"' EXIT; fi
cd "$W"
export KEYSAFE_PASSPHRASE="correct horse battery staple"
printf '%s' "$KEYSAFE_PASSPHRASE" >pass.txt
chmod 600 pass.txt  # keysafe refuses a passphrase file that others can read
export BENCH_PASS="export password 123"
printf '%s' "$BENCH_PASS" >p12pass.txt
chmod 600 p12pass.txt
unset KEYSAFE_STORE XDG_DATA_HOME KEYSAFE_KEY_FILE
export KEYSAFE_NO_PROGRESS=1

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS="$W/rows.tsv"
: >"$ROWS"
log() { echo "bench: $*" >&2; }

# hf OUT.json ARGS...: hyperfine without a shell in between (-N), exit codes ignored (-i:
# list --expiring exits 10 by design); results checked separately before timing.
hf() {
  local out=$1; shift
  if ! hyperfine -N -i --style none --runs "$RUNS" --warmup "$WARMUP" --export-json "$out" "$@" \
      >"$out.log" 2>&1; then
    cat "$out.log" >&2
    return 1
  fi
}
med() { jq -r ".results[$2].median * 1000" "$1"; }  # milliseconds
# row LABEL KS_MS BASELINE BASE_MS KIND TARGET: KIND "le" (keysafe/baseline <= TARGET) or "ge"
# (baseline/keysafe >= TARGET) or "abs" (keysafe ms <= TARGET) or "info".
row() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" >>"$ROWS"
}
fresh_store() {  # fresh_store PATH [COST]: a new store made by keysafe init
  rm -f "$1" "$1-wal" "$1-shm"
  "$KS" --store "$1" init --kdf-cost "${2:-10}" --passphrase-file pass.txt >/dev/null 2>&1
}
# same_json DB MODE ARG KEYSAFE-ARGS...: keysafe's JSON equals the one sqlite3 builds with
# bench/list_sql.sh MODE ARG (jq -S). days_left, state and the expiry window depend on the
# clock, which keysafe reads once at a second between the two taken around its run: equal at
# one of those seconds passes (a list over 100,000 entries takes longer than a second).
same_json() {
  local db=$1 mode=$2 arg=$3 t0 t1 now
  shift 3
  t0=$(date +%s)
  "$KS" --store "$db" "$@" >ks_out.json || true  # list --expiring exits 10/11 by design
  t1=$(date +%s)
  jq -S . ks_out.json >ks_sorted.json
  for ((now = t0; now <= t1 && now <= t0 + 10; now++)); do
    # shellcheck disable=SC2086
    sqlite3 -readonly "$db" "$(bash "$LIST_SQL" "$mode" $arg "$now")" | jq -S . >sql_sorted.json
    cmp -s ks_sorted.json sql_sorted.json && return 0
  done
  echo "keysafe $* and the sqlite3 baseline disagree:" >&2
  diff ks_sorted.json sql_sorted.json | head -20 >&2
  exit 1
}
# varied_entries DB: beside the imported certificates (all "no-key"), one entry in each other
# state keysafe lists (pending, installed and backed up, renewed: installed + superseded), so
# that the equality check with the sqlite3 baseline covers every branch of the JSON.
varied_entries() {
  local db=$1
  "$KS" --store "$db" create v-pending --dns v-pending.example --ip 192.0.2.1 -o v1.req >/dev/null
  "$KS" --store "$db" create v-installed --dns v-installed.example -o v2.req >/dev/null
  "$KS" --store "$db" selfsign v-installed --days 10 >/dev/null
  KEYSAFE_OUT_PASSPHRASE=bench "$KS" --store "$db" backup v-installed -o v2.kbk --yes \
    --kdf-cost 10 >/dev/null 2>&1
  "$KS" --store "$db" create v-renewed --dns v-renewed.example -o v3.req >/dev/null
  "$KS" --store "$db" selfsign v-renewed --days 20 >/dev/null
  "$KS" --store "$db" renew v-renewed -o v3r.req >/dev/null
  "$KS" --store "$db" selfsign v-renewed.renewal --days 20 >/dev/null
  rm -f v1.req v2.req v3.req v3r.req v2.kbk
}
# A prepare script that puts a copy of an initialized empty store at PATH.
copy_script() {  # copy_script NAME TEMPLATE TARGET [EXTRA...]
  local name=$1 tpl=$2 target=$3; shift 3
  { echo "rm -f '$target' '$target-wal' '$target-shm' $*"; echo "cp '$tpl' '$target'"; } >"$name"
}

# ---------------------------------------------------------------------------------------------
if want import || want list; then
  log "generating a bundle of $N_IMPORT certificates"
  "$BIN/gen_bundle" "$N_IMPORT" bundle.pem "$THREADS"
  fresh_store empty.db
fi

if want import; then
  log "import of $N_IMPORT certificates"
  copy_script prep_ks.sh empty.db imp.db
  echo "rm -f raw.db raw.db-wal raw.db-shm" >prep_raw.sh
  # Correctness first: both import every certificate.
  bash prep_ks.sh && "$KS" --store imp.db import bundle.pem >/dev/null
  got=$(sqlite3 imp.db "SELECT count(*) FROM certificates" 2>/dev/null || echo "?")
  [ "$got" = "$N_IMPORT" ] || [ "$got" = "?" ] || { echo "keysafe imported $got of $N_IMPORT" >&2; exit 1; }
  hf import.json \
    --prepare "bash prep_ks.sh" "$KS --store imp.db import bundle.pem" \
    --prepare "bash prep_raw.sh" "$BIN/raw_import bundle.pem raw.db"
  row "import $N_IMPORT certificates (PEM bundle)" "$(med import.json 0)" \
    "raw parse+SHA-256+SQLite insert, 1 transaction" "$(med import.json 1)" le 1.5
fi

if want list; then
  cp empty.db list10k.db
  "$KS" --store list10k.db import bundle.pem >/dev/null
  varied_entries list10k.db
  sizes="$N_IMPORT"
  if [ "$N_BIG" -gt 0 ]; then
    log "building a store of $N_BIG certificates"
    "$BIN/gen_bundle" "$N_BIG" big.pem "$THREADS"
    cp empty.db list100k.db
    "$KS" --store list100k.db import big.pem >/dev/null
    varied_entries list100k.db
    rm -f big.pem
    sizes="$sizes $N_BIG"
  fi
  # Baseline: sqlite3 building the same JSON document itself (bench/list_sql.sh), checked equal
  # to keysafe's output (jq -S) before either is timed.
  bash "$LIST_SQL" all >list_all.sql
  bash "$LIST_SQL" expiring 30 >list_exp.sql
  bash "$LIST_SQL" name host-7.bench.example >list_show.sql
  for n in $sizes; do
    db=list10k.db
    [ "$n" = "$N_BIG" ] && db=list100k.db
    log "list on $n entries"
    same_json "$db" all "" list --json
    same_json "$db" expiring 30 list --expiring 30 --json
    same_json "$db" name host-7.bench.example show host-7.bench.example --json
    b=$("$KS" --store "$db" list --expiring 30 --json | jq length || true)
    hf "list$n.json" \
      "$KS --store $db list --json" "sqlite3 -readonly $db '.read list_all.sql'" \
      "$KS --store $db list --expiring 30 --json" "sqlite3 -readonly $db '.read list_exp.sql'" \
      "$KS --store $db show host-7.bench.example --json" "sqlite3 -readonly $db '.read list_show.sql'"
    row "list --json, $n entries" "$(med "list$n.json" 0)" "sqlite3: json_group_array(json_object(…))" \
      "$(med "list$n.json" 1)" info ""
    target=info
    [ "$n" = 100000 ] && target=le
    row "list --expiring 30 --json, $n entries ($b match)" "$(med "list$n.json" 2)" \
      "sqlite3: json_group_array(json_object(…))" "$(med "list$n.json" 3)" "$target" 2
    row "show NAME --json, $n entries" "$(med "list$n.json" 4)" "sqlite3: json_object(…) by name" \
      "$(med "list$n.json" 5)" info ""
  done
fi

# ---------------------------------------------------------------------------------------------
if want cold; then
  log "cold start"
  fresh_store cold.db
  if command -v keytool >/dev/null; then
    keytool -genkeypair -keyalg EC -groupname secp256r1 -alias www -dname CN=www -validity 90 \
      -keystore ks.p12 -storetype PKCS12 -storepass changeit >/dev/null 2>&1
    hf cold.json "$KS --store cold.db list" "openssl version" \
      "keytool -list -keystore ks.p12 -storetype PKCS12 -storepass changeit"
    row "cold start: list on an empty store" "$(med cold.json 0)" "(absolute target)" "" abs 15
    row "cold start vs openssl version" "$(med cold.json 0)" "openssl version" "$(med cold.json 1)" info ""
    row "cold start vs keytool -list" "$(med cold.json 0)" "keytool -list (PKCS12, 1 key)" \
      "$(med cold.json 2)" ge 20
  else
    hf cold.json "$KS --store cold.db list" "openssl version"
    row "cold start: list on an empty store" "$(med cold.json 0)" "(absolute target)" "" abs 15
    row "cold start vs openssl version" "$(med cold.json 0)" "openssl version" "$(med cold.json 1)" info ""
  fi
fi

# ---------------------------------------------------------------------------------------------
if want unlock; then
  log "unlock: $N_KEYS keys in a store at the default KDF cost"
  "$BIN/gen_bundle" "$N_KEYS" keys.pem "$THREADS" keys
  rm -f unlock.db*
  # The default cost (scrypt 2^17); --quick uses 2^12 to stay fast.
  "$KS" --store unlock.db init --kdf-cost "$KDF_COST" --passphrase-file pass.txt >/dev/null 2>&1
  "$KS" --store unlock.db import keys.pem --passphrase-file pass.txt >/dev/null
  derivations=$(KEYSAFE_STATS=1 "$KS" --store unlock.db check --passphrase-file pass.txt 2>&1 >/dev/null \
    | sed -n 's/.*kdf_derivations=\([0-9]*\).*/\1/p' | tail -1)
  opened=$(KEYSAFE_STATS=1 "$KS" --store unlock.db check --passphrase-file pass.txt 2>&1 >/dev/null \
    | sed -n 's/.*keys_opened=\([0-9]*\).*/\1/p' | tail -1)
  hf unlock.json "$BIN/raw_kdf $KDF_COST" "$KS --store unlock.db check --passphrase-file pass.txt"
  row "unlock: scrypt N=2^$KDF_COST r=8 p=1 alone" "$(med unlock.json 0)" "(the KDF, raw OpenSSL)" "" info ""
  row "check opening $N_KEYS sealed keys (default KDF)" "$(med unlock.json 1)" \
    "raw_kdf: one scrypt at the same cost" "$(med unlock.json 0)" info ""
  row "key derivations in check over $N_KEYS keys (KEYSAFE_STATS, keys_opened=${opened:-?})" \
    "${derivations:-?}" "(exactly 1)" "" count 1
fi

# ---------------------------------------------------------------------------------------------
if want pkcs12; then
  log "PKCS#12"
  "$BIN/gen_bundle" 1 one.pem 1 keys
  openssl pkey -in one.pem -out one.key 2>/dev/null
  openssl x509 -in one.pem -out one.crt 2>/dev/null
  fresh_store p12.db
  "$KS" --store p12.db import one.pem >/dev/null
  fresh_store p12empty.db
  name=$("$KS" --store p12.db list --json | jq -r '.[0].name')
  export KEYSAFE_OUT_PASSPHRASE="$BENCH_PASS" KEYSAFE_IN_PASSPHRASE="$BENCH_PASS"
  echo "rm -f ks.pfx" >prep_ksx.sh
  echo "rm -f raw.p12" >prep_rawx.sh
  copy_script prep_ksi.sh p12empty.db p12imp.db
  "$KS" --store p12.db export "$name" --format pfx -o ks.pfx --yes >/dev/null 2>&1
  "$BIN/raw_pkcs12" export one.key one.crt raw.p12
  hf p12.json \
    --prepare "bash prep_ksx.sh" "$KS --store p12.db export $name --format pfx -o ks.pfx --yes" \
    --prepare "bash prep_rawx.sh" "$BIN/raw_pkcs12 export one.key one.crt raw.p12" \
    --prepare "bash prep_ksi.sh" "$KS --store p12imp.db import raw.p12" \
    --prepare "true" "$BIN/raw_pkcs12 import raw.p12"
  row "PKCS#12 export (modern profile)" "$(med p12.json 0)" "raw PKCS12_create, same settings" \
    "$(med p12.json 1)" info ""
  row "PKCS#12 import" "$(med p12.json 2)" "raw PKCS12_parse, same file" "$(med p12.json 3)" info ""
  unset KEYSAFE_OUT_PASSPHRASE KEYSAFE_IN_PASSPHRASE
fi

# ---------------------------------------------------------------------------------------------
if want bulk; then
  log "bulk issuance: $N_BULK certificates, $THREADS threads"
  bulk_ok=0
  if "$KS" issue-bulk --help >/dev/null 2>&1; then bulk_ok=1; fi
  # The openssl CLI loop and certtool loop, per certificate, with a CA made by each tool.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -subj "/CN=bench CA" -days 3650 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  cat >ossl_loop.sh <<EOF
set -e
mkdir -p ossl_out && cd ossl_out
for i in \$(seq 1 $N_CLI); do
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout h\$i.key \\
    -out h\$i.csr -subj "/CN=host-\$i.bench.example" \\
    -addext "subjectAltName=DNS:host-\$i.bench.example" 2>/dev/null
  openssl x509 -req -in h\$i.csr -CA ../ca.pem -CAkey ../ca.key -set_serial 0x\$(openssl rand -hex 15) \\
    -days 90 -copy_extensions copy -extfile ../server.ext -out h\$i.crt 2>/dev/null
done
EOF
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" \
    >server.ext
  cmds=("$BIN/raw_issue $N_BULK $THREADS" "bash ossl_loop.sh")
  have_certtool=0
  if command -v certtool >/dev/null; then
    have_certtool=1
    certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile gca.key 2>/dev/null
    printf '%s\n' 'cn = "bench certtool CA"' ca cert_signing_key crl_signing_key \
      'expiration_days = 3650' >gca.tmpl
    certtool --generate-self-signed --load-privkey gca.key --template gca.tmpl --outfile gca.pem \
      >/dev/null 2>&1
    cat >certtool_loop.sh <<EOF
set -e
mkdir -p gnutls_out && cd gnutls_out
for i in \$(seq 1 $N_CLI); do
  printf '%s\n' "cn = host-\$i.bench.example" "dns_name = host-\$i.bench.example" \\
    tls_www_server signing_key "expiration_days = 90" >t\$i
  certtool --generate-privkey --key-type ecdsa --curve secp256r1 --outfile h\$i.key 2>/dev/null
  certtool --generate-request --load-privkey h\$i.key --template t\$i --outfile h\$i.csr 2>/dev/null
  certtool --generate-certificate --load-request h\$i.csr --load-ca-certificate ../gca.pem \\
    --load-ca-privkey ../gca.key --template t\$i --outfile h\$i.crt 2>/dev/null
done
EOF
    cmds+=("bash certtool_loop.sh")
  fi
  if [ "$bulk_ok" = 1 ]; then
    # Two local CAs, each matched by the raw pipeline signing with the same curve and digest:
    # P-256 (the target row: the CA the openssl and certtool loops use too) and P-384 (what
    # `ca init` makes when --key is not given).
    for curve in p256 p384; do
      fresh_store "bulk_tpl_$curve.db"
      "$KS" --store "bulk_tpl_$curve.db" ca init bench-ca --key "ec-$curve" >/dev/null || bulk_ok=0
      copy_script "prep_bulk_$curve.sh" "bulk_tpl_$curve.db" bulk.db
    done
  fi
  if [ "$bulk_ok" = 1 ]; then
    bash prep_bulk_p256.sh
    "$KS" --store bulk.db issue-bulk bench-ca --count "$N_BULK" --prefix host \
      --dns-suffix .bench.example --threads "$THREADS" >/dev/null
    got=$("$KS" --store bulk.db list --json | jq '[.[] | select(.state == "installed")] | length')
    [ "$got" -ge "$N_BULK" ] || { echo "bulk issuance installed $got of $N_BULK" >&2; exit 1; }
    echo "rm -rf ossl_out gnutls_out" >prep_loops.sh
    ks_bulk="$KS --store bulk.db issue-bulk bench-ca --count $N_BULK --prefix host --dns-suffix .bench.example --threads $THREADS"
    args=(--prepare "bash prep_bulk_p256.sh" "$ks_bulk" --prepare "true" "${cmds[0]}"
      --prepare "bash prep_bulk_p384.sh" "$ks_bulk" --prepare "true" "${cmds[0]} p384"
      --prepare "bash prep_loops.sh" "${cmds[1]}")
    [ "$have_certtool" = 1 ] && args+=(--prepare "bash prep_loops.sh" "${cmds[2]}")
    RUNS_SAVED=$RUNS
    [ "$QUICK" = 1 ] || RUNS=5
    hf bulk.json "${args[@]}"
    RUNS=$RUNS_SAVED
    per() { echo "$1 / $2" | bc -l; }
    ks_pc=$(per "$(med bulk.json 0)" "$N_BULK")
    raw_pc=$(per "$(med bulk.json 1)" "$N_BULK")
    ks384_pc=$(per "$(med bulk.json 2)" "$N_BULK")
    raw384_pc=$(per "$(med bulk.json 3)" "$N_BULK")
    ossl_pc=$(per "$(med bulk.json 4)" "$N_CLI")
    row "bulk issuance, per certificate ($N_BULK, $THREADS threads, into the store, P-256 CA)" \
      "$ks_pc" "raw in-process OpenSSL pipeline, $THREADS threads, no store, P-256 CA" "$raw_pc" le 1.25
    row "bulk issuance, per certificate ($N_BULK, $THREADS threads, into the store, P-384 CA)" \
      "$ks384_pc" "raw in-process OpenSSL pipeline, $THREADS threads, no store, P-384 CA" \
      "$raw384_pc" info ""
    row "bulk issuance, per certificate (P-256 CA)" "$ks_pc" "openssl CLI loop (N=$N_CLI)" "$ossl_pc" ge 30
    if [ "$have_certtool" = 1 ]; then
      row "bulk issuance, per certificate (P-256 CA)" "$ks_pc" "GnuTLS certtool loop (N=$N_CLI)" \
        "$(per "$(med bulk.json 5)" "$N_CLI")" info ""
    fi
  else
    log "keysafe has no 'issue-bulk': only the baselines are measured"
    hf bulk.json "${cmds[@]}"
    row "bulk issuance (keysafe command missing)" "" "raw in-process pipeline, per certificate" \
      "$(echo "$(med bulk.json 0) / $N_BULK" | bc -l)" missing ""
  fi
fi

# ---------------------------------------------------------------------------------------------
if want findkey; then
  # find-key over N_BACKUPS backups in nested directories, half passphrase (clear header), half
  # recipient (CMS + index): 10 distinct backups of other keys copied into N_BACKUPS/10
  # directories, and the sought key in one recipient backup whose index is checked (SHA-256).
  log "find-key over $N_BACKUPS backups"
  fresh_store fk.db
  openssl req -x509 -newkey rsa:2048 -nodes -keyout fk_rec.key -out fk_rec.pem \
    -subj "/CN=bench recovery" -days 365 2>/dev/null
  mkdir -p fk_src fk
  for i in $(seq 1 10); do
    "$KS" --store fk.db create "k$i" --dns "k$i.bench.example" -o "fk_src/k$i.req" >/dev/null
    if [ "$i" -le 5 ]; then
      KEYSAFE_OUT_PASSPHRASE=bench "$KS" --store fk.db backup "k$i" -o "fk_src/k$i.kbk" --yes \
        --kdf-cost 10 >/dev/null 2>&1
    else
      "$KS" --store fk.db backup "k$i" --recipient fk_rec.pem -o "fk_src/k$i.p7m" --yes >/dev/null
    fi
  done
  rm -f fk_src/*.req
  for d in $(seq 1 $((N_BACKUPS / 10))); do
    mkdir -p "fk/$((d % 10))/$d" && cp fk_src/* "fk/$((d % 10))/$d/"
  done
  "$KS" --store fk.db create target --dns target.bench.example -o fk_target.req >/dev/null
  mkdir -p fk/7  # --quick makes only 5 directories
  "$KS" --store fk.db backup target k1 --recipient fk_rec.pem -o fk/7/target.p7m --yes >/dev/null
  spki=$(openssl req -in fk_target.req -pubkey -noout | openssl pkey -pubin -outform DER |
    sha256sum | cut -d' ' -f1)
  # Correctness first: each finds the one backup (raw: its index) and nothing else.
  got=$("$KS" find-key fk_target.req --in fk --json | jq -r '.found | length')
  [ "$got" = 1 ] || { echo "find-key found $got backups, expected 1" >&2; exit 1; }
  [ "$("$BIN/raw_findkey" fk "$spki" | wc -l)" = 1 ] || { echo "raw_findkey disagrees" >&2; exit 1; }
  [ "$(grep -rl "$spki" fk | wc -l)" = 1 ] || { echo "grep -rl disagrees" >&2; exit 1; }
  hf findkey.json "$KS find-key fk_target.req --in fk" "$BIN/raw_findkey fk $spki" \
    "grep -rl $spki fk"
  row "find-key over $N_BACKUPS backups (headers and indexes only)" "$(med findkey.json 0)" \
    "(absolute target)" "" abs 1000
  row "find-key over $N_BACKUPS backups" "$(med findkey.json 0)" \
    "raw_findkey: walk + first 64 KiB + memmem" "$(med findkey.json 1)" info ""
  row "find-key over $N_BACKUPS backups" "$(med findkey.json 0)" "grep -rl SPKI-HASH DIR" \
    "$(med findkey.json 2)" info ""
fi

# ---------------------------------------------------------------------------------------------
# The table. Times in ms (median of $RUNS runs).
echo "keysafe bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)$([ "$QUICK" = 1 ] && echo ' (--quick: smoke test, not a measurement)')"
echo
echo "- machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM"
echo "- $(openssl version), $("$KS" --version), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
echo "- load average at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- threads for bulk issuance: $THREADS"
echo
python3 - "$ROWS" "$RUNS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
runs = sys.argv[2]
def ms(v):
    try:
        x = float(v)
    except ValueError:
        return v or "-"
    return f"{x:.3f} ms" if x < 1 else (f"{x:.2f} ms" if x < 100 else f"{x:.0f} ms")
print(f"| measurement | keysafe | baseline | baseline time | keysafe/baseline | target | met |")
print("|---|---:|---|---:|---:|---|---|")
for label, ks, base, base_ms, kind, target in rows:
    ratio, tgt, met = "-", "-", "-"
    try:
        k = float(ks)
    except ValueError:
        k = None
    try:
        b = float(base_ms)
    except ValueError:
        b = None
    if k is not None and b is not None and b > 0:
        ratio = f"{k / b:.2f}×" if k / b >= 0.1 else f"{k / b:.4f}× ({b / k:.0f}× faster)"
    if kind == "le":
        tgt = f"≤ {target}×"
        met = "yes" if ratio != "-" and k / b <= float(target) else "NO"
    elif kind == "ge":
        tgt = f"≥ {target}× faster"
        met = "yes" if ratio != "-" and b / k >= float(target) else "NO"
    elif kind == "abs":
        tgt = f"≤ {target} ms"
        met = "yes" if k is not None and k <= float(target) else "NO"
    elif kind == "count":
        tgt = f"= {target}"
        met = "yes" if ks == target else "NO"
        print(f"| {label} | {ks} | {base} | - | - | {tgt} | {met} |")
        continue
    elif kind == "missing":
        met = "NO (not implemented)"
    print(f"| {label} | {ms(ks)} | {base} | {ms(base_ms)} | {ratio} | {tgt} | {met} |")
print(f"\nmedian of {runs} runs per command (hyperfine -N); bulk issuance and CLI loops: 5 runs")
EOF

if [ "$MICRO" = 1 ]; then
  echo
  echo "micro-benchmarks (Google Benchmark, CPU time per call):"
  echo
  echo "| function | time |"
  echo "|---|---:|"
  for m in seal match encode; do
    "$BIN/micro_$m" --benchmark_format=json --benchmark_min_time=0.2 2>/dev/null |
      jq -r '.benchmarks[] | "| \(.name) | \(.cpu_time | . * 100 | round / 100) \(.time_unit) |"'
  done
fi
