#!/usr/bin/env bash
# End to end: every failure says what went wrong, why and what to do, exits with the documented
# code, and leaves the store byte-for-byte unchanged.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

# locator_hash STORE-OR-FILE: store_hash of a PostgreSQL store, the bytes of a file.
locator_hash() { if is_pg_uri "$1"; then pg_dump_hash "$1"; else hash_of "$1"; fi; }
# unchanged FILE HASH WHAT: the file (or database) still has the hash taken before the command.
unchanged() { expect_eq "$(locator_hash "$1")" "$2" "$3 leaves $(basename "$1") unchanged"; }
# expect_error RC WHAT WORD...: exit code, the three-part message, and each WORD somewhere in it.
expect_error() {
  local rc=$1 what=$2 word
  shift 2
  expect_rc "$rc" "$what"
  expect_in "keysafe: error:" "$ERR" "$what: summary line"
  for word in "$@"; do expect_in "$word" "$ERR" "$what"; done
}
expect_three_parts() {
  expect_in "  cause: " "$ERR" "$1: cause line"
  expect_in "  fix:   " "$ERR" "$1: fix line"
}
spki_of_cert() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
spki_of_req() { openssl req -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
# damaged_copy COLUMN: a copy of the store with the first byte of a store_header blob column
# flipped; prints where it is.
damaged_copy() {
  store_copy "damaged-$1"
  if on_sqlite; then
    flip_header_byte "$(store_at "damaged-$1")" "$1"
  else
    KEYSAFE_STORE=$(store_at "damaged-$1") store_sql \
      "UPDATE store_header SET $1 = set_byte($1, 0, get_byte($1, 0) # 1) WHERE id = 1" >/dev/null
  fi
  store_at "damaged-$1"
}
# flip_header_byte DB COLUMN: change the first byte of a store_header blob column (SQLite).
flip_header_byte() {
  local hex first
  hex=$(sqlite3 "$1" "SELECT hex($2) FROM store_header WHERE id = 1")
  first=$(printf '%02X' $((0x${hex:0:2} ^ 0x01)))
  sqlite3 "$1" "UPDATE store_header SET $2 = X'$first${hex:2}' WHERE id = 1"
}

new_store
ks create www --dns www.example.com --dns example.com
expect_rc 0 "create www"
make_ca
S=$KEYSAFE_STORE

# --- the seed's failure: a certificate whose key is not in the store --------------------------
# Someone made the request with openssl elsewhere (or re-created it) and the CA signed that one.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout foreign.key \
  -out foreign.req -subj /CN=www.example.com -addext subjectAltName=DNS:www.example.com 2>/dev/null
sign_csr foreign.req foreign.pem
foreign_spki=$(spki_of_cert foreign.pem)
h=$(store_hash)
ks_notty install foreign.pem
expect_error 5 "install a certificate whose key is not stored" "$foreign_spki" "request" \
  "only the public key" "restore" "keysafe --store $KEYSAFE_STORE create" "foreign.pem"
expect_three_parts "key not stored"
expect_in "\"www\"" "$ERR" "the message points at the stored key made for the same names"
stored_spki=$(jget .spki_sha256 "$("$KEYSAFE_BIN" show www --json 2>/dev/null)")
expect_in "$stored_spki" "$ERR" "the message gives the stored key's own public key hash"
unchanged "$S" "$h" "install of a certificate whose key is not stored"
ks_notty --json install foreign.pem
expect_rc 5 "install --json of a certificate whose key is not stored"
expect_eq "$(jget .error.code)" key-not-found "JSON error code"
expect_eq "$(jget .error.exit_code)" 5 "JSON error exit_code"
expect_in "no private key" "$(jget .error.summary)" "JSON error summary"
expect_in "$foreign_spki" "$(jget .error.cause)" "JSON error cause names the public key hash"
expect_in "restore" "$(jget .error.fix)" "JSON error fix"
expect_in "keysafe: error:" "$ERR" "--json still writes the message on stderr"
unchanged "$S" "$h" "install --json of a certificate whose key is not stored"
# Also as DER, and as a bundle with its CA.
openssl x509 -in foreign.pem -outform DER -out foreign.der
ks_notty install foreign.der
expect_error 5 "install a DER certificate whose key is not stored" "$foreign_spki"
cat ca.pem foreign.pem >foreign-bundle.pem
ks_notty install foreign-bundle.pem
expect_error 5 "install a bundle whose leaf key is not stored" "$foreign_spki"
expect_not_in "$(spki_of_cert ca.pem)" "$ERR" "the message is about the leaf, not the CA"
unchanged "$S" "$h" "install of foreign DER and bundle"

# --- a request given to install -----------------------------------------------------------------
ks_notty install www.req
expect_error 5 "install a request whose key is stored" "certificate request, not a certificate" \
  "\"www\"" "send the request to your CA"
unchanged "$S" "$h" "install of a stored key's request"
ks_notty install foreign.req
expect_error 5 "install a request whose key is not stored" "certificate request, not a certificate" \
  "$(spki_of_req foreign.req)" "only the public key" "keysafe --store $KEYSAFE_STORE create"
unchanged "$S" "$h" "install of a foreign request"
openssl req -in www.req -outform DER -out www-req.der
ks_notty install www-req.der
expect_error 5 "install a DER request whose key is stored" "certificate request" "\"www\""
unchanged "$S" "$h" "install of a DER request"

# --- passphrase vs damage vs not a store vs missing -------------------------------------------------
KEYSAFE_PASSPHRASE="not the passphrase" ks create other --dns other.example
expect_error 3 "wrong passphrase" "wrong passphrase" "intact"
expect_three_parts "wrong passphrase"
unchanged "$S" "$h" "a wrong passphrase"
if [ ! -e other.req ]; then ok; else bad "a wrong passphrase still wrote other.req"; fi
KEYSAFE_PASSPHRASE="not the passphrase" ks --json create other --dns other.example
expect_eq "$(jget .error.code)" wrong-passphrase "JSON code of a wrong passphrase"
expect_eq "$(jget .error.exit_code)" 3 "JSON exit_code of a wrong passphrase"

for column in checksum kdf_salt wrapped_data_key; do
  D=$(damaged_copy "$column")
  hd=$(locator_hash "$D")
  ks create other --dns other.example --store "$D"
  expect_error 4 "create on a store with a damaged header ($column)" "damaged" "backup"
  expect_not_in "wrong passphrase" "$ERR" "damaged header ($column) is not a wrong passphrase"
  unchanged "$D" "$hd" "create on a damaged header ($column)"
  # Listing reads no header field (the entries are intact): it works; check reports the header.
  ks_notty list --store "$D"
  expect_rc 0 "list on a store with a damaged header ($column) still lists"
  expect_in "www" "$OUT" "list on a damaged header ($column) shows the entry"
  ( unset KEYSAFE_PASSPHRASE; "$KEYSAFE_BIN" --json check --store "$D" \
      </dev/null >"$T/check.json" 2>/dev/null; echo $? >"$T/check.rc" )
  expect_eq "$(cat "$T/check.rc")" 8 "check without a passphrase: a damaged header ($column) is damage"
  expect_in "damaged header" "$(cat "$T/check.json")" "check names the damaged header ($column)"
  unchanged "$D" "$hd" "list and check on a damaged header ($column)"
  ks_notty install foreign.pem --store "$D"
  expect_error 4 "install into a store with a damaged header ($column)" "damaged"
  unchanged "$D" "$hd" "install into a damaged header ($column)"
done
ks --json --store "$(store_at damaged-checksum)" create other --dns other.example
expect_eq "$(jget .error.code)" store-damaged "JSON code of a damaged store"
expect_eq "$(jget .error.exit_code)" 4 "JSON exit_code of a damaged store"

# Files that are no store (PostgreSQL: a database of something else, a missing database and a
# newer schema are in pg_store.sh).
if on_sqlite; then
head -c 8192 /dev/urandom >"$T/random.db"
: >"$T/empty.db"
sqlite3 "$T/foreign.db" "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('hello');"
printf 'SQLite format 3\0%s' "$(head -c 200 /dev/zero | tr '\0' x)" >"$T/fake-sqlite.db"
mkdir "$T/dir.db"
for f in random empty foreign; do
  hf=$(hash_of "$T/$f.db")
  ks create other --dns other.example --store "$T/$f.db"
  expect_error 4 "create on a $f file" "not a keysafe store"
  expect_three_parts "$f file as store"
  expect_not_in "wrong passphrase" "$ERR" "a $f file is not a wrong passphrase"
  unchanged "$T/$f.db" "$hf" "create on a $f file"
  ks_notty list --store "$T/$f.db"
  expect_error 4 "list on a $f file" "not a keysafe store"
  unchanged "$T/$f.db" "$hf" "list on a $f file"
  ks_notty install foreign.pem --store "$T/$f.db"
  expect_rc 4 "install into a $f file"
  unchanged "$T/$f.db" "$hf" "install into a $f file"
done
expect_eq "$(sqlite3 "$T/foreign.db" 'SELECT x FROM notes')" hello "the foreign SQLite database still holds its data"
if [ -z "$(sqlite3 "$T/foreign.db" "SELECT name FROM sqlite_master WHERE name = 'keys'")" ]; then ok
else bad "keysafe created its tables in a foreign SQLite database"; fi
ks_notty list --store "$T/empty.db"
expect_in "empty" "$ERR" "an empty store file is called empty"
hf=$(hash_of "$T/fake-sqlite.db")
ks_notty list --store "$T/fake-sqlite.db"
expect_rc 4 "a file that only starts like SQLite"
unchanged "$T/fake-sqlite.db" "$hf" "list on a fake SQLite file"
ks_notty list --store "$T/dir.db"
expect_error 4 "a directory as the store" "not a keysafe store"

ks_notty list --store "$T/missing.db"
expect_error 4 "list on a missing store" "keysafe init" "$T/missing.db"
if [ ! -e "$T/missing.db" ]; then ok; else bad "list created the missing store file"; fi
ks create other --dns other.example --store "$T/missing.db"
expect_error 4 "create on a missing store" "keysafe init"
if [ ! -e "$T/missing.db" ]; then ok; else bad "create created the missing store file"; fi
ks_notty install foreign.pem --store "$T/missing.db"
expect_error 4 "install on a missing store" "keysafe init"
ks_notty --json list --store "$T/missing.db"
expect_eq "$(jget .error.code)" store-missing "JSON code of a missing store"
expect_eq "$(jget .error.exit_code)" 4 "JSON exit_code of a missing store"

cp "$S" "$T/newer.db"
sqlite3 "$T/newer.db" "PRAGMA user_version = 99"
hn=$(hash_of "$T/newer.db")
ks_notty list --store "$T/newer.db"
expect_error 4 "a store of a newer schema version" "newer" "99"
unchanged "$T/newer.db" "$hn" "list on a newer store"
ks create other --dns other.example --store "$T/newer.db"
expect_error 4 "create on a newer store" "newer"
unchanged "$T/newer.db" "$hn" "create on a newer store"
ks --json list --store "$T/newer.db"
expect_eq "$(jget .error.code)" store-newer "JSON code of a newer store"
fi

# --- files install cannot use ---------------------------------------------------------------------
sign_csr www.req www.pem
openssl x509 -in www.pem -outform DER -out www.der
head -c 3000 /dev/urandom >garbage.bin
head -n 6 www.pem >truncated.pem
head -c $(($(stat -c %s www.der) - 40)) www.der >truncated.der
: >empty.pem
mkdir a-directory
printf '\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x01' >keystore.jks
head -c 500 /dev/urandom >>keystore.jks
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out private.pem 2>/dev/null
openssl pkcs8 -topk8 -in private.pem -passout pass:secret -out private-enc.pem 2>/dev/null
printf 'hello, this is a text file\n' >text.txt
check_bad_input() { # FILE RC WHAT WORD...
  local file=$1 rc=$2 what=$3
  shift 3
  ks_notty install "$file"
  expect_error "$rc" "install $what" "$@"
  expect_three_parts "install $what"
  unchanged "$S" "$h" "install $what"
}
check_bad_input garbage.bin 1 "of random bytes" "is not a certificate"
check_bad_input text.txt 1 "of a text file" "is not a certificate"
check_bad_input truncated.pem 1 "of a truncated PEM certificate" "damaged PEM" "truncated"
check_bad_input truncated.der 1 "of a truncated DER certificate" "is not a certificate" "truncated"
check_bad_input empty.pem 1 "of an empty file" "is empty"
check_bad_input a-directory 1 "of a directory" "directory"
check_bad_input no-such-file.pem 1 "of a missing file" "cannot read" "no-such-file.pem"
check_bad_input private.pem 1 "of a private key" "private key" "no certificate"
check_bad_input private-enc.pem 1 "of an encrypted private key" "private key"
check_bad_input keystore.jks 1 "of a JKS file" "Java keystore"
ks_notty --json install garbage.bin
expect_rc 1 "install --json of random bytes"
expect_eq "$(jget .error.code)" bad-input "JSON code of bad input"
expect_eq "$(jget .error.exit_code)" 1 "JSON exit_code of bad input"
expect_in "is not a certificate" "$(jget .error.summary)" "JSON summary of bad input"
if [ -n "$(jget .error.cause)" ] && [ -n "$(jget .error.fix)" ]; then ok; else bad "JSON cause/fix empty"; fi
# The real certificate still installs after all that.
ks_notty install www.der
expect_rc 0 "the right certificate (DER) installs"
h=$(store_hash)

# Two leaves in one file, each for a stored key: refused, nothing installed.
ks create second --dns second.example
expect_rc 0 "create second"
sign_csr second.req second.pem
sign_csr www.req www-again.pem 30
cat second.pem www-again.pem >two-leaves.pem
h=$(store_hash)
check_bad_input two-leaves.pem 1 "of certificates for two stored keys" "more than one stored key" "\"www\"" "\"second\""

# --- init over an existing file -------------------------------------------------------------------
ks init --kdf-cost 10
expect_error 6 "init over an existing store" "already exists" "never overwrites"
unchanged "$S" "$h" "init over an existing store"
if on_sqlite; then
hg=$(hash_of garbage.bin)
ks init --kdf-cost 10 --store garbage.bin
expect_error 6 "init over an existing non-store file" "already exists"
unchanged garbage.bin "$hg" "init over an existing non-store file"
ln -s "$T/nowhere.db" link.db
ks init --kdf-cost 10 --store link.db
expect_rc 6 "init over a dangling symlink"
if [ ! -e "$T/nowhere.db" ]; then ok; else bad "init followed a symlink"; fi
fi
ks_notty --json init --kdf-cost 10
expect_eq "$(jget .error.code)" already-exists "JSON code of init over an existing store"
expect_eq "$(jget .error.exit_code)" 6 "JSON exit_code of init over an existing store"
COST=$(store_at cost)
for cost in 9 23 abc; do
  ks init --kdf-cost "$cost" --store "$COST"
  expect_error 2 "init --kdf-cost $cost" "kdf-cost"
  if ! KEYSAFE_STORE=$COST store_exists; then ok; else bad "init --kdf-cost $cost left a file"; fi
done

# --- create: refused and usage errors, store unchanged ----------------------------------------
# create_fails RC WHAT WORD -- ARGS...: a refused create; the entry name n1 in ARGS is replaced by
# a fresh name, so that one wrongly accepted create cannot change the outcome of the next.
CREATE_CASE=0
create_fails() {
  local rc=$1 what=$2 word=$3 before arg args=()
  shift 4
  CREATE_CASE=$((CREATE_CASE + 1))
  for arg in "$@"; do
    if [ "$arg" = n1 ]; then args+=("n$CREATE_CASE"); else args+=("$arg"); fi
  done
  before=$(store_hash)
  rm -f "$T/out.req"
  ks create "${args[@]}" -o "$T/out.req"
  expect_error "$rc" "create $what" "$word"
  unchanged "$S" "$before" "create $what"
  if [ ! -e "$T/out.req" ]; then ok; else bad "create $what wrote a request"; fi
}
create_fails 6 "with an existing name" "already in use" -- www --dns new.example
create_fails 2 "with no --dns or --ip" "at least one name" -- nameless
create_fails 2 "with --dns bad_host!" "not a valid DNS name" -- n1 --dns 'bad_host!'
create_fails 2 "with --dns -leading.example" "not a valid DNS name" -- n1 --dns=-leading.example
create_fails 2 "with --dns a..b" "not a valid DNS name" -- n1 --dns a..b.example
create_fails 2 "with --dns 'with space'" "not a valid DNS name" -- n1 --dns 'with space.example'
create_fails 2 "with --dns of a 64-char label" "not a valid DNS name" -- n1 --dns "$(printf 'a%.0s' $(seq 64)).example"
create_fails 2 "with --dns *.*.example" "not a valid DNS name" -- n1 --dns '*.*.example'
# RFC 1123 2.1 (which keysafe's DNS check cites): labels are letters, digits and hyphens, and a
# host name is never a dotted-decimal address; RFC 5280 4.2.1.6 wants that syntax in dNSName.
create_fails 2 "with --dns under_score.example" "not a valid DNS name" -- n1 --dns under_score.example
create_fails 2 "with --dns 192.0.2.1 (an address is not a DNS name)" "--ip" -- n1 --dns 192.0.2.1
create_fails 2 "with --ip 999.1.1.1" "not an IP address" -- n1 --dns ok.example --ip 999.1.1.1
create_fails 2 "with --ip example.com" "not an IP address" -- n1 --ip example.com
create_fails 2 "with --ip 2001:db8::1::2" "not an IP address" -- n1 --ip 2001:db8::1::2
create_fails 2 "with --subject O" "subject" -- n1 --dns ok.example --subject O
create_fails 2 "with --subject XX=foo" "not a known attribute" -- n1 --dns ok.example --subject XX=foo
create_fails 2 "with --subject O=" "empty value" -- n1 --dns ok.example --subject 'O='
create_fails 2 "with --subject O=x,,C=GB" "empty component" -- n1 --dns ok.example --subject 'O=x,,C=GB'
create_fails 2 "with --subject C=GBR" "not allowed" -- n1 --dns ok.example --subject 'C=GBR'
create_fails 2 "with --key dsa-1024" "not a key algorithm" -- n1 --dns ok.example --key dsa-1024
create_fails 2 "with --key rsa-1024" "not a key algorithm" -- n1 --dns ok.example --key rsa-1024
create_fails 2 "with --key EC-P256" "not a key algorithm" -- n1 --dns ok.example --key EC-P256
create_fails 2 "with the name 'bad name'" "not a valid entry name" -- 'bad name' --dns ok.example
create_fails 2 "with the name .hidden" "not a valid entry name" -- .hidden --dns ok.example
create_fails 2 "with a 65-character name" "not a valid entry name" -- "$(printf 'n%.0s' $(seq 65))" --dns ok.example
create_fails 2 "with an unknown option" "not expected" -- n1 --dns ok.example --colour blue
# An existing request file: refused before the key is made.
h=$(store_hash)
echo "precious" >taken.req
ks create taken --dns taken.example -o taken.req
expect_error 6 "create over an existing request file" "already exists" "--force"
unchanged "$S" "$h" "create over an existing request file"
expect_eq "$(cat taken.req)" precious "the existing request file is untouched"
ks create taken --dns taken.example
expect_error 6 "create over the default NAME.req" "already exists"
unchanged "$S" "$h" "create over the default NAME.req"
ks --json create www --dns new.example -o "$T/out.req"
expect_eq "$(jget .error.code)" already-exists "JSON code of create with an existing name"
expect_eq "$(jget .error.exit_code)" 6 "JSON exit_code of create with an existing name"
ks --json create n1 --dns 'bad_host!' -o "$T/out.req"
expect_eq "$(jget .error.code)" usage "JSON code of a bad --dns"
expect_eq "$(jget .error.exit_code)" 2 "JSON exit_code of a bad --dns"
# --force does replace it.
ks create taken --dns taken.example -o taken.req --force
expect_rc 0 "create --force over an existing request file"
expect_in "BEGIN CERTIFICATE REQUEST" "$(cat taken.req)" "--force wrote the request"
h=$(store_hash)

# The request cannot be written: the key is kept, and the message says how to get the request.
ks create unwritable --dns unwritable.example -o "$T/no-such-dir/unwritable.req"
expect_error 1 "create with a request path in a missing directory" "was created" \
  "keysafe --store $KEYSAFE_STORE request unwritable"
ks_notty request unwritable -o -
expect_rc 0 "the request of a key whose request file failed can be written again"
expect_in "BEGIN CERTIFICATE REQUEST" "$OUT" "request -o - after a failed write"
h=$(store_hash)

# --- names that are not there -------------------------------------------------------------------
ks_notty show nosuch
expect_error 1 "show of an unknown name" "no entry named" "keysafe --store $KEYSAFE_STORE list"
ks_notty show ww
expect_in "\"www\"" "$ERR" "show suggests a similar name"
ks_notty request nosuch -o -
expect_error 1 "request of an unknown name" "no entry named"
ks_notty --json show nosuch
expect_eq "$(jget .error.code)" not-found "JSON code of an unknown name"
unchanged "$S" "$h" "show/request of unknown names"

# --- a store locked by another writer: readers go on, writers wait, then give up (exit 4) -------
# (SQLite's write lock; PostgreSQL writers wait on row locks instead: cli.pg.pg_concurrency)
if on_sqlite; then
python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")' "$S" 13 >lock.out 2>&1 &
locker=$!
for _ in $(seq 50); do grep -q locked lock.out 2>/dev/null && break; sleep 0.1; done
ks_notty list
expect_rc 0 "list while another process holds the write lock"
ks create locked-out --dns locked.example
expect_error 4 "create while another process holds the write lock" "locked"
if [ ! -e locked-out.req ]; then ok; else bad "a locked create wrote a request"; fi
wait "$locker"
unchanged "$S" "$h" "create on a locked store"
fi

# --- a store the user cannot read (meaningless as root) --------------------------------------------
if [ "$(id -u)" != 0 ] && on_sqlite; then
  cp "$S" "$T/private.db"
  chmod 000 "$T/private.db"
  ks_notty list --store "$T/private.db"
  expect_error 4 "a store without read permission" "permission"
  chmod 600 "$T/private.db"
fi

finish
