#!/usr/bin/env bash
# deploy to files (every layout), refusal of foreign files, rollback on a failing test or
# reload command, deployments, status judged from the files on disk and from an unreachable
# probe address, the audit rows. The servers themselves are in tests/interop/deploy_*.sh.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

fingerprint_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f'; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
# The public key of the first certificate in a file, and of the private key in a file.
cert_pub() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
key_pub() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | sha256sum | cut -d' ' -f1; }
mode_of() { stat -c %a "$1"; }
# The Nth certificate (1-based) of a PEM file, as PEM.
nth_cert() { awk -v n="$2" '/-----BEGIN CERTIFICATE-----/{i++} i==n{print} /-----END CERTIFICATE-----/{if(i==n) exit}' "$1"; }

new_store
make_ca
# An intermediate CA, so the chain files have something in them.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key \
  -out inter.req -subj "/CN=Test Intermediate" 2>/dev/null
openssl x509 -req -in inter.req -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 \
  -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n') \
  -out inter.pem 2>/dev/null
ks create www --dns www.example.test
sign_csr www.req www1.pem 90 inter
cat www1.pem inter.pem >bundle1.pem
ks install bundle1.pem --ca-file ca.pem
expect_rc 0 "install the first certificate (with its intermediate)"
FP1=$(fingerprint_of www1.pem)

# --- usage and refusals before anything is written -------------------------------------------
mkdir -p site
ks deploy www --to site --layout iis
expect_rc 2 "an unknown layout is a usage error"
ks deploy www --to site --probe nocolon
expect_rc 2 "a probe address without a port is a usage error"
expect_in "HOST:PORT" "$ERR" "the probe error shows the expected form"
ks deploy nosuch --to site
expect_rc 1 "deploying an entry that does not exist fails"
expect_in "no entry" "$ERR" "the error names the missing entry"
touch plainfile
ks deploy www --to plainfile/sub
expect_rc 2 "a --to path through a regular file is a usage error"
expect_in "is not a directory" "$ERR" "the error says which part is not a directory"
# A directory that does not exist is created only for a deployment that goes ahead, and
# removed again when it is rolled back.
ks deploy www --to missing-dir/sub --probe nocolon
expect_rc 2 "a refused deployment to a missing directory"
[ -e missing-dir ] && bad "a refused deployment created its directory" || ok
ks deploy www --to missing-dir/sub --test-cmd false
expect_rc 1 "a failing test command on a deployment to a missing directory"
expect_in "that keysafe created were removed" "$ERR" "the error says the created directory was removed"
[ -e missing-dir ] && bad "the directories created for a failed deployment are removed" || ok
ks create pending --dns pending.example.test
ks deploy pending --to site
expect_rc 2 "an entry without a certificate cannot be deployed"
expect_in "no certificate" "$ERR" "the error says the certificate is missing"
expect_eq "$(ls -A site)" "" "nothing was written by the refused deployments"
ks_notty deploy www --to site
expect_rc 2 "deploy needs the passphrase (none given, no terminal)"

# --- nginx layout (the default) ------------------------------------------------------------
ks deploy www --to site
expect_rc 0 "deploy to an empty directory"
expect_in "fullchain.pem, privkey.pem" "$OUT" "the summary names the files"
expect_in "not probed" "$OUT" "the summary says nothing was probed"
expect_eq "$(ls site | tr '\n' ' ')" "fullchain.pem privkey.pem " "nginx layout: fullchain.pem and privkey.pem only"
expect_eq "$(mode_of site/privkey.pem)" "600" "the key is written 0600"
expect_eq "$(mode_of site/fullchain.pem)" "644" "the certificates are written 0644"
expect_eq "$(fingerprint_of site/fullchain.pem)" "$FP1" "fullchain.pem starts with the leaf"
expect_eq "$(nth_cert site/fullchain.pem 2 | openssl x509 -noout -subject)" "subject=CN = Test Intermediate" "then the intermediate"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' site/fullchain.pem)" "2" "the self-signed root is not in fullchain.pem"
expect_eq "$(key_pub site/privkey.pem)" "$(cert_pub site/fullchain.pem)" "privkey.pem is the certificate's key"
expect_in "BEGIN PRIVATE KEY" "$(head -1 site/privkey.pem)" "the key is PKCS#8 PEM"
openssl verify -CAfile ca.pem -untrusted site/fullchain.pem site/fullchain.pem >/dev/null 2>&1
RC=$?; expect_rc 0 "openssl verifies fullchain.pem against the root"
ls -A site | grep -q keysafe- && bad "no temporary file is left behind" || ok

# Deploying again replaces its own files; a new certificate changes fullchain.pem.
sign_csr www.req www2.pem 90 inter
cat www2.pem inter.pem >bundle2.pem
ks install bundle2.pem --ca-file ca.pem
FP2=$(fingerprint_of www2.pem)
ks deploy www --to site --json
expect_rc 0 "deploy again over its own files"
expect_eq "$(jget .replaced_own_files)" "true" "JSON says its own files were replaced"
expect_eq "$(jget .previous_fingerprint_sha256)" "$FP1" "JSON names the previous certificate"
expect_eq "$(jget .fingerprint_sha256)" "$FP2" "JSON names the deployed certificate"
expect_eq "$(jget '.files | length')" "2" "JSON lists the two files"
expect_eq "$(jget .files[1].sha256)" "$(sha256sum site/privkey.pem | cut -d' ' -f1)" "JSON file hashes are those on disk"
expect_eq "$(fingerprint_of site/fullchain.pem)" "$FP2" "the new certificate is in fullchain.pem"

# --- refusal of files keysafe did not write --------------------------------------------------
mkdir -p foreign
echo "the administrator's key" >foreign/privkey.pem
H=$(hash_of foreign/privkey.pem)
ks deploy www --to foreign
expect_rc 6 "refuses to overwrite a file it did not write"
expect_in "did not write" "$ERR" "the error says keysafe did not write it"
expect_in "foreign/privkey.pem" "$ERR" "the error names the file"
expect_in "--force" "$ERR" "the fix names --force"
expect_eq "$(hash_of foreign/privkey.pem)" "$H" "the foreign file is untouched"
expect_eq "$(ls foreign)" "privkey.pem" "nothing else was written"
ks deploy www --to foreign --force
expect_rc 0 "--force replaces it"
expect_in "did not write" "$ERR" "a warning says foreign files were replaced"
expect_eq "$(key_pub foreign/privkey.pem)" "$(cert_pub foreign/fullchain.pem)" "the forced deployment is complete"
# A deployed file changed by hand is no longer keysafe's.
echo "# edited" >>site/fullchain.pem
ks deploy www --to site
expect_rc 6 "a deployed file changed since is refused"
expect_in "changed since" "$ERR" "the cause mentions a change since deploying"
ks deploy www --to site --force
expect_rc 0 "--force takes it back"
# Symlinks are never written through, even with --force.
mkdir -p linked && ln -s /etc/hostname linked/fullchain.pem
ks deploy www --to linked --force
expect_rc 6 "a symlink at a deployed path is refused even with --force"
expect_in "symbolic link" "$ERR" "the error says it is a symlink"
expect_eq "$(ls linked)" "fullchain.pem" "nothing was written beside the link"

# --- the other layouts ------------------------------------------------------------------------
mkdir -p ap hp pm
ks deploy www --to ap --layout apache
expect_rc 0 "apache layout"
expect_eq "$(ls ap | tr '\n' ' ')" "cert.pem chain.pem privkey.pem " "apache: cert.pem, chain.pem, privkey.pem"
expect_eq "$(fingerprint_of ap/cert.pem)" "$FP2" "apache cert.pem is the leaf"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' ap/cert.pem)" "1" "apache cert.pem holds the leaf only"
expect_eq "$(openssl x509 -in ap/chain.pem -noout -subject)" "subject=CN = Test Intermediate" "apache chain.pem is the intermediate"
expect_eq "$(key_pub ap/privkey.pem)" "$(cert_pub ap/cert.pem)" "apache privkey.pem matches"
ks deploy www --to hp --layout haproxy
expect_rc 0 "haproxy layout"
expect_eq "$(ls hp)" "haproxy.pem" "haproxy: one file"
expect_eq "$(mode_of hp/haproxy.pem)" "600" "the haproxy file holds the key: 0600"
expect_eq "$(fingerprint_of hp/haproxy.pem)" "$FP2" "haproxy.pem starts with the leaf"
expect_eq "$(grep -c 'BEGIN CERTIFICATE' hp/haproxy.pem)" "2" "haproxy.pem holds the chain"
expect_eq "$(key_pub hp/haproxy.pem)" "$(cert_pub hp/haproxy.pem)" "haproxy.pem holds the matching key"
ks deploy www --to pm --layout pem
expect_rc 0 "pem layout"
expect_eq "$(ls pm | tr '\n' ' ')" "cert.pem chain.pem fullchain.pem privkey.pem " "pem: all four files"
expect_eq "$(cat pm/cert.pem pm/chain.pem | sha256sum)" "$(sha256sum <pm/fullchain.pem)" "pem: fullchain = cert + chain"
# A directory recorded for one entry is not taken over by another without --force.
ks create other --dns other.example.test
sign_csr other.req other.pem 90
ks install other.pem --ca-file ca.pem
ks deploy other --to pm
expect_rc 6 "another entry's target is refused"
expect_in "deployment of \"www\"" "$ERR" "the error names the entry deployed there"

# --- rollback: a failing test command ----------------------------------------------------------
sign_csr www.req www3.pem 90 inter
cat www3.pem inter.pem >bundle3.pem
ks install bundle3.pem --ca-file ca.pem
FP3=$(fingerprint_of www3.pem)
HC=$(hash_of site/fullchain.pem); HK=$(hash_of site/privkey.pem)
chmod 640 site/fullchain.pem
# As root the owner and group come back too (a server reading its key by group).
[ "$(id -u)" = 0 ] && chown 4321:8765 site/privkey.pem
ks deploy www --to site --test-cmd 'echo "config test: broken on purpose" >&2; exit 3'
expect_rc 1 "a failing test command fails the deployment"
expect_in "test command failed" "$ERR" "the error says the test failed"
expect_in "previous files are back" "$ERR" "the error says the previous files are back"
expect_in "still serves them" "$ERR" "the error says the server still serves them"
expect_in "broken on purpose" "$ERR" "the command's output is shown"
expect_in "exit status 3" "$ERR" "the command's exit status is shown"
expect_eq "$(hash_of site/fullchain.pem)" "$HC" "fullchain.pem restored byte for byte"
expect_eq "$(hash_of site/privkey.pem)" "$HK" "privkey.pem restored byte for byte"
expect_eq "$(mode_of site/fullchain.pem)" "640" "the previous mode is restored too"
[ "$(id -u)" = 0 ] && expect_eq "$(stat -c %u:%g site/privkey.pem)" "4321:8765" "as root, the previous owner and group are restored too"
ks deployments --json
expect_eq "$(jget '.[] | select(.target_dir | endswith("/site")) | .fingerprint_sha256')" "$FP2" "the record still names the previous certificate"
# The failing command is not recorded either: the next deploy runs without it.
ks deploy www --to site --test-cmd 'test -s "$KEYSAFE_DEPLOY_DIR/privkey.pem" && test "$KEYSAFE_DEPLOY_LAYOUT" = nginx'
expect_rc 0 "a passing test command (it sees KEYSAFE_DEPLOY_DIR and _LAYOUT)"
expect_in "test passed" "$OUT" "the summary says the test passed"
expect_eq "$(fingerprint_of site/fullchain.pem)" "$FP3" "the new certificate is deployed"
# First deployment to an empty directory with a failing test: the new files are removed.
mkdir -p fresh
ks deploy www --to fresh --test-cmd false
expect_rc 1 "a failing test on a first deployment"
expect_in "new files were removed" "$ERR" "the error says the new files were removed"
expect_eq "$(ls -A fresh)" "" "the directory is empty again"
# A failing reload command restores too.
sign_csr www.req www4.pem 90 inter
cat www4.pem inter.pem >bundle4.pem
ks install bundle4.pem --ca-file ca.pem
HC=$(hash_of site/fullchain.pem)
ks deploy www --to site --reload-cmd 'exit 7'
expect_rc 1 "a failing reload command fails the deployment"
expect_in "reload command failed" "$ERR" "the error says the reload failed"
expect_in "previous files are back" "$ERR" "and that the previous files are back"
expect_eq "$(hash_of site/fullchain.pem)" "$HC" "fullchain.pem restored after the failed reload"
FP4=$(fingerprint_of www4.pem)

# --- deployments -----------------------------------------------------------------------------
ks_notty deployments
expect_rc 0 "deployments needs no passphrase"
expect_in "ENTRY" "$OUT" "a table with a header"
expect_in "$T/site" "$OUT" "the site directory is listed"
expect_in "haproxy" "$OUT" "the haproxy layout is listed"
ks deployments --json
expect_rc 0 "deployments --json"
expect_eq "$(jget '. | length')" "5" "five targets (site, foreign, ap, hp, pm)"
expect_eq "$(jget '.[] | select(.target_dir | endswith("/site")) | .is_current')" "false" "site is not current (www4 was never deployed)"
expect_eq "$(jget '.[] | select(.target_dir | endswith("/site")) | .current_fingerprint_sha256')" "$FP4" "the current certificate is named"
expect_eq "$(jget '.[] | select(.target_dir | endswith("/site")) | .test_cmd')" 'test -s "$KEYSAFE_DEPLOY_DIR/privkey.pem" && test "$KEYSAFE_DEPLOY_LAYOUT" = nginx' "the test command is recorded"

# --- status from files on disk ----------------------------------------------------------------
ks status www
expect_rc 12 "status: renewed but not deployed exits 12"
expect_in "renewed but not deployed" "$OUT" "status says renewed but not deployed"
ks status www --json
expect_rc 12 "status --json exits 12 too"
expect_eq "$(jget '.[0].checked')" "files" "JSON says the files were compared (no probe)"
expect_eq "$(jget '.[0].state')" "not-deployed" "JSON state not-deployed"
for d in site foreign ap hp pm; do ks deploy www --to $d >/dev/null; done
ks status www
expect_rc 0 "every target holds the newest certificate"
expect_in "no probe address; compared on disk" "$OUT" "status says it compared files"
cp www1.pem site/fullchain.pem
ks status www --json
expect_rc 12 "a target whose files hold an older certificate exits 12"
expect_eq "$(jget '.[] | select(.target_dir | endswith("/site")) | .state')" "stale" "its state is stale"
expect_in "older certificate" "$(jget '.[] | select(.target_dir | endswith("/site")) | .detail')" "the detail says an older certificate"
rm hp/haproxy.pem
ks status www
expect_rc 13 "a target whose files are gone is unreachable: 13 wins over 12"
expect_in "unreachable" "$OUT" "status says unreachable"
ks deploy www --to hp
ks deploy www --to site --force
# A probe address where nothing listens.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ks deploy www --to pm --probe 127.0.0.1:$PORT --probe-timeout 0.5
expect_rc 1 "deploy fails when the probe address does not answer"
expect_in "could not be probed" "$ERR" "the error says the probe failed"
expect_in "deployed to" "$ERR" "and that the files were deployed"
ks status www --timeout 0.5
expect_rc 13 "status: an unreachable probe address exits 13"
expect_in "127.0.0.1:$PORT is unreachable" "$OUT" "status names the unreachable address"
ks status nosuch
expect_rc 1 "status of an entry that does not exist"
ks status other
expect_rc 0 "status of an entry deployed nowhere"
expect_in "not deployed anywhere" "$OUT" "says so"

# --- a target directory that does not exist is created, with its parents, mode 0755 ----------
OLD_UMASK=$(umask); umask 077
ks deploy www --to new/parent/dir
umask "$OLD_UMASK"
expect_rc 0 "deploy to a directory that does not exist"
expect_in "created the directory $T/new (mode 0755)" "$OUT" "the output names each directory created"
expect_in "created the directory $T/new/parent/dir (mode 0755)" "$OUT" "down to the target"
for d in new new/parent new/parent/dir; do
  expect_eq "$(mode_of $d)" "755" "$d is created 0755 whatever the umask"
done
expect_eq "$(mode_of new/parent/dir/privkey.pem)" "600" "the key in it is still 0600"
expect_eq "$(fingerprint_of new/parent/dir/fullchain.pem)" "$FP4" "the files are deployed there"
ks deploy www --to new/parent/dir --json
expect_eq "$(jget '.created_directories | length')" "0" "deploying there again creates nothing"

# --- audit ---------------------------------------------------------------------------------------
ks audit --json
expect_in '"deployed"' "$OUT" "the audit log has deployed rows"
expect_in '"deploy-failed"' "$OUT" "and deploy-failed rows for the rolled-back attempts"
ks audit --verify
expect_rc 0 "the audit chain verifies"

finish
