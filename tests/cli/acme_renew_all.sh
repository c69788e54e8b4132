# keysafe renew --all --due DAYS with entries ordered by ACME (real Pebbles, tests/pebble.sh):
# only what is due is renewed — three ACME entries from a Pebble issuing 6-second certificates
# once less than a third of their validity is left, and an entry with 5 days left from an
# external CA; not an ACME entry with Pebble's usual 5 years, nor one with 3000 days — the
# ACME entries by new orders that run at once with --parallel 4 (their times overlap: the sum
# of the entries' times exceeds the run's) and one after another with --parallel 1, listed in
# the entries' order.
# keysafe-test: sqlite-only — the ordering and threading are backend-neutral; Pebble makes it one of the slower scripts
# keysafe-test: run-serial — starts Pebble and pebble-challtestsrv; runs 3 orders at once
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
source "$KEYSAFE_TESTS/pebble.sh" || exit 1

pebble_require
require_tool openssl openssl
new_store
pebble_start || { bad "pebble did not start"; finish; exit 1; }

ks acme account create long --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account at a Pebble issuing 5-year certificates"
ks acme issue long --account long --dns long.example.test --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
expect_rc 0 "acme issue long (5 years)"
PEBBLE_VALIDITY_SECONDS=6 pebble_start || { bad "the second pebble did not start"; finish; exit 1; }
ks acme account create pebble --directory "$PEBBLE_DIRECTORY" --directory-ca-file "$PEBBLE_CA" \
  --email a@example.test --agree-tos
expect_rc 0 "an account at a Pebble issuing 6-second certificates"
for n in a1 a2 a3; do
  ks acme issue "$n" --account pebble --dns "$n.example.test" --http-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  expect_rc 0 "acme issue $n"
done
make_ca
ks create far --dns far.example.test -o far.req
sign_csr far.req far.pem 3000
ks install far.pem --ca-file ca.pem
expect_rc 0 "an entry with 3000 days left"
ks create soon --dns soon.example.test -o soon.req
sign_dated soon.req soon.pem "-25 days" "+5 days"
ks install soon.pem --ca-file ca.pem
expect_rc 0 "an entry with 5 days left (external CA)"

# due_soon: waits (at most 20 s) until a1..a3 have less than a third of their 6 s left (a second
# or less: renew counts whole seconds, and 2 of 6 left is not "less than a third").
due_soon() {
  local last=0 n t
  for n in a1 a2 a3; do
    ks show "$n" --json; t=$(date -d "$(jget .not_after)" +%s)
    [ "$t" -gt "$last" ] && last=$t
  done
  for _ in $(seq 1 200); do [ "$(date +%s)" -ge $((last - 1)) ] && return 0; sleep 0.1; done
  bad "the 6-second certificates did not become due"
}
mkdir -p reqs
# names_of: the entries of the last --json run, one line; sums: "SUM TOTAL" of the ACME entries' times.
names_of() { printf '%s' "$OUT" | python3 -c 'import json,sys; print(" ".join(e["name"] for e in json.load(sys.stdin)["entries"]))'; }
overlap() { printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = sum(e["elapsed_ms"] for e in d["entries"] if e["acme"])
print("yes" if s > 1.8 * d["elapsed_ms"] else "no (sum %d ms, run %d ms)" % (s, d["elapsed_ms"]))'; }
serials() { for n in a1 a2 a3; do ks show "$n" --json; jget .serial; done | tr '\n' ' '; }
BEFORE=$(serials)
due_soon
ks renew --all --due 30 --parallel 4 --dir reqs --json
expect_rc 0 "renew --all --due 30 --parallel 4"
expect_eq "$(jget .parallel)" 4 "--json: the parallelism"
expect_eq "$(jget .renewed)" 3 "the three ACME entries are renewed"
expect_eq "$(jget .requested)" 1 "the external CA's entry is requested"
expect_eq "$(names_of)" "a1 a2 a3 soon" "only what is due, in the entries' order (not long nor far)"
expect_eq "$(jget '.entries[0].due')" days-left "why a1 was due: days left"
expect_eq "$(jget '.entries[0].acme')" true "a1 is an ACME entry"
expect_eq "$(jget '.entries[0].ari')" null "Pebble 2.4.0 offers no renewalInfo: no ARI window"
expect_in "https://127.0.0.1" "$(jget '.entries[2].renewal.acme.order_url')" "a3's order URL"
expect_eq "$(jget '.entries[3].acme')" false "soon is not an ACME entry"
expect_eq "$(overlap)" yes "with --parallel 4 the orders ran at once"
AFTER=$(serials)
for i in 1 2 3; do
  [ "$(echo "$BEFORE" | cut -d' ' -f$i)" != "$(echo "$AFTER" | cut -d' ' -f$i)" ] && ok || bad "a$i has a new certificate"
done
for n in a1 a2 a3; do
  ks show "$n" --json
  expect_eq "$(jget .acme.account)" pebble "$n keeps its ACME settings after the renewal"
done

due_soon
ks renew --all --due 30 --parallel 1 --same-key --json
expect_rc 0 "renew --all --due 30 --parallel 1 --same-key"
expect_eq "$(jget .renewed)" 3 "the ACME entries are renewed again"
expect_in "no" "$(overlap)" "with --parallel 1 the orders ran one after another"
expect_eq "$(names_of)" "a1 a2 a3 soon" "the same order"
expect_eq "$(jget '.entries[3].status')" skipped "soon's renewal is pending: skipped"

ks check
expect_rc 0 "check passes after the parallel renewals"
ks audit --verify
expect_rc 0 "the audit chain verifies"
finish
