# Four processes writing to one store at once: every write lands, none sees a raw
# "database is locked", and check finds nothing damaged.
source "$KEYSAFE_TESTS/lib.sh"
new_store
make_ca
worker() {
  local w=$1 i
  for i in $(seq 1 8); do
    "$KEYSAFE_BIN" create "w$w-k$i" --dns "w$w-k$i.example.test" -o "w$w-k$i.req" >/dev/null 2>"err-$w-$i.txt" || echo "create w$w-k$i rc=$?" >> "fail-$w.txt"
    # A serial of its own per certificate: -CAcreateserial's ca.srl would race between workers.
    openssl x509 -req -in "w$w-k$i.req" -CA ca.pem -CAkey ca.key -set_serial "$((w * 1000 + i))" \
      -days 30 -copy_extensions copyall -out "w$w-k$i.cer" 2>/dev/null
    "$KEYSAFE_BIN" install "w$w-k$i.cer" --ca-file ca.pem >/dev/null 2>>"err-$w-$i.txt" || echo "install w$w-k$i rc=$?" >> "fail-$w.txt"
  done
}
for w in 1 2 3 4; do worker $w & done
wait
failures=$(cat fail-*.txt 2>/dev/null | wc -l)
expect_eq "$failures" "0" "every create and install succeeded"
if [ "$failures" != 0 ]; then
  cat fail-*.txt >&2
  # What each failed command said: a failure must be diagnosable from the test log.
  for f in err-*.txt; do [ -s "$f" ] && { echo "== $f" >&2; cat "$f" >&2; }; done
fi
if grep -l "database is locked" err-*.txt >/dev/null 2>&1; then bad "a raw SQLite lock error escaped"; else ok; fi
ks list --json
n=$(printf '%s' "$OUT" | grep -c '"state": "installed"')
expect_eq "$n" "32" "all 32 entries installed"
ks check
expect_rc 0 "check finds nothing damaged"
ks audit --verify
expect_rc 0 "the audit chain is intact after concurrent writers"
finish
