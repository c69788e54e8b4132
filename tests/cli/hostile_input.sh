# Every corpus file (fuzz inputs included) through every command that reads a file: no crash
# (exit < 128), a clear error when refused, and a store left byte-for-byte as it was.
source "$KEYSAFE_TESTS/lib.sh"
export KEYSAFE_IN_PASSPHRASE="not the password"
new_store
ks create pending --dns pending.example.test
h=$(store_hash)
count=0
while IFS= read -r -d '' f; do
  for cmd in install restore "--json install"; do
    # shellcheck disable=SC2086
    ks $cmd "$f" </dev/null
    count=$((count + 1))
    if [ "$RC" -ge 128 ]; then bad "$cmd $f crashed (rc=$RC)"; fi
    if [ "$RC" != 0 ] && ! printf '%s' "$ERR" | grep -q "keysafe: error:"; then bad "$cmd $f failed without a clear error"; fi
  done
done < <(find "$CORPUS/fuzz" "$CORPUS/certs" "$CORPUS/csr" "$CORPUS/pkcs7" "$CORPUS/pkcs12" "$CORPUS/keys" -type f -print0)
# import can legitimately add entries: run it on a copy and only check it never crashes.
store_copy import
IMPORT_STORE=$(store_at import)
imports=0
while IFS= read -r -d '' f; do
  ks --store "$IMPORT_STORE" import "$f" </dev/null
  count=$((count + 1)) imports=$((imports + 1))
  if [ "$RC" -ge 128 ]; then bad "import $f crashed (rc=$RC)"; else ok; fi
  if [ "$RC" != 0 ] && ! printf '%s' "$ERR" | grep -q "keysafe: error:"; then bad "import $f failed without a clear error"; fi
done < <(find "$CORPUS/fuzz" -type f -print0)
echo "ran $count commands on hostile input"
# A corpus that went missing would make every loop above pass without running anything.
FUZZ_FILES=$(find "$CORPUS/fuzz" -type f | wc -l)
[ "$FUZZ_FILES" -ge 20 ] && ok || bad "the fuzz corpus is there ($FUZZ_FILES files in $CORPUS/fuzz)"
expect_eq "$imports" "$FUZZ_FILES" "import ran on every fuzz input"
[ "$count" -gt $((imports * 3)) ] && ok || bad "install, restore and --json install ran on every input ($count commands)"
expect_eq "$(store_hash)" "$h" "install and restore left the store byte-for-byte unchanged"
ks check --json
expect_in '"damaged": false' "$OUT" "store intact after hostile input"
finish
