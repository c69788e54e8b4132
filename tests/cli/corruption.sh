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
require_tool python3 python3
python3 -c 'import cryptography' 2>/dev/null ||
  skip "the python3 cryptography package is missing (apt-get install python3-cryptography)"
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

# Each variant runs the four commands with their outputs kept in files; one Python pass judges
# them all afterwards (a jq, grep or openssl process per output cost most of this test's time).
# KEYSAFE_CORRUPTION_EVERY=N runs every Nth variant only (the sanitizer stage, where each
# process is several times slower); the default runs all of them.
EVERY=${KEYSAFE_CORRUPTION_EVERY:-1}
mkdir runs refs
printf '%s' "$REF_LIST" > refs/list
for n in "${ENTRIES[@]}"; do printf '%s' "${REF_SHOW[$n]}" > "refs/show.$n"; done
for n in "${WITH_KEY[@]}"; do printf '%s\n' "${REF_PUB[$n]}" > "refs/pub.$n"; done
# run_into DIR WHAT ARGS...: one command on the variant, its stdout, stderr and exit code in DIR.
run_into() {
  local dir=$1 what=$2; shift 2
  KEYSAFE_STORE="$dir/store.db" "$KEYSAFE_BIN" --json "$@" >"$dir/$what.out" 2>"$dir/$what.err"
  echo $? > "$dir/$what.rc"
}
idx=0
RAN=0
for v in "${VARIANTS[@]}"; do
  idx=$((idx + 1))
  if [ $((idx % EVERY)) != 0 ]; then rm -f "$v"; continue; fi
  RAN=$((RAN + 1))
  dir=runs/$(basename "$v" .db)
  mkdir "$dir"
  mv "$v" "$dir/store.db"
  name=${ENTRIES[$((idx % ${#ENTRIES[@]}))]}
  keyname=${WITH_KEY[$((idx % ${#WITH_KEY[@]}))]}
  printf '%s %s\n' "$name" "$keyname" > "$dir/names"
  run_into "$dir" check check
  run_into "$dir" list list
  run_into "$dir" show show "$name"
  run_into "$dir" export export "$keyname" --format pem --yes -o "$dir/export.pem"
  rm -f "$dir/store.db" "$dir/store.db-wal" "$dir/store.db-shm"
done

# The judge: for each command, exit 0, or an allowed code with a specific error object; never a
# signal, never the "internal" code, never a raw error. Output that differs from the intact store
# is only acceptable when check reports damage. Prints one "ok", "bad: WHY" or "count: KEY" line
# per finding.
judge_all() {
  python3 - runs refs <<'PY'
import difflib, json, os, sys
from cryptography.hazmat.primitives import serialization
runs, refs = sys.argv[1], sys.argv[2]
passphrase = os.environ["KEYSAFE_OUT_PASSPHRASE"].encode()
def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")
def stored_fields(text):  # as the reference: less days_left, trailing newlines cut like $(...)
    return "\n".join(l for l in text.rstrip("\n").split("\n") if '"days_left":' not in l)
ref_list = read(os.path.join(refs, "list"))
def ref_pub(name):
    pem = read(os.path.join(refs, "pub." + name)).encode()
    return serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
def show_diff(ref, got):
    lines = list(difflib.unified_diff(ref.split("\n"), got.split("\n"), lineterm="", n=0))
    sys.stderr.write("\n".join(lines[:8]) + "\n")
ALLOWED = {"check": {4, 8}, "list": {4}, "show": {1, 4}, "export": {1, 4, 5}}
for variant in sorted(os.listdir(runs)):
    d = os.path.join(runs, variant)
    name, keyname = read(os.path.join(d, "names")).split()
    def judge(what):
        rc = int(read(os.path.join(d, what + ".rc")))
        out = read(os.path.join(d, what + ".out"))
        err = read(os.path.join(d, what + ".err"))
        if rc >= 128:
            print(f"bad: {what} on {variant}: killed by a signal ({rc})"); print("count: crash"); return rc, out, False
        if rc == 0:
            return rc, out, True
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        if what == "check" and rc == 8:
            if isinstance(doc, dict) and doc.get("damaged") is True:
                print("count: check:exit8:damage-reported"); return rc, out, True
            print(f"bad: check on {variant}: exit 8 without a damage report"); return rc, out, False
        code = "not-json" if doc is None else (((doc.get("error") or {}).get("code")) if isinstance(doc, dict) else None) or "none"
        if rc not in ALLOWED[what]:
            print(f"bad: {what} on {variant}: exit {rc} is not a documented outcome here ({code}): {out[:300]!r} {err[:300]!r}"); return rc, out, False
        if code in ("internal", "none", "not-json", ""):
            print(f"bad: {what} on {variant}: no specific error ({code}): {out[:300]!r} {err[:300]!r}"); return rc, out, False
        if "unexpected failure" in err.lower() or "an sqlite error" in err.lower():
            print(f"bad: {what} on {variant}: a raw error: {err[:300]!r}"); return rc, out, False
        print(f"count: {what}:exit{rc}:{code}")
        return rc, out, True
    differs = []
    check_rc, _, _ = judge("check")
    rc, out, judged = judge("list")
    if judged and rc == 0 and stored_fields(out) != ref_list:
        differs.append("list"); show_diff(ref_list, stored_fields(out))
    rc, out, judged = judge("show")
    ref_show = read(os.path.join(refs, "show." + name))
    if judged and rc == 0 and stored_fields(out) != ref_show:
        differs.append("show"); show_diff(ref_show, stored_fields(out))
    rc, out, judged = judge("export")
    if judged and rc == 0:
        try:
            key = serialization.load_pem_private_key(open(os.path.join(d, "export.pem"), "rb").read(), passphrase)
            pub = key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
        except Exception as e:  # an unreadable export is a wrong one
            pub = repr(e)
        if pub == ref_pub(keyname):
            print("count: export:same-key")
        else:
            print(f"bad: export {keyname} on {variant}: a different key was exported"); print("count: wrong-key")
    if differs:
        # Different listing data must never pass a clean check: every listed field is covered by
        # the row checksums (schema v8) or compared with the certificate's DER.
        if check_rc == 0:
            print("count: metadata-differs-undetected")
            print(f"bad: {variant}: {' '.join(differs)} differ from the intact store, yet check is clean")
        else:
            print("count: differs-but-check-reports-damage")
    print("count: variant:intact" if check_rc == 0 and not differs else "count: variant:diagnosed")
    print("ok")
PY
}
declare -A COUNT=()
JUDGED=0
while IFS= read -r line; do
  case "$line" in
    ok) JUDGED=$((JUDGED + 1)) ;;
    "count: "*) k=${line#count: }; COUNT[$k]=$(( ${COUNT[$k]:-0} + 1 )) ;;
    "bad: "*) RC="" OUT="" ERR=""; bad "${line#bad: }" ;;
    *) RC="" OUT="" ERR=""; bad "the judge printed: $line" ;;
  esac
done < <(judge_all)
expect_eq "$JUDGED" "$RAN" "every variant run was judged"

echo "corruption: $RAN variants run, outcomes after $((SECONDS - START)) s:"
for k in $(printf '%s\n' "${!COUNT[@]}" | sort); do printf '  %-60s %d\n' "$k" "${COUNT[$k]}"; done
[ "${COUNT[crash]:-0}" = 0 ] && ok || bad "crashes: ${COUNT[crash]}"
[ "${COUNT[wrong-key]:-0}" = 0 ] && ok || bad "wrong keys exported: ${COUNT[wrong-key]}"
finish
