# find-key: which backup holds a certificate's key, from clear headers and indexes only (no
# passphrase, no store, no decryption); restore --only; restore --dry-run without a store;
# install of a certificate whose key is missing points at the backup in backup-dir.
source "$KEYSAFE_TESTS/lib.sh"
require_tool openssl openssl
keysafe() { "$KEYSAFE_BIN" "$@"; }  # the printed commands are run as printed
export KEYSAFE_IN_PASSPHRASE="backup passphrase 42"
export KEYSAFE_OUT_PASSPHRASE="$KEYSAFE_IN_PASSPHRASE"
new_store
make_ca
recovery_certificate rsa
mkdir -p bk/2025/01 bk/2026/06/deep bk/hosts other

# Store A: twelve entries backed up many times, and "target", in one backup only (with e3, e4).
for i in $(seq 1 12); do ks create "e$i" --dns "e$i.example.test" -o "e$i.req" >/dev/null; done
ks create target --dns target.example.test -o target.req; expect_rc 0 "create target"
sign_csr target.req target.cer 90
ks install target.cer --ca-file ca.pem; expect_rc 0 "install target"
ks create target2 --dns target2.example.test -o target2.req; expect_rc 0 "create target2"
n=0
bk() {  # bk FILE ARGS...: one backup, passphrase unless ARGS has --recipient
  local out=$1; shift
  ks backup "$@" -o "$out" --yes --kdf-cost 10 2>/dev/null
  [ "$RC" = 0 ] || bad "backup $* -o $out"
  n=$((n + 1))
}
for i in $(seq 1 22); do
  e="e$(( (i % 12) + 1 ))"
  case $((i % 3)) in
    0) bk "bk/2025/01/$e-$i.kbk" "$e" ;;
    1) bk "bk/2026/06/$e-$i.p7m" "$e" --recipient rec-rsa.pem ;;
    2) bk "bk/hosts/$e-$i.kbk" "$e" "e$(( ((i + 5) % 12) + 1 ))" ;;
  esac
done
for i in $(seq 23 45); do bk "bk/2026/06/deep/e-$i.p7m" "e$(( (i % 12) + 1 ))" --recipient rec-rsa.pem; done
bk bk/2026/06/deep/multi.kbk e3 target e4
bk bk/hosts/target2.p7m target2 e5 --recipient rec-rsa.pem
expect_in "index" "$OUT" "a recipient backup says where its index is"
expect_eq "$(stat -c %a bk/hosts/target2.p7m.index.json)" "600" "index is 0600 like the backup"
expect_eq "$(jget .backup_sha256 "$(cat bk/hosts/target2.p7m.index.json)")" \
  "$(hash_of bk/hosts/target2.p7m)" "the index records the SHA-256 of its backup"

# Store B: another store, another key named "target" (same names, other keys).
STORE_A=$KEYSAFE_STORE
use_store b
new_store
ks create target --dns target.example.test -o b-target.req >/dev/null
ks create e3 --dns e3.example.test -o b-e3.req >/dev/null
bk bk/2025/01/b-all.kbk --all
bk other/b-all.kbk --all
bk other/b-all.p7m --all --recipient rec-rsa.pem
bk bk/2025/b-target.p7m target --recipient rec-rsa.pem
bk bk/hosts/b-e3.kbk e3
export KEYSAFE_STORE=$STORE_A
expect_eq "$(find bk -name '*.kbk' -o -name '*.p7m' | wc -l)" "50" "50 backups under bk"

# Hostile things in the tree: a symlink loop, a link to a backup, a FIFO, an unreadable mess.
ln -s .. bk/2026/loop
ln -s "$T/other/b-all.kbk" bk/hosts/link.kbk
mkfifo bk/hosts/fifo.kbk
printf 'KEYSAFE-BACKUP 1\n{"format": "keysafe-backup", "version": 1' >bk/hosts/truncated.kbk
head -c 300000 /dev/zero | tr '\0' 'x' >bk/hosts/big.index.json

# No store, no passphrase: found by the certificate, exactly one backup, the right entry.
NONE=$(store_at none)
KEYSAFE_PASSPHRASE= KEYSAFE_STORE=$NONE timeout 60 "$KEYSAFE_BIN" find-key target.cer --in bk >"$T/o" 2>"$T/e"; RC=$?
OUT=$(cat "$T/o"); ERR=$(cat "$T/e")
expect_rc 0 "find-key finds the certificate's key"
expect_in "bk/2026/06/deep/multi.kbk" "$OUT" "names the backup holding it"
expect_in 'entry "target"' "$OUT" "names the entry"
expect_in "keysafe restore bk/2026/06/deep/multi.kbk --only target --store $NONE" "$OUT" \
  "prints the restore command for that entry (with the store named by KEYSAFE_STORE)"
expect_not_in "b-all" "$OUT" "another store's backup of a \"target\" does not match"
expect_in "truncated.kbk" "$ERR" "a damaged header is reported"
expect_not_in "fifo" "$OUT$ERR" "a FIFO is skipped, not read"
KEYSAFE_STORE=$NONE store_exists && bad "find-key created a store" || ok
ks find-key target.cer --in bk --json
expect_rc 0 "--json"
expect_eq "$(jget '.found | length')" "1" "one backup holds it"
expect_eq "$(jget .found[0].entry)" "target" "json entry"
expect_eq "$(jget .found[0].kind)" "passphrase" "json kind"
expect_eq "$(jget .spki_sha256)" "$(openssl x509 -in target.cer -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" "the certificate's SPKI SHA-256"
# The request and the public key find it too; the other store's backups do not hold it.
ks find-key target.req --in bk; expect_rc 0 "found by the request"
openssl x509 -in target.cer -pubkey -noout >target.pub
ks find-key target.pub --in bk; expect_rc 0 "found by the public key"
# A PKCS#12 file (certificate only, made by openssl), password from a file or the variable.
openssl pkcs12 -export -nokeys -in target.cer -passout pass:p12pass -out target.p12 2>/dev/null
printf 'p12pass' >p12pass.txt; chmod 600 p12pass.txt
ks find-key target.p12 --in bk --in-passphrase-file p12pass.txt; expect_rc 0 "found by a PKCS#12 file"
expect_in "multi.kbk" "$OUT" "the same backup"
KEYSAFE_IN_PASSPHRASE=wrong ks_notty find-key target.p12 --in bk
expect_rc 3 "a wrong PKCS#12 password"
ks find-key target.cer --in other
expect_rc 1 "another store's backups do not hold it"
expect_in "no backup holds the private key" "$OUT" "says so"
ks find-key b-target.req --in other --in bk --json
expect_rc 0 "store B's key is in store B's backups"
expect_eq "$(jget '.found | length')" "4" "store B's key: its four backups"
ks find-key ca.pem --in bk; expect_rc 1 "a key in no backup"
ks find-key nowhere.pem --in bk; expect_rc 1 "a missing file"
ks find-key target.cer --in nothere; expect_rc 1 "a missing directory"
expect_in "nothere" "$ERR" "names the directory"
ks find-key target.cer; expect_rc 2 "--in is required"

# The printed command, run as printed, restores exactly that entry into a new store.
use_store c
new_store
ks find-key target.cer --in bk
cmd=$(printf '%s\n' "$OUT" | sed -n 's/^ *restore it: //p')
expect_in "--store $KEYSAFE_STORE" "$cmd" "the command names the store"
(eval "$cmd") >/dev/null 2>&1; expect_eq "$?" "0" "the printed restore command runs"
ks list --json
expect_eq "$(jget '. | length')" "1" "exactly one entry restored"
expect_eq "$(jget '.[0].name')" "target" "the target entry"
ks install target.cer --ca-file ca.pem; expect_rc 0 "its certificate is already there"

# A recipient backup found through its index (a request): the command needs the recovery key.
ks find-key target2.req --in bk
expect_rc 0 "recipient backup found through its index"
expect_in "bk/hosts/target2.p7m" "$OUT" "names the recipient backup"
cmd=$(printf '%s\n' "$OUT" | sed -n 's/^ *restore it: //p')
expect_in "--only target2 --recovery-key RECOVERY-KEY" "$cmd" "the recovery key is asked for"
(eval "${cmd/RECOVERY-KEY/rec-rsa.key}") >/dev/null 2>&1; expect_eq "$?" "0" "restore --only from the recipient backup"
ks list --json
expect_eq "$(jget '. | length')" "2" "one more entry (not e5)"

# A tampered index is reported, not trusted: the backup replaced, or the index edited.
cp bk/hosts/target2.p7m saved.p7m
cp other/b-all.p7m bk/hosts/target2.p7m
ks find-key target2.req --in bk
expect_rc 1 "an index that does not match its backup is not trusted"
expect_in "does not match its backup" "$ERR" "and it is reported"
expect_in "target2.p7m.index.json" "$ERR" "naming the index"
cp saved.p7m bk/hosts/target2.p7m
ks find-key target2.req --in bk; expect_rc 0 "the original backup matches again"
cp bk/hosts/target2.p7m.index.json saved.json
python3 - "$(openssl req -in target.req -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1)" <<'PY'
import json, sys
p = "bk/2026/06/deep/e-23.p7m.index.json"
j = json.load(open(p))
j["names"].append("target"); j["spki_sha256"].append(sys.argv[1]); j["private_key"].append(True)
j["backup_sha256"] = "0" * 64  # an index written for another file
json.dump(j, open(p, "w"))
PY
ks find-key target.req --in bk --json
expect_eq "$(jget '.found | length')" "1" "an index that does not match its backup is not a holder"
expect_in "e-23.p7m.index.json" "$(jget .problems)" "the edited index is reported"

# restore --only: an unknown name is refused before anything is asked or changed.
h=$(store_hash)
ks restore bk/2026/06/deep/multi.kbk --only nosuch
expect_rc 1 "--only with a name the backup lacks"
expect_in 'has no entry named "nosuch"' "$ERR" "says so"
expect_in '"e3", "target", "e4"' "$ERR" "names what it holds"
expect_eq "$(store_hash)" "$h" "store unchanged"
ks restore bk/2026/06/deep/multi.kbk --only e3 --only e4
expect_rc 0 "--only twice"
ks list --json
expect_eq "$(jget '. | length')" "4" "two more entries"

# restore --dry-run where there is no store yet (PostgreSQL: an empty database).
if on_sqlite; then NEW_NONE=$T/new/none.db; else NEW_NONE=$(store_at new_none); fi
KEYSAFE_STORE=$NEW_NONE ks restore bk/2026/06/deep/multi.kbk --dry-run
expect_rc 0 "dry run without a store"
expect_in "would restore" "$OUT" "says what it would do"
expect_in "create  target" "$OUT" "every entry created"
expect_in "there is none yet" "$OUT" "says there is no store"
KEYSAFE_STORE=$NEW_NONE store_exists && bad "the dry run created a store" || ok
KEYSAFE_STORE=$NEW_NONE ks restore bk/2026/06/deep/multi.kbk
expect_rc 4 "a real restore still needs a store"

# install of a certificate whose key is missing: the backup in backup-dir that holds it is
# named, with the commands that restore it and install again; they run as printed.
use_store d
new_store
mkdir -m 700 autobk
ks config set recovery-certificate rec-rsa.pem; expect_rc 0 "recovery certificate"
ks config set backup-dir autobk; expect_rc 0 "backup dir"
ks create site --dns site.example.test -o site.req; expect_rc 0 "create site (automatic backup)"
expect_eq "$(ls autobk/*.p7m.index.json | wc -l)" "1" "the automatic backup has its index"
sign_csr site.req site.cer 90
use_store e   # the host's store, made again: the key is only in the backup
new_store
ks config set recovery-certificate rec-rsa.pem; ks config set backup-dir autobk
h=$(store_hash)
ks install site.cer --ca-file ca.pem
expect_rc 5 "install of a certificate whose key is missing"
expect_eq "$(store_hash)" "$h" "store unchanged"
expect_in "autobk/site-" "$ERR" "names the backup in backup-dir"
restore_cmd=$(printf '%s\n' "$ERR" | grep -o 'keysafe restore .*')
install_cmd=$(printf '%s\n' "$ERR" | grep -o 'keysafe install .*')
expect_in "--only site --recovery-key RECOVERY-KEY --store $KEYSAFE_STORE" "$restore_cmd" "restore --only with the store"
expect_eq "$install_cmd" "keysafe install site.cer --ca-file ca.pem --store $KEYSAFE_STORE" "the install command"
(eval "${restore_cmd/RECOVERY-KEY/rec-rsa.key}") >/dev/null 2>&1; expect_eq "$?" "0" "the printed restore runs"
(eval "$install_cmd") >/dev/null 2>&1; expect_eq "$?" "0" "the printed install runs"
ks show site --json
expect_in '"state": "installed"' "$OUT" "the certificate is installed with its key"
# Without backup-dir, the error is as before.
ks config unset backup-dir
ks install target.cer --ca-file ca.pem
expect_rc 5 "without backup-dir: exit 5 as before"
expect_not_in "in the backup directory" "$ERR" "no backup named without backup-dir"

finish
