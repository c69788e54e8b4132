#!/usr/bin/env bash
# keysafe recover without a server (tests/interop/disaster_drill.sh has the real nginx):
# --dry-run writes nothing and creates no store; a wrong backup passphrase creates no store;
# without --yes and a terminal it refuses; --no-deploy restores and lists every target as
# skipped (exit 0); recover redeploys with the recorded layout, test and reload commands;
# a target that cannot be deployed is listed as failed with its reason, the others are still
# deployed (exit 1); --json gives the table; a recipient backup opens with --recovery-key.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl
export KEYSAFE_OUT_PASSPHRASE="recover backup pass" KEYSAFE_IN_PASSPHRASE="recover backup pass"

new_store
ks ca init corp-ca --key ec-p256
for n in www api; do
  ks create $n --dns $n.example.test
  ks ca sign corp-ca --key $n -o $n.pem
  expect_rc 0 "ca sign $n"
done
mkdir -p sites
ks deploy www --to sites/www --test-cmd "test -s \"\$KEYSAFE_DEPLOY_DIR/privkey.pem\"" --reload-cmd "echo reloaded >>$T/reloads.log"
expect_rc 0 "deploy www with test and reload commands"
ks deploy api --to sites/api --layout haproxy
expect_rc 0 "deploy api (haproxy layout)"
ks show www --json; WWW_FP=$(jget .fingerprint_sha256)
ks deployments --json; DEPLOYMENTS_BEFORE=$OUT
ks backup --all -o all.kbk --kdf-cost 10 --yes
expect_rc 0 "backup --all"
recovery_certificate rsa
ks backup --all --recipient rec-rsa.pem -o all.p7m --yes
expect_rc 0 "recipient backup --all"

store_remove
rm -rf sites reloads.log

# --- dry run: the plan, nothing written --------------------------------------------------------
ks recover all.kbk --dry-run
expect_rc 0 "recover --dry-run"
expect_in "would recover from all.kbk" "$OUT" "says what it would do"
expect_in "(would be created)" "$OUT" "names the store it would create"
expect_in "would deploy" "$OUT" "lists the targets to deploy"
expect_in "reload \`echo reloaded" "$OUT" "shows the reload command it would run"
! store_exists && ok || bad "--dry-run created no store"
[ ! -e sites ] && ok || bad "--dry-run deployed nothing"

# --- refusals: nothing created ---------------------------------------------------------------------
KEYSAFE_IN_PASSPHRASE=wrong ks recover all.kbk --yes --kdf-cost 10
expect_rc 3 "a wrong backup passphrase: exit 3"
! store_exists && ok || bad "a wrong backup passphrase created no store"
ks_notty recover all.kbk --kdf-cost 10 --yes
expect_rc 2 "no source for the new store's passphrase and no terminal: usage error (2)"
! store_exists && ok || bad "no store was created without a passphrase"
ks recover all.kbk --kdf-cost 10
expect_rc 6 "without --yes and a terminal: refused (6)"
expect_in "--yes" "$ERR" "the error says to add --yes"
! store_exists && ok || bad "a refused recover created no store"
ks recover all.p7m --yes --kdf-cost 10
expect_rc 2 "a recipient backup needs --recovery-key"

# --- --no-deploy: restore only -----------------------------------------------------------------------
ks recover all.kbk --yes --kdf-cost 10 --no-deploy --json
expect_rc 0 "recover --no-deploy: exit 0 once restored"
expect_eq "$(jget .store_created)" "true" "the store was created"
expect_eq "$(jget '.targets | length')" "2" "two targets in the table"
expect_eq "$(jget '.targets[0].result')" "skipped" "skipped with --no-deploy"
expect_eq "$(jget '.targets[0].detail')" "--no-deploy" "and says why"
[ ! -e sites ] && ok || bad "--no-deploy wrote no file"
ks deployments --json
expect_eq "$OUT" "$DEPLOYMENTS_BEFORE" "the deployments are recorded as before"

# --- recover into a new store: every target deployed ------------------------------------------------
store_remove
ks recover all.p7m --recovery-key rec-rsa.key --yes --kdf-cost 10 --json
expect_rc 0 "recover from a recipient backup"
expect_eq "$(jget '.targets[0].result')" "deployed" "api deployed"
expect_eq "$(jget '.targets[1].result')" "deployed" "www deployed"
expect_eq "$(jget '.targets[1].fingerprint_sha256')" "$WWW_FP" "with its certificate"
expect_eq "$(jget .ok)" "true" "ok"
[ -s sites/api/haproxy.pem ] && ok || bad "the haproxy layout file is back"
expect_eq "$(openssl x509 -in sites/www/fullchain.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)" "$WWW_FP" "www's fullchain.pem holds its certificate"
expect_eq "$(stat -c %a sites/www/privkey.pem)" "600" "the key file is 0600"
expect_eq "$(grep -c reloaded reloads.log)" "1" "the recorded reload command ran once"
ks check
expect_rc 0 "check passes"

# --- a target that cannot be deployed: listed, the others still deployed, exit 1 --------------------
store_remove
rm -rf sites reloads.log
mkdir -p sites/www
echo "not keysafe's" >sites/www/privkey.pem
ks recover all.kbk --yes --kdf-cost 10
expect_rc 1 "a failed target: exit 1"
expect_in "failed: refusing to overwrite files keysafe did not write" "$OUT" "the table says why www failed"
expect_in "deployed: files written (no probe" "$OUT" "api was still deployed"
expect_in "1 of 2 target(s) failed" "$ERR" "the failures are counted"
[ -s sites/api/haproxy.pem ] && ok || bad "api's file is there"
ks list --json
expect_eq "$(jget '. | length')" "3" "everything was restored all the same"

# --- into the existing store, once the foreign file is moved away ----------------------------------
rm sites/www/privkey.pem
ks recover all.kbk --yes --json
expect_rc 0 "recover again into the recovered store"
expect_eq "$(jget '.store_created')" "false" "the store existed"
expect_eq "$(jget '.restore.actions[0].action')" "unchanged" "the entries are unchanged"
finish
