# keysafe-test: postgresql-only
# keysafe-test: run-serial — three clusters (main, primary, standby) at once
# Failover (issue 15): a primary with a synchronous streaming standby (pg_basebackup -R,
# synchronous_standby_names = '*'); 20 creates through a two-host URI with
# target_session_attrs=read-write; the primary is lost (pg_ctl stop -m immediate, as a crash),
# the standby promoted; keysafe with the same URI carries on: the 20 acknowledged creates are
# all there, 20 more succeed, check and audit --verify are clean.
source "$KEYSAFE_TESTS/lib.sh"
require_tool jq jq

pg_start primary -c "synchronous_standby_names='*'" || { bad "the primary did not start"; finish; exit 1; }
pg_allow_replication primary
pg_start_standby primary standby || { bad "the standby did not start"; finish; exit 1; }
pg_wait_streaming primary && ok || bad "the standby streams from the primary"
# Only now: with a synchronous standby named, a commit on the primary waits for one to confirm.
pg_createdb primary keysafe
expect_eq "$(pg_psql primary postgres -c "SELECT sync_state FROM pg_stat_replication")" sync \
  "the standby is synchronous: a commit returns once the standby has it"
export KEYSAFE_STORE="postgresql://postgres@127.0.0.1:${PG_PORT[primary]},127.0.0.1:${PG_PORT[standby]}/keysafe?target_session_attrs=read-write"

ks init --kdf-cost 10
expect_rc 0 "init through the two-host URI"
expect_eq "$(pg_psql primary keysafe -c "SELECT count(*) FROM pg_tables WHERE tablename = 'keys'")" 1 \
  "the schema is on the primary"
ks list --store "postgresql://postgres@127.0.0.1:${PG_PORT[standby]}/keysafe"
expect_rc 0 "the standby already serves the store read-only"

acked=0
for i in $(seq 1 20); do
  ks create "before-$i" --dns "before-$i.example.test" -o "before-$i.req"
  [ "$RC" = 0 ] && acked=$((acked + 1)) || bad "create before-$i on the primary"
done
expect_eq "$acked" 20 "20 creates acknowledged before the failover"

# --- the primary is lost; the standby takes over
pg_stop primary immediate
pg_promote standby || bad "pg_ctl promote"
expect_eq "$(pg_psql standby postgres -c "SELECT pg_is_in_recovery()")" f "the standby is the primary now"

ks list --json
expect_rc 0 "list with the same URI after the failover"
expect_eq "$(jq '[.[] | select(.name | startswith("before-"))] | length' <<<"$OUT")" 20 \
  "all 20 acknowledged creates survived the loss of the primary"
acked=0
for i in $(seq 1 20); do
  ks create "after-$i" --dns "after-$i.example.test" -o "after-$i.req"
  [ "$RC" = 0 ] && acked=$((acked + 1)) || bad "create after-$i on the promoted standby"
done
expect_eq "$acked" 20 "20 more creates with the same URI"
ks list --json
expect_eq "$(jq 'length' <<<"$OUT")" 40 "40 entries: 20 before and 20 after the failover"
expect_eq "$(jq '[.[].name] | unique | length' <<<"$OUT")" 40 "no entry twice"
expect_eq "$(pg_psql standby keysafe -c "SELECT count(*) FROM keys")" 40 "the rows are on the promoted standby"
ks check
expect_rc 0 "check after the failover: every key opens, nothing damaged"
ks audit --verify
expect_rc 0 "the audit chain is intact across the failover"
finish
