# keysafe-test: sqlite-only — flips bytes of the SQLite file (header, b-tree pages) and truncates it
# Corruption: copies of a populated store (keys of four algorithms, certificates, a chain, a
# pending request, an imported key, audit rows) with one byte flipped at many offsets (the
# SQLite header, every b-tree page header, sealed private keys, certificates, spread over the
# rest) and the file truncated at many offsets: at least 500 variants. On each, list, show,
# export (PEM key) and check run. Every command must either work with the correct data (an
# exported key has the original public key, judged by openssl; list/show print what the intact
# store prints) or fail with a documented exit code and a specific error (never "internal", never
# a raw SQLite error, never a signal). Data that differs from the original is only acceptable
# when check reports the damage. Prints how many variants ended in each outcome.
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_OUT_PASSPHRASE="export pass"
require_tool jq jq
require_tool sqlite3 sqlite3
START=$SECONDS

# --- the populated store
new_store
make_ca root
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=Test Intermediate" 2>/dev/null
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -set_serial 77 -days 3650 \
  -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n') \
  -out inter.pem 2>/dev/null
ks create www --dns www.example.test --dns example.test;  expect_rc 0 "create www"
ks create api --dns api.example.test --key rsa-2048;      expect_rc 0 "create api"
ks create edge --dns edge.example.test --key ed25519;     expect_rc 0 "create edge"
ks create mail --dns mail.example.test --key ec-p384;     expect_rc 0 "create mail"
ks create pend --dns pend.example.test;                   expect_rc 0 "create pend (stays pending)"
for n in www api edge mail; do
  sign_csr "$n.req" "$n.leaf" 90 inter
  cat "$n.leaf" inter.pem > "$n.cer"
  ks install "$n.cer" --ca-file root.pem; expect_rc 0 "install $n with its chain"
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout imp.key -out imp.pem \
  -subj "/CN=imp.example.test" -days 90 2>/dev/null
cat imp.key imp.pem > imp.bundle
ks import imp.bundle --name imp;                          expect_rc 0 "import imp"
ks backup --all -o all.kbk --yes --kdf-cost 10;           expect_rc 0 "backup (audit rows)"
ENTRIES=(www api edge mail pend imp)
WITH_KEY=(www api edge mail imp)

# Flush the WAL into the main file: the copies are of the main file alone.
sqlite3 "$KEYSAFE_STORE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
expect_eq "$(stat -c %s "$KEYSAFE_STORE-wal" 2>/dev/null || echo 0)" "0" "WAL checkpointed"
cp "$KEYSAFE_STORE" original.db

# The reference outputs of the intact copy, and the public key of every stored key.
declare -A REF_SHOW=() REF_PUB=()
run_on() { local db=$1; shift; OUT=$(KEYSAFE_STORE="$db" "$KEYSAFE_BIN" --json "$@" 2>"$T/.stderr"); RC=$?; ERR=$(<"$T/.stderr"); }
cp original.db ref.db
# What list and show print, less days_left: it counts down with the clock (a certificate made
# with -days 90 has 90 days left only within its first second), and the variants run for
# minutes. not_after, which it is computed from, is compared.
stored_fields() { grep -v '"days_left":' <<<"$1"; }
run_on ref.db list; expect_rc 0 "list on the intact copy"; REF_LIST=$(stored_fields "$OUT")
for n in "${ENTRIES[@]}"; do
  run_on ref.db show "$n"; expect_rc 0 "show $n"; REF_SHOW[$n]=$(stored_fields "$OUT")
done
for n in "${WITH_KEY[@]}"; do
  rm -f ref.pem
  run_on ref.db export "$n" --format pem --yes -o ref.pem; expect_rc 0 "export $n from the intact copy"
  REF_PUB[$n]=$(openssl pkey -in ref.pem -passin "pass:$KEYSAFE_OUT_PASSPHRASE" -pubout 2>/dev/null)
  [ -n "${REF_PUB[$n]}" ] && ok || bad "openssl reads the exported key of $n"
done
run_on ref.db check; expect_rc 0 "check on the intact copy"
# The store's own key for each name (from the SQLite file, not from keysafe) must be the same.
for n in "${WITH_KEY[@]}"; do
  spki=$(sqlite3 original.db "SELECT hex(spki_der) FROM keys WHERE name='$n'" | xxd -r -p |
    openssl pkey -pubin -inform DER -pubout 2>/dev/null)
  expect_eq "$spki" "${REF_PUB[$n]}" "the exported key of $n is the stored public key"
done

# --- the variants: flips at chosen offsets, then truncations (written by python, one pass).
mkdir variants
python3 - original.db variants <<'EOF'
import sqlite3, sys, os
src, out = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
size = len(data)
page = int.from_bytes(data[16:18], "big") or 65536
pages = size // page
flips, seen = [], set()
def add(off):
    if 0 <= off < size and off not in seen:
        seen.add(off); flips.append(off)
for off in range(100):                     # the SQLite header
    add(off)
for p in range(pages):                     # every b-tree page header (page 1's follows the file header)
    base = p * page + (100 if p == 0 else 0)
    for d in (0, 1, 3, 5, 7, 8):
        add(base + d)
db = sqlite3.connect(src)
blobs = [r[0] for r in db.execute("SELECT sealed_private_key FROM keys WHERE sealed_private_key IS NOT NULL")]
blobs += [r[0] for r in db.execute("SELECT der FROM certificates")]
blobs += [r[0] for r in db.execute("SELECT der FROM chain_certificates")]
blobs += [r[0] for r in db.execute("SELECT wrapped_data_key FROM store_header")]
db.close()
for b in blobs:                            # sealed keys, certificates, the wrapped data key
    at = data.find(b)
    if at < 0:
        continue
    for k in range(6):
        add(at + k * (len(b) - 1) // 5)
step = max(1, size // 80)                 # spread over the rest of the file
for off in range(step // 2, size, step):
    add(off)
truncs = set([0, 1, 16, 50, 99, 100, 101, 512, size - 1, size - 100])
for p in range(1, pages):
    truncs.update([p * page, p * page - 1, p * page + page // 2])
truncs = sorted(t for t in truncs if 0 <= t < size)
n = 0
for i, off in enumerate(flips):
    v = bytearray(data)
    v[off] ^= (0xFF if i % 3 == 0 else (1 << (i % 8)))
    open(os.path.join(out, "flip-%06d.db" % off), "wb").write(v); n += 1
for t in truncs:
    open(os.path.join(out, "trunc-%06d.db" % t), "wb").write(data[:t]); n += 1
print("variants:", len(flips), "flips,", len(truncs), "truncations;", pages, "pages of", page, "bytes")
EOF
VARIANTS=(variants/*.db)
echo "corruption: ${#VARIANTS[@]} variants of a $(stat -c %s original.db)-byte store"
[ "${#VARIANTS[@]}" -ge 500 ] && ok || bad "only ${#VARIANTS[@]} variants (need 500)"

declare -A COUNT=()
count() { COUNT[$1]=$(( ${COUNT[$1]:-0} + 1 )); }
# judge CMD VARIANT ALLOWED-CODES: the command exited 0, or with an allowed code and a specific
# error object; never a signal, never the "internal" error code.
judge() {
  local what=$1 v=$2 allowed=$3 code
  if [ "$RC" -ge 128 ]; then bad "$what on $v: killed by a signal"; count crash; return 1; fi
  [ "$RC" = 0 ] && return 0
  if [ "$what" = check ] && [ "$RC" = 8 ]; then
    # check's report of damage (exit 8): a report, not an error object.
    if [ "$(printf '%s' "$OUT" | jq -r '.damaged' 2>/dev/null)" = true ]; then count "check:exit8:damage-reported"; return 0; fi
    bad "check on $v: exit 8 without a damage report"; return 1
  fi
  code=$(printf '%s' "$OUT" | jq -r '.error.code // "none"' 2>/dev/null || echo "not-json")
  case " $allowed " in
    *" $RC "*) ;;
    *) bad "$what on $v: exit $RC is not a documented outcome here ($code)"; return 1 ;;
  esac
  case "$code" in
    internal|none|not-json|"") bad "$what on $v: no specific error ($code)"; return 1 ;;
  esac
  if printf '%s' "$ERR" | grep -qiE "unexpected failure|an SQLite error"; then
    bad "$what on $v: a raw error"; return 1
  fi
  count "$what:exit$RC:$code"
  return 0
}

# KEYSAFE_CORRUPTION_EVERY=N runs every Nth variant only (the sanitizer stage, where each
# process is several times slower); the default runs all of them.
EVERY=${KEYSAFE_CORRUPTION_EVERY:-1}
idx=0
RAN=0
for v in "${VARIANTS[@]}"; do
  idx=$((idx + 1))
  if [ $((idx % EVERY)) != 0 ]; then rm -f "$v"; continue; fi
  RAN=$((RAN + 1))
  name=${ENTRIES[$((idx % ${#ENTRIES[@]}))]}
  keyname=${WITH_KEY[$((idx % ${#WITH_KEY[@]}))]}
  differs=""
  run_on "$v" check
  judge check "$v" "4 8"; check_rc=$RC
  run_on "$v" list
  if judge list "$v" "4"; then
    OUT=$(stored_fields "$OUT")
    if [ "$RC" = 0 ] && [ "$OUT" != "$REF_LIST" ]; then
      differs+=" list"; diff <(printf '%s\n' "$REF_LIST") <(printf '%s\n' "$OUT") | head -6 >&2
    fi
  fi
  run_on "$v" show "$name"
  if judge show "$v" "1 4"; then
    OUT=$(stored_fields "$OUT")
    if [ "$RC" = 0 ] && [ "$OUT" != "${REF_SHOW[$name]}" ]; then
      differs+=" show"; diff <(printf '%s\n' "${REF_SHOW[$name]}") <(printf '%s\n' "$OUT") | head -6 >&2
    fi
  fi
  rm -f export.pem
  run_on "$v" export "$keyname" --format pem --yes -o export.pem
  if judge export "$v" "1 4 5"; then
    if [ "$RC" = 0 ]; then
      pub=$(openssl pkey -in export.pem -passin "pass:$KEYSAFE_OUT_PASSPHRASE" -pubout 2>/dev/null)
      if [ "$pub" = "${REF_PUB[$keyname]}" ]; then count "export:same-key"
      else bad "export $keyname on $v: a different key was exported"; count wrong-key; fi
    fi
  fi
  if [ -n "$differs" ]; then
    # Different listing data must never pass a clean check: every listed field is covered by
    # the row checksums (schema v8) or compared with the certificate's DER.
    if [ "$check_rc" = 0 ]; then count "metadata-differs-undetected"; bad "$v:$differs differ from the intact store, yet check is clean"
    else count "differs-but-check-reports-damage"; fi
  fi
  if [ "$check_rc" = 0 ] && [ -z "$differs" ]; then count "variant:intact"; else count "variant:diagnosed"; fi
  rm -f "$v" "$v-wal" "$v-shm"
done

echo "corruption: $RAN variants run, outcomes after $((SECONDS - START)) s:"
for k in $(printf '%s\n' "${!COUNT[@]}" | sort); do printf '  %-60s %d\n' "$k" "${COUNT[$k]}"; done
[ "${COUNT[crash]:-0}" = 0 ] && ok || bad "crashes: ${COUNT[crash]}"
[ "${COUNT[wrong-key]:-0}" = 0 ] && ok || bad "wrong keys exported: ${COUNT[wrong-key]}"
finish
