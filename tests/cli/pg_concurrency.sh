# keysafe-test: postgresql-only
# keysafe-test: run-serial — four keysafe processes and their server backends at once
# Four keysafe processes × 50 operations at once on one PostgreSQL store (issue 15): each worker,
# ten times, creates an entry, installs its certificate (from an openssl CA), renews it (a new
# key, pending), has the store's CA sign the renewal (installed: the entry takes the new key and
# the old one becomes NAME.replaced-DATE), then backs up and deletes the replaced entry. Every
# acknowledged operation (exit 0) must be there afterwards: entries, current certificates and
# serials, backups in the audit log, deleted entries gone; serials are unique, none fails (the
# store retries serialization failures and deadlocks itself), check and audit --verify are clean.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
export KEYSAFE_OUT_PASSPHRASE="concurrency backup pass"
WORKERS=4 ROUNDS=10   # 5 operations a round: 50 a worker

new_store
ks ca init corp --key ec-p256 --days 3650; expect_rc 0 "ca init corp"
make_ca ext

# op W NAME KIND ARGS...: one keysafe operation of worker W; its outcome goes to ack-W.log
# ("KIND NAME rc=N" and, for certificates, the serial), what it said to err-W.log.
op() {
  local w=$1 name=$2 kind=$3 out rc
  shift 3
  out=$("$KEYSAFE_BIN" --json "$@" 2>>"err-$w.log"); rc=$?
  printf '%s\n' "$out" >"out-$w-$kind-$name.json"
  echo "$kind $name rc=$rc" >>"ack-$w.log"
  [ "$rc" = 0 ] || echo "== $kind $name rc=$rc" >>"err-$w.log"
  return "$rc"
}
worker() {
  local w=$1 i n replaced
  for i in $(seq 1 "$ROUNDS"); do
    n="w$w-r$i"
    op "$w" "$n" create create "$n" --dns "$n.example.test" -o "$n.req" || continue
    openssl x509 -req -in "$n.req" -CA ext.pem -CAkey ext.key -set_serial "$((w * 1000 + i))" \
      -days 30 -copy_extensions copyall -out "$n.cer" 2>/dev/null
    op "$w" "$n" install install "$n.cer" --ca-file ext.pem || continue
    op "$w" "$n" renew renew "$n" -o "$n.renewal.req" || continue
    op "$w" "$n" casign ca sign corp "$n.renewal.req" || continue
    replaced=$("$KEYSAFE_BIN" list --all --json 2>/dev/null |
      jq -r --arg p "$n.replaced-" '.[] | select(.name | startswith($p)) | .name')
    echo "$n $replaced" >>"replaced-$w.log"
    [ -n "$replaced" ] || { echo "== no replaced entry for $n" >>"err-$w.log"; continue; }
    op "$w" "$n" backup backup "$replaced" -o "$n.replaced.kbk" --yes --kdf-cost 10 || continue
    op "$w" "$n" delete delete "$replaced"
  done
}
START=$SECONDS
for w in $(seq 1 "$WORKERS"); do worker "$w" & done
wait
echo "4 workers × 50 operations: $((SECONDS - START)) s"

ACKS=$(cat ack-*.log | grep -c 'rc=0$')
FAILS=$(cat ack-*.log | grep -vc 'rc=0$')
expect_eq "$FAILS" 0 "no operation failed (none for the user to retry)"
expect_eq "$ACKS" $((WORKERS * ROUNDS * 6)) "every operation ran and was acknowledged (six commands a round)"
if [ "$FAILS" != 0 ]; then
  for f in err-*.log; do [ -s "$f" ] && { echo "== $f" >&2; head -c 3000 "$f" >&2; }; done
fi
if grep -qi "serializ\|deadlock\|could not obtain lock\|database is locked" err-*.log 2>/dev/null; then
  bad "a raw serialization, deadlock or lock error reached the user: $(grep -hi 'serializ\|deadlock\|lock' err-*.log | head -3)"
else ok; fi

# --- every acknowledged operation is there
ks list --all --json; ALL=$OUT
ks ca list --issued corp --json; ISSUED=$OUT
ks audit --json; AUDIT=$OUT
missing=0 wrong=0
for w in $(seq 1 "$WORKERS"); do
  while read -r kind n rc; do
    [ "$rc" = rc=0 ] || continue
    case $kind in
      create)
        jq -e --arg n "$n" 'any(.[]; .name == $n)' <<<"$ALL" >/dev/null || { missing=$((missing + 1)); echo "missing: created $n" >&2; } ;;
      install)
        # Its certificate was installed: the audit log says so (the renewal replaced it since).
        jq -e --arg n "$n" 'any(.entries[]; .action == "installed" and .entry == $n)' <<<"$AUDIT" >/dev/null ||
          { missing=$((missing + 1)); echo "missing: installed $n" >&2; } ;;
      casign)
        serial=$(jq -r '.certificate.serial' "out-$w-casign-$n.json")
        current=$(jq -r --arg n "$n" '.[] | select(.name == $n) | .serial' <<<"$ALL")
        issuer=$(jq -r --arg n "$n" '.[] | select(.name == $n) | .issuer' <<<"$ALL")
        [ "$current" = "$serial" ] && [ "$issuer" = "CN=corp" ] ||
          { wrong=$((wrong + 1)); echo "wrong: $n serves $current from $issuer, ca sign said $serial" >&2; }
        jq -e --arg s "$serial" 'any(.[]; .serial == $s)' <<<"$ISSUED" >/dev/null ||
          { missing=$((missing + 1)); echo "missing: serial $serial of $n in ca list --issued" >&2; } ;;
      backup)
        [ -s "$n.replaced.kbk" ] || { missing=$((missing + 1)); echo "missing: backup file of $n" >&2; } ;;
      delete)
        jq -e --arg p "$n.replaced-" 'any(.[]; .name | startswith($p))' <<<"$ALL" >/dev/null &&
          { wrong=$((wrong + 1)); echo "wrong: the deleted $n.replaced-* is back" >&2; } ;;
    esac
  done <"ack-$w.log"
done
expect_eq "$missing" 0 "every acknowledged create, install, ca sign and backup is there"
expect_eq "$wrong" 0 "every entry serves the certificate its ca sign acknowledged; deleted entries stay deleted"
expect_eq "$(jq '[.[] | select(.name | test("^w[0-9]+-r[0-9]+$"))] | length' <<<"$ALL")" $((WORKERS * ROUNDS)) \
  "exactly one entry per worker and round (no duplicate, no leftover)"
expect_eq "$(jq '[.[] | select(.name | test("\\.renewal$|\\.replaced-"))] | length' <<<"$ALL")" 0 \
  "no pending renewal or replaced entry is left"
expect_eq "$(jq '[.entries[] | select(.action == "backed-up")] | length' <<<"$AUDIT")" $((WORKERS * ROUNDS)) \
  "one backed-up event per acknowledged backup"

# --- serials: unique among the CA's certificates, and openssl's own survived too
expect_eq "$(jq 'length' <<<"$ISSUED")" $((WORKERS * ROUNDS)) "the CA issued one certificate per ca sign"
expect_eq "$(jq '[.[].serial] | unique | length' <<<"$ISSUED")" $((WORKERS * ROUNDS)) "every serial is unique"

ks check
expect_rc 0 "check: every key opens and matches, nothing damaged"
expect_not_in "DAMAGED" "$OUT" "no damaged entry"
ks audit --verify
expect_rc 0 "the audit chain is intact after four concurrent writers"
finish
