#!/usr/bin/env bash
# Complete backups (payload version 2): backup --all, then restore into an empty store gives
# back what ca list, ca list --issued, ca crl, deployments and config showed, keysafe check
# passes (the restored CA, deployment and setting rows carry valid integrity MACs), the audit
# log gets exactly one "restored from" event, a new serial differs from every earlier one, and
# the next CRL number outnumbers every CRL of the lost store. Merging into a non-empty store
# says what it did with CA roles, deployments and settings; backup NAME of a CA carries its role.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
require_tool openssl openssl
export KEYSAFE_OUT_PASSPHRASE="complete backup pass" KEYSAFE_IN_PASSPHRASE="complete backup pass"

# snapshot NAME: what the store shows, in files NAME.ca, NAME.issued-*, NAME.deployments, NAME.config
snapshot() {
  ks ca list --json; printf '%s\n' "$OUT" >"$1.ca"
  ks ca list --issued corp-root --json; printf '%s\n' "$OUT" >"$1.issued-root"
  ks ca list --issued corp-issuing --json; printf '%s\n' "$OUT" >"$1.issued-issuing"
  ks deployments --json; printf '%s\n' "$OUT" >"$1.deployments"
  ks config show --json; printf '%s\n' "$OUT" >"$1.config"
  ks list --json; printf '%s\n' "$OUT" >"$1.list"
}
crl_number() { openssl crl -in "$1" -noout -crlnumber 2>/dev/null | sed 's/.*=//'; }
to_dec() { python3 -c "import sys; print(int(sys.argv[1], 16))" "$1"; }

# --- a store with two CAs, issued and revoked certificates, deployments and settings ----------
new_store
ks ca init corp-root --days 3650
expect_rc 0 "ca init root"
ks ca init corp-issuing --intermediate-of corp-root --key ec-p256 --days 1000
expect_rc 0 "ca init intermediate"
for n in www mail api; do
  ks create $n --dns $n.example.test
  ks ca sign corp-issuing --key $n -o $n.pem
  expect_rc 0 "ca sign $n"
done
ks ca revoke corp-issuing mail --reason keyCompromise
expect_rc 0 "revoke mail"
ks ca crl corp-issuing -o before.crl
expect_rc 0 "a CRL before the backup"
N_BEFORE=$(to_dec "$(crl_number before.crl)")
mkdir -p sites backups
ks deploy www --to sites/www --test-cmd true --reload-cmd true
expect_rc 0 "deploy www with test and reload commands"
ks deploy api --to sites/api --layout pem
expect_rc 0 "deploy api (pem layout)"
recovery_certificate ec
ks config set recovery-certificate rec-ec.pem
expect_rc 0 "config set recovery-certificate"
ks config set backup-dir backups
expect_rc 0 "config set backup-dir"
ks ca export corp-root -o root.pem
ks ca export corp-issuing -o issuing-chain.pem

ks backup --all -o all.kbk --kdf-cost 10 --yes
expect_rc 0 "backup --all"
expect_in "2 local CA(s)" "$OUT" "the backup says it holds the CA roles"
expect_in "2 deployment(s)" "$OUT" "and the deployments"
expect_in "2 setting(s)" "$OUT" "and the settings"
# After this backup: a restored entry counts as backed up by that file (at its time; the second
# backup below would move last_backup to its own second, so the snapshot is taken here).
snapshot before
ks backup --all -o all.json --kdf-cost 10 --yes --json
expect_eq "$(jget .authorities)" "2" "backup --json counts the CAs"
expect_eq "$(jget .issued)" "4" "and their issued records (intermediate + three leaves)"
ALL_SHA=$(sha256sum all.kbk | cut -d' ' -f1)

# The lost host publishes CRLs after the backup: a restored CA must not undercut them.
sleep 1
ks ca crl corp-issuing -o lost.crl
N_LOST=$(to_dec "$(crl_number lost.crl)")
[ "$N_LOST" -gt "$N_BEFORE" ] && ok || bad "CRL numbers rise ($N_BEFORE then $N_LOST)"
store_copy lost-store

# --- restore into an empty store reproduces it ----------------------------------------------
store_remove
new_store
ks restore all.kbk --dry-run
expect_rc 0 "restore --dry-run"
expect_in "ca-role create  corp-issuing" "$OUT" "the plan names the CA role"
expect_in "deployment create  www -> $T/sites/www" "$OUT" "the plan names the deployment"
expect_in "setting create  backup-dir" "$OUT" "the plan names the setting"
ks restore all.kbk
expect_rc 0 "restore all.kbk into an empty store"
expect_in "ca-role create  corp-root: root CA" "$OUT" "restore says it restored the root's role"
expect_in "intermediate CA under \"corp-root\"" "$OUT" "and the intermediate's parent"
snapshot after
for part in ca issued-root issued-issuing deployments config list; do
  if cmp -s before.$part after.$part; then ok; else
    bad "restore reproduces $part: $(diff before.$part after.$part | head -20)"
  fi
done
ks ca list
expect_not_in "no local CA" "$OUT" "ca list shows the CAs"
ks check
expect_rc 0 "keysafe check passes on the restored store (valid MACs)"
expect_not_in "tampered" "$OUT$ERR" "no row is reported tampered"

# exactly one audit event for the restore, naming the file, its SHA-256 and its date
ks audit --json
COUNT=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin)["entries"] if r["action"] == "restored"))')
expect_eq "$COUNT" "1" "one restored event"
DETAIL=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([r["detail"] for r in json.load(sys.stdin)["entries"] if r["action"] == "restored"][0])')
expect_in "restored from all.kbk" "$DETAIL" "the event names the backup"
expect_in "sha256 $ALL_SHA" "$DETAIL" "and its SHA-256"
expect_in "made 20" "$DETAIL" "and its date"
expect_in "CA roles: 2 create" "$DETAIL" "and what it did with CA roles"
expect_not_in '"issued"' "$OUT" "the old audit chain is not replayed"

# the CRL: every revoked serial, a number above any the lost store published
MAIL_SERIAL=$(openssl x509 -in mail.pem -noout -serial | cut -d= -f2)
ks ca crl corp-issuing -o after.crl
expect_rc 0 "ca crl after restore"
N_AFTER=$(to_dec "$(crl_number after.crl)")
[ "$N_AFTER" -gt "$N_LOST" ] && ok || bad "the CRL number after restore ($N_AFTER) outnumbers the lost store's last ($N_LOST)"
expect_in "$MAIL_SERIAL" "$(openssl crl -in after.crl -noout -text)" "the CRL still lists the revoked serial"
openssl x509 -in issuing-chain.pem -out issuing.pem
cat root.pem issuing.pem >anchors.pem
openssl verify -crl_check -CAfile anchors.pem -CRLfile after.crl mail.pem >/dev/null 2>&1; RC=$?
expect_rc 2 "openssl verify -crl_check rejects the revoked certificate"
openssl verify -crl_check -CAfile anchors.pem -CRLfile after.crl www.pem >/dev/null 2>&1; RC=$?
expect_rc 0 "and accepts a certificate that is not revoked"

# a new serial is none of the earlier ones
ks create new --dns new.example.test
ks ca sign corp-issuing --key new -o new.pem
expect_rc 0 "the restored CA signs"
NEW_SERIAL=$(openssl x509 -in new.pem -noout -serial | cut -d= -f2)
expect_not_in "$NEW_SERIAL" "$(cat before.issued-root before.issued-issuing)" "the new serial differs from every earlier one"

# restoring the same backup again changes nothing
ks restore all.kbk
expect_rc 0 "restore again"
expect_in "ca-role unchanged  corp-issuing" "$OUT" "the CA role is unchanged"
expect_in "deployment unchanged  www" "$OUT" "the deployment is unchanged"
expect_in "setting unchanged  backup-dir" "$OUT" "the setting is unchanged"

# --- merging into a store that has other things ------------------------------------------------
store_remove
new_store
ks create other --dns other.example.test
ks selfsign other
ks deploy other --to sites/www --force
expect_rc 0 "another entry deployed where the backup deploys www"
mkdir -p elsewhere
ks config set backup-dir elsewhere
ks restore all.kbk --json
expect_rc 0 "restore into a non-empty store"
expect_eq "$(jget '.deployments[] | select(.name == "www") | .action')" "skip" "the deployment to a taken target is skipped"
expect_in "already deploys \"other\"" "$(jget '.deployments[] | select(.name == "www") | .detail')" "and says why"
expect_eq "$(jget '.deployments[] | select(.name == "api") | .action')" "create" "the other deployment is restored"
expect_eq "$(jget '.settings[0].action')" "skip" "the store's own backup-dir is kept"
expect_eq "$(jget '.settings[1].action')" "create" "the recovery certificate is set"
ks deployments --json
expect_eq "$(jget '.[] | select(.target_dir | endswith("/sites/www")) | .name')" "other" "the store's deployment stays"
ks config show --json
expect_eq "$(jget .backup_dir)" "$T/elsewhere" "the store's setting stays"
ks check
expect_rc 0 "check passes after the merge"

# a CA role merged into a store that has the CA: revocations made later are added
KEYSAFE_STORE=$(store_at lost-store) ks ca revoke corp-issuing api --reason superseded
expect_rc 0 "the lost store revokes api after the backup"
KEYSAFE_STORE=$(store_at lost-store) ks backup --all -o later.kbk --kdf-cost 10 --yes
expect_rc 0 "a later backup"
store_remove
new_store
ks restore all.kbk
ks restore later.kbk
expect_rc 0 "restore the later backup over the earlier one"
expect_in "ca-role merge  corp-issuing" "$OUT" "the CA role is merged"
expect_in "1 revocation(s) to add" "$OUT" "with the new revocation"
ks ca list --issued corp-issuing --json
expect_eq "$(jget '.[] | select(.name == "api") | .revocation_reason')" "superseded" "api is revoked now"
expect_eq "$(jget '.[] | select(.name == "mail") | .revocation_reason')" "keyCompromise" "mail stays revoked"

# --- backup NAME of a CA carries its role ---------------------------------------------------
ks backup corp-root -o root.kbk --kdf-cost 10 --yes
expect_rc 0 "backup of the root CA alone"
store_remove
new_store
ks restore root.kbk
expect_rc 0 "restore the root CA alone"
ks ca list --json
expect_eq "$(jget '.[0].name')" "corp-root" "the root is a CA again"
expect_eq "$(jget '.[0].issued')" "1" "with what it issued"
ks create leaf --dns leaf.example.test
ks ca sign corp-root --key leaf -o leaf.pem
expect_rc 0 "the restored root signs"
ks check
expect_rc 0 "check passes"

# --- an old (version 1) payload still restores: the recipient backup made before v2 ----------
store_remove
new_store
ks restore "$KEYSAFE_TEST_DATA/backup/old-enveloped-cbc.p7m" --recovery-key "$KEYSAFE_TEST_DATA/backup/old-enveloped-cbc-recovery.key" --json
expect_rc 0 "a version 1 backup restores"
expect_eq "$(jget .payload_version)" "1" "read as payload version 1"
expect_eq "$(jget '.authorities | length')" "0" "with no CA roles"
finish
