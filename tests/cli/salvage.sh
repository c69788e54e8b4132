# keysafe-test: sqlite-only — damages pages of the SQLite file with dd; salvage reads a damaged file
# A damaged store: check reports the damage (exit 8) and lists, entry by entry, what still
# reads; salvage copies every entry whose rows read and verify into a new store with the same
# passphrase, names the lost ones and points at keysafe restore. Damage made with dd: a page of
# one entry's certificate row overwritten, bytes inside one entry's certificate changed, and
# the file truncated. The copied keys are judged by openssl against the originals.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
require_tool sqlite3 sqlite3
export KEYSAFE_OUT_PASSPHRASE="export pass"

new_store
make_ca
# Many names per entry: each certificate row is over a kilobyte, so the certificates table and
# the entries' data span several pages (one damaged page does not hold every entry), and the
# schema pages come before the last pages of data.
NAMES=(alpha bravo charlie delta echo foxtrot golf hotel)
for n in "${NAMES[@]}"; do
  SANS=(--dns $n.example.test)
  for i in $(seq 1 40); do SANS+=(--dns "host-$i.$n.example.test"); done
  ks create $n "${SANS[@]}"; expect_rc 0 "create $n"
  sign_csr $n.req $n.pem 90
  ks install $n.pem --ca-file ca.pem; expect_rc 0 "install $n"
done
ks create pending --dns pending.example.test; expect_rc 0 "create a pending entry"
# The public key of every entry, from its original certificate or request (openssl).
declare -A PUB=()
for n in "${NAMES[@]}"; do PUB[$n]=$(openssl x509 -in $n.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1); done
PUB[pending]=$(openssl req -in pending.req -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)
sqlite3 "$KEYSAFE_STORE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
cp "$KEYSAFE_STORE" original.db
PAGE=$(sqlite3 original.db 'PRAGMA page_size')

# where_is DB HEX: the byte offset of a blob (hex) in the file, or -1.
where_is() { python3 -c 'import sys; print(open(sys.argv[1],"rb").read().find(bytes.fromhex(sys.argv[2])))' "$1" "$2"; }
cert_hex() { sqlite3 original.db "SELECT hex(c.der) FROM certificates c JOIN keys k ON k.id = c.key_id WHERE k.name = '$1'"; }
# exported_key_matches STORE NAME: the key exported from STORE carries NAME's original public key.
exported_key_matches() {
  rm -f "x-$2.key"
  KEYSAFE_STORE=$1 ks export "$2" --format pem -o "x-$2.key" --yes
  [ "$RC" = 0 ] || { bad "export $2 from $1"; return; }
  local got
  got=$(openssl pkey -in "x-$2.key" -passin "pass:$KEYSAFE_OUT_PASSPHRASE" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1)
  expect_eq "$got" "${PUB[$2]}" "$2 exported from $1 has its original key"
}

# entries_on_page DB PAGENO: the entries whose certificate DER touches that page.
entries_on_page() {
  local n off end
  for n in "${NAMES[@]}"; do
    off=$(where_is "$1" "$(cert_hex $n)")
    end=$((off + $(cert_hex $n | wc -c) / 2))
    [ "$off" -ge 0 ] && [ $((off / PAGE)) -le "$2" ] && [ $(((end - 1) / PAGE)) -ge "$2" ] && echo $n
  done
}

# --- 1. a page of bravo's certificate row overwritten with garbage (dd)
cp original.db page.db
OFF=$(where_is page.db "$(cert_hex bravo)")
[ "$OFF" -gt 0 ] && ok || bad "bravo's certificate found in the file"
PAGENO=$((OFF / PAGE))
LOST=$(entries_on_page page.db $PAGENO | tr '\n' ' ')
expect_in "bravo" "$LOST" "bravo's certificate is on the damaged page"
head -c "$PAGE" /dev/urandom | dd of=page.db bs="$PAGE" seek="$PAGENO" count=1 conv=notrunc 2>/dev/null
BEFORE=$(hash_of page.db)
KEYSAFE_STORE=page.db ks check
expect_rc 8 "check on a store with a damaged page: exit 8 (its documented code)"
expect_in "DAMAGE FOUND" "$OUT" "check says so"
expect_in "DAMAGED   bravo" "$OUT" "check names the damaged entry"
for n in "${NAMES[@]}" pending; do
  case " $LOST " in *" $n "*) continue ;; esac
  expect_in "readable  $n" "$OUT" "check lists $n as readable"
done
expect_in "keysafe salvage" "$OUT" "check points at salvage"
KEYSAFE_STORE=page.db ks --json check
expect_rc 8 "check --json on the damaged page"
expect_eq "$(jget .damaged)" "true" "JSON: damaged"
expect_in "bravo" "$(jget '[.lost[].name]')" "JSON: bravo lost"
SURVIVOR=$(for n in "${NAMES[@]}"; do case " $LOST " in *" $n "*) ;; *) echo $n ;; esac; done | head -1)
[ -n "$SURVIVOR" ] && ok || bad "the damaged page holds every certificate: the test store is too small"
expect_in "\"$SURVIVOR\"" "$(jget .readable)" "JSON: $SURVIVOR readable"
KEYSAFE_STORE=page.db ks_notty check
expect_rc 8 "check without a passphrase: exit 8 too"
expect_in "NOT opened" "$OUT" "says the keys were not opened"

ks salvage page.db --to salvaged.db
expect_rc 8 "salvage with an entry lost: exit 8"
expect_in "LOST    bravo" "$OUT" "salvage names bravo as lost"
expect_in "keysafe --store salvaged.db restore" "$OUT" "salvage names keysafe restore for the rest"
expect_eq "$(hash_of page.db)" "$BEFORE" "the damaged store is not changed by check or salvage"
KEYSAFE_STORE=salvaged.db ks check
expect_rc 0 "the salvaged store checks clean"
KEYSAFE_STORE=salvaged.db ks --json list --all
[ "$RC" = 0 ] || KEYSAFE_STORE=salvaged.db ks --json list
GOT=$(jget '[.[].name] | sort | join(" ")')
EXPECTED=$(for n in "${NAMES[@]}" pending; do case " $LOST " in *" $n "*) ;; *) echo $n ;; esac; done | sort | tr '\n' ' ' | sed 's/ $//')
expect_eq "$GOT" "$EXPECTED" "the salvaged store holds exactly the readable entries"
for n in $EXPECTED; do [ "$n" = pending ] && continue; exported_key_matches salvaged.db $n; done
KEYSAFE_STORE=salvaged.db ks show pending; expect_rc 0 "the pending entry came along"
KEYSAFE_STORE=salvaged.db ks request pending -o pending2.req; expect_rc 0 "with its request"
expect_eq "$(openssl req -in pending2.req -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" "${PUB[pending]}" "the request carries its key"
# Same passphrase: a wrong one is refused, the store's own opens it (ks export above).
KEYSAFE_PASSPHRASE=wrong KEYSAFE_STORE=salvaged.db ks export $SURVIVOR --format pem -o w.key --yes
expect_rc 3 "the salvaged store keeps the passphrase"
ks salvage page.db --to salvaged.db
expect_rc 6 "salvage never writes over an existing store"

# --- 2. bytes inside charlie's certificate changed (the page stays valid SQLite)
cp original.db rows.db
OFF=$(where_is rows.db "$(cert_hex charlie)")
printf 'XXXXXXXXXXXXXXXX' | dd of=rows.db bs=1 seek=$((OFF + 200)) conv=notrunc 2>/dev/null
KEYSAFE_STORE=rows.db ks check
expect_rc 8 "check on a changed certificate row: exit 8"
expect_in "charlie" "$OUT" "names charlie"
ks salvage rows.db --to rows-salvaged.db
expect_rc 8 "salvage with charlie lost"
expect_in "LOST    charlie" "$OUT" "charlie named as lost"
for n in alpha bravo delta echo foxtrot golf hotel pending; do expect_in "copied  $n" "$OUT" "$n copied"; done
for n in alpha hotel; do exported_key_matches rows-salvaged.db $n; done

# --- 3. the file truncated: its last pages are gone
cp original.db cut.db
SIZE=$(stat -c %s cut.db)
truncate -s $((SIZE - 2 * PAGE)) cut.db
KEYSAFE_STORE=original.db ks list; expect_rc 0 "the original still lists (the copies are separate)"
KEYSAFE_STORE=cut.db ks check
expect_rc 8 "check on a truncated store: exit 8, not 4"
expect_in "DAMAGE FOUND" "$OUT" "truncated: damage reported"
expect_in "readable  " "$OUT" "truncated: what still reads is listed"
ks salvage cut.db --to cut-salvaged.db
[ "$RC" = 0 ] || [ "$RC" = 8 ] && ok || bad "salvage of a truncated store"
SALVAGED=$OUT
COPIED=$(printf '%s\n' "$SALVAGED" | sed -n 's/^copied  //p')
[ -n "$COPIED" ] && ok || bad "salvage of the truncated store copied nothing"
for n in $COPIED; do [ "$n" = pending ] || exported_key_matches cut-salvaged.db $n; done
for n in "${NAMES[@]}" pending; do
  printf '%s\n' "$COPIED" | grep -qx "$n" || expect_in "LOST    $n" "$SALVAGED" "a lost entry ($n) is named"
done

# --- errors: not a store, a header that does not read
ks salvage missing.db --to x.db; expect_rc 4 "salvage of a missing store"
finish
