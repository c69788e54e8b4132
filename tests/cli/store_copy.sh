# keysafe-test: postgresql-only
# keysafe store copy FROM TO (issue 15), both ways: a populated SQLite store (keys of four
# algorithms, a pending request, a local CA and what it issued and revoked, an imported
# certificate with its chain, a deployment, settings) copied into an empty PostgreSQL database,
# then back into a new SQLite file. Each copy: list --json, ca list, deployments and config
# identical, every key's public key identical (show --json spki_sha256), check clean, and the
# sealed keys open with the same passphrase (an exported key has the original public key,
# judged by openssl). No passphrase is needed to copy. A target that is not empty is refused
# and left as it was; nothing is created under ./postgresql:/.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
export KEYSAFE_OUT_PASSPHRASE="store copy export pass"

# --- the source: a SQLite store with a bit of everything
SRC="$T/source.db"
export KEYSAFE_STORE=$SRC
ks init --kdf-cost 10; expect_rc 0 "init the SQLite source"
make_ca
for alg in ec-p256 ec-p384 rsa-2048 ed25519; do
  ks create "site-$alg" --dns "$alg.example.test" --key "$alg" -o "site-$alg.req"
  expect_rc 0 "create site-$alg"
done
sign_csr site-ec-p256.req site-ec-p256.cer 90
ks install site-ec-p256.cer --ca-file ca.pem; expect_rc 0 "install an openssl-signed certificate"
ks ca init corp --key ec-p256 --days 3650; expect_rc 0 "ca init corp"
ks ca sign corp --key site-rsa-2048; expect_rc 0 "ca sign"
ks ca sign corp --key site-ed25519; expect_rc 0 "ca sign"
ks ca revoke corp site-ed25519 --reason superseded; expect_rc 0 "ca revoke"
ks create pending --dns pending.example.test -o pending.req; expect_rc 0 "a pending entry"
mkdir -p sites
ks deploy site-ec-p256 --to sites/www; expect_rc 0 "a deployment"
recovery_certificate ec
ks config set recovery-certificate rec-ec.pem; expect_rc 0 "a setting"

# snapshot NAME: what the store at KEYSAFE_STORE shows, one file per view.
snapshot() {
  ks list --all --json; printf '%s\n' "$OUT" >"$1.list"
  ks ca list --json; printf '%s\n' "$OUT" >"$1.ca"
  ks ca list --issued corp --json; printf '%s\n' "$OUT" >"$1.issued"
  ks deployments --json; printf '%s\n' "$OUT" >"$1.deployments"
  ks config show --json; printf '%s\n' "$OUT" >"$1.config"
  jq -r '.[] | "\(.name) \(.spki_sha256)"' "$1.list" | sort >"$1.spki"
}
# same_as A B WHAT: every view of snapshot B equals snapshot A.
same_as() {
  local part
  for part in list ca issued deployments config spki; do
    if cmp -s "$1.$part" "$2.$part"; then ok
    else bad "$3: $part differs: $(diff "$1.$part" "$2.$part" | head -10)"; fi
  done
}
# keys_open WHAT: every entry with a private key exports it with the store passphrase, and the
# exported key's public half is the one the source recorded.
keys_open() {
  local name spki got
  while read -r name spki; do
    rm -f "x-$name.pem"
    ks export "$name" --format pem -o "x-$name.pem" --yes
    expect_rc 0 "$1: export $name opens its sealed key"
    got=$(openssl pkey -in "x-$name.pem" -passin "pass:$KEYSAFE_OUT_PASSPHRASE" -pubout -outform DER 2>/dev/null |
      sha256sum | cut -d' ' -f1)
    expect_eq "$got" "$spki" "$1: $name's key has the public key the source recorded"
  done < <(jq -r '.[] | select(.state != "no-key") | "\(.name) \(.spki_sha256)"' source.list)
}
snapshot source
expect_eq "$(wc -l <source.spki)" 6 "the source has six entries"

# --- SQLite -> PostgreSQL, without a passphrase
PG=$(store_at copy)
H_EMPTY=$(KEYSAFE_STORE=$PG store_hash)
ks_notty store copy "$SRC" "$PG" --json
expect_rc 0 "store copy SQLite -> PostgreSQL, no passphrase and no terminal"
[ "$(jget . 2>/dev/null)" != "<not json>" ] && ok || bad "store copy --json prints JSON"
[ ! -e "$T/postgresql:" ] && ! ls -d "$T"/postgres* >/dev/null 2>&1 && ok || bad "a file was made for the URI"
export KEYSAFE_STORE=$PG
snapshot pg
same_as source pg "SQLite -> PostgreSQL"
ks check --json
expect_rc 0 "check on the PostgreSQL copy"
expect_in '"damaged": false' "$OUT" "the PostgreSQL copy is not damaged"
keys_open "PostgreSQL copy"
ks audit --verify
expect_rc 0 "the copied audit chain verifies"

# --- TO not empty: refused, left as it was
H=$(store_hash)
ks store copy "$SRC" "$PG"
[ "$RC" != 0 ] && ok || bad "a copy into a database that holds a store is refused"
expect_in "keysafe: error:" "$ERR" "with an error message"
expect_eq "$(store_hash)" "$H" "the non-empty target is unchanged"
OTHER=$(store_at other_tables)
KEYSAFE_STORE=$OTHER store_sql "CREATE TABLE notes (x text); INSERT INTO notes VALUES ('hello')"
H=$(KEYSAFE_STORE=$OTHER store_hash)
ks store copy "$SRC" "$OTHER"
[ "$RC" != 0 ] && ok || bad "a copy into a database that holds other tables is refused"
expect_eq "$(KEYSAFE_STORE=$OTHER store_hash)" "$H" "the other database is unchanged"
H=$(hash_of "$SRC")
ks store copy "$PG" "$SRC"
[ "$RC" != 0 ] && ok || bad "a copy onto an existing SQLite store is refused"
expect_eq "$(hash_of "$SRC")" "$H" "the existing SQLite store is unchanged"
[ "$H_EMPTY" != "$(KEYSAFE_STORE=$PG store_hash)" ] && ok || bad "the first copy changed the empty database"

# --- PostgreSQL -> SQLite (an offline copy), without a passphrase
BACK="$T/back.db"
ks_notty store copy "$PG" "$BACK"
expect_rc 0 "store copy PostgreSQL -> SQLite"
expect_eq "$(stat -c %a "$BACK" 2>/dev/null)" 600 "the SQLite copy is mode 0600"
export KEYSAFE_STORE=$BACK
snapshot back
same_as source back "PostgreSQL -> SQLite"
ks check --json
expect_rc 0 "check on the SQLite copy"
expect_in '"damaged": false' "$OUT" "the SQLite copy is not damaged"
keys_open "SQLite copy"
KEYSAFE_PASSPHRASE="not the passphrase" ks export site-ec-p256 --format pem -o wrong.pem --yes
expect_rc 3 "the copy opens with the same passphrase only"

# --- the copies are separate stores
KEYSAFE_STORE=$PG ks create only-in-pg --dns only.example.test -o only.req
expect_rc 0 "create in the PostgreSQL copy"
ks show only-in-pg
expect_rc 1 "the SQLite copy does not see it"
KEYSAFE_STORE=$SRC ks show only-in-pg
expect_rc 1 "nor does the source"

# --- --rotate-data-key: the copy re-keyed; the passphrase checked before anything is written
KEYSAFE_STORE=$SRC ks passwd --add-key-file "$T/src.key"
expect_rc 0 "a key file for the source"
KEYSAFE_PASSPHRASE="not the passphrase" ks store copy --rotate-data-key "$SRC" "$T/rekey-wrong.db"
expect_rc 3 "a wrong passphrase is refused"
[ ! -e "$T/rekey-wrong.db" ] && ok || bad "a wrong passphrase leaves no copy behind"
REKEY=$(store_at rekey)
ks store copy --rotate-data-key "$SRC" "$REKEY" --json
expect_rc 0 "store copy --rotate-data-key SQLite -> PostgreSQL"
expect_eq "$(jget .data_key_rotated)" true "--json: data_key_rotated"
expect_eq "$(jget .key_files_removed)" 1 "--json: the source's key file no longer opens the copy"
export KEYSAFE_STORE=$REKEY
snapshot rekey
same_as source rekey "the re-keyed copy"
keys_open "re-keyed copy"
ks check
expect_rc 0 "check on the re-keyed copy"
ks audit --verify
expect_rc 0 "its audit chain verifies, the rotation included"
ks audit --json
expect_in "data-key-rotated" "$OUT" "the rotation is audited"
SEALED_SRC=$(sqlite3 "$SRC" "SELECT hex(sealed_private_key) FROM keys WHERE name = 'site-ec-p256'")
SEALED_COPY=$(store_sql "SELECT upper(encode(sealed_private_key, 'hex')) FROM keys WHERE name = 'site-ec-p256'")
[ -n "$SEALED_SRC" ] && [ -n "$SEALED_COPY" ] && [ "$SEALED_SRC" != "$SEALED_COPY" ] &&
  ok || bad "the copy's sealed key differs from the source's (re-sealed)"
ks --key-file "$T/src.key" export site-ec-p256 --format pem -o keyfile.pem --yes
[ "$RC" != 0 ] && ok || bad "the source's key file does not open the re-keyed copy"
KEYSAFE_STORE=$SRC ks --key-file "$T/src.key" export site-ec-p256 --format pem -o keyfile-src.pem --yes
expect_rc 0 "it still opens the source"
finish
