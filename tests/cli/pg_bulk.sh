# keysafe-test: postgresql-only
# Bulk writes on PostgreSQL (issue 15): an import of a bundle of many certificates reads the
# store once and sends its rows in libpq pipelines (Statement::queue) instead of a round trip
# per row. The result must be what the one-row-at-a-time path gives: the same entries as the
# same import into an SQLite store (names, fingerprints, not_after, state), check and audit
# --verify clean, a second import of the bundle changes nothing. A statement that fails inside a
# pipeline (a role without INSERT on certificates) gives the same error code as outside one
# (store-permission, exit 4) and rolls back the whole import: no entry, no audit row.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq
COUNT=80   # above the bulk threshold (64)

# bundle FILE PREFIX: COUNT self-signed P-256 certificates, one PEM file.
bundle() {
  local i
  : >"$1"
  for i in $(seq 1 "$COUNT"); do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
      -subj "/CN=$2-$i.example.test" -addext "subjectAltName=DNS:$2-$i.example.test" \
      -days "$((i % 60 + 1))" 2>/dev/null >>"$1"
  done
}
bundle bulk.pem bulk
bundle more.pem more
[ "$(grep -c 'BEGIN CERTIFICATE' bulk.pem)" = "$COUNT" ] && ok || bad "the test bundle has $COUNT certificates"

new_store
ks --json import bulk.pem
expect_rc 0 "import of $COUNT certificates"
ks --json list --all
expect_eq "$(printf '%s' "$OUT" | jq length)" "$COUNT" "every certificate is an entry"
summary() { jq -S '[.[] | {name, state, not_after, fingerprint_sha256}] | sort_by(.name)'; }
printf '%s' "$OUT" | summary >pg.json

# The same import into an SQLite store: the same entries.
SQLITE_STORE="$T/same.db"
"$KEYSAFE_BIN" --store "$SQLITE_STORE" init --kdf-cost 10 >/dev/null 2>&1
"$KEYSAFE_BIN" --store "$SQLITE_STORE" import bulk.pem >/dev/null 2>&1
"$KEYSAFE_BIN" --store "$SQLITE_STORE" --json list --all | summary >sqlite.json
[ "$(jq length sqlite.json)" = "$COUNT" ] && cmp -s pg.json sqlite.json && ok ||
  bad "the PostgreSQL import differs from the SQLite one: $(diff pg.json sqlite.json | head -20)"
expect_eq "$(store_sql "SELECT count(*) FROM keys WHERE current_certificate_id IS NULL")" 0 \
  "every entry's certificate is current"
ks check
expect_rc 0 "check after the bulk import"
ks audit --verify
expect_rc 0 "audit --verify after the bulk import"

# Importing it again: every entry found, nothing written but the audit.
H=$(store_sql "SELECT count(*), sum(id) FROM certificates")
ks --json import bulk.pem
expect_rc 0 "the same bundle again"
expect_eq "$(store_sql "SELECT count(*), sum(id) FROM certificates")" "$H" "no certificate added twice"

# A failure inside the pipeline: a role that may not insert certificates.
pg_psql main store -c "CREATE ROLE limited LOGIN" \
  -c "GRANT USAGE ON SCHEMA public TO limited" \
  -c "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO limited" \
  -c "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO limited" \
  -c "REVOKE INSERT ON certificates FROM limited"
LIMITED="postgresql://limited@127.0.0.1:${PG_PORT[main]}/store"
KEYS=$(store_sql "SELECT count(*) FROM keys")
AUDIT=$(store_sql "SELECT count(*) FROM audit")
ks --store "$LIMITED" --json import more.pem
expect_rc 4 "an import whose queued inserts are refused"
expect_eq "$(jget .error.code)" store-permission "the refusal inside the pipeline is store-permission"
expect_eq "$(store_sql "SELECT count(*) FROM keys")" "$KEYS" "no entry of the refused import was kept"
expect_eq "$(store_sql "SELECT count(*) FROM audit")" "$AUDIT" "no audit row of the refused import was kept"
# One certificate (below the threshold): the same code.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=one.example.test" -days 30 2>/dev/null >one.pem
ks --store "$LIMITED" --json import one.pem
expect_rc 4 "an import of one certificate, refused"
expect_eq "$(jget .error.code)" store-permission "the same code without the pipeline"
ks import more.pem
expect_rc 0 "the owner imports it"
expect_eq "$(store_sql "SELECT count(*) FROM keys")" "$((KEYS + COUNT))" "then it is there"
ks check
expect_rc 0 "check at the end"
finish
