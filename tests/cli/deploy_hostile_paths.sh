#!/usr/bin/env bash
# deploy as root on paths another user controls: a directory owned by `nobody` with a symlink
# into a directory outside (a copy of /etc), a symlink owned by nobody, a world- or
# group-writable parent, nobody swapping a directory and a symlink in a loop while deploy runs,
# and the target directory replaced by a symlink between the write and the rollback. Each time
# nothing outside the target is written, chmodded or removed (sha-256 + mode listing before and
# after); an administrator's own symlink is still followed.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (StrictModes applies to what root writes)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "SKIP: no user nobody"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) is not installed"; exit 77; }
# The system's python for nobody (a python under /root, e.g. pyenv's, is not nobody's to run).
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: /usr/bin/python3 is not installed"; exit 77; }
as_nobody() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"; }
# Every entry under $1: path, type, mode, owner, group; then the sha-256 of every file.
listing() {
  (cd "$1" && find . -printf '%p %y %m %U %G %l\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}
chmod 755 "$T"  # nobody must reach its directories below $T (root's, 0755: trusted)

new_store
make_ca
ks create www --dns www.example.test
sign_csr www.req www.pem 90
ks install www.pem --ca-file ca.pem
expect_rc 0 "install the certificate"

# The directory an attacker would like keysafe to write into: a copy of /etc, plus the names
# deploy writes (a path-based write or rollback through a link would replace or unlink them).
mkdir outside
cp -a /etc/hostname /etc/passwd /etc/group outside/ 2>/dev/null
cp -a /etc/ssl outside/ 2>/dev/null
printf 'outside chain\n' >outside/fullchain.pem && chmod 640 outside/fullchain.pem
printf 'outside key\n' >outside/privkey.pem && chmod 600 outside/privkey.pem
BEFORE=$(listing outside)
[ "$(printf '%s\n' "$BEFORE" | wc -l)" -gt 5 ] || bad "the outside copy is too small to mean anything"
outside_unchanged() { expect_eq "$(listing outside)" "$BEFORE" "$1: nothing outside the target changed"; }

# --- a directory owned by nobody, with nobody's symlink to outside at an intermediate component
mkdir nob && chmod 755 nob && chown nobody nob
as_nobody ln -s "$T/outside" nob/link
ks deploy www --to nob/link/ssl
expect_rc 6 "a path through a directory owned by nobody is refused"
expect_in "refusing to deploy to" "$ERR" "the error says deploy was refused"
expect_in "\"$T/nob\"" "$ERR" "the error names the directory"
expect_in "belongs to nobody" "$ERR" "the error names its owner"
expect_in "mode 0755" "$ERR" "the error gives its mode in octal"
expect_in "chown root \"$T/nob\" && chmod go-w \"$T/nob\"" "$ERR" "the error gives the fix"
ks deploy www --to nob/link
expect_rc 6 "the link itself as the target is refused too"
ks deploy www --to "$T/nob/site"
expect_rc 6 "a new directory under nobody's directory is refused"
[ -e nob/site ] && bad "a directory was created under nobody's directory" || ok
outside_unchanged "nobody's directory"

# --- a symlink owned by nobody in root's directory
mkdir rootdir
ln -s "$T/outside" rootdir/link && chown -h nobody rootdir/link
ks deploy www --to rootdir/link
expect_rc 6 "a symlink owned by nobody is not followed"
expect_in "symbolic link \"$T/rootdir/link\"" "$ERR" "the error names the link"
expect_in "belongs to nobody" "$ERR" "the error names the link's owner"
expect_in "chown -h root" "$ERR" "the error gives the fix"
outside_unchanged "nobody's symlink"

# --- the administrator's own symlink is followed (to a directory that passes the rule)
mkdir real
ln -s real adminlink
ks deploy www --to adminlink
expect_rc 0 "root's symlink to root's directory is followed"
expect_in "to $T/real as nginx" "$OUT" "the resolved directory is the target"
[ -f real/privkey.pem ] && [ ! -L adminlink/privkey.pem ] && ok || bad "the files are in real/"
ln -s "$T/nob" rootlink_to_nob
ks deploy www --to rootlink_to_nob/site
expect_rc 6 "root's symlink is followed, but the directory it leads to must pass the rule too"
expect_in "\"$T/nob\" belongs to nobody" "$ERR" "the error names the resolved directory"
ks deploy www --to "$T/nob/../real"
expect_rc 6 "a path that passes through nobody's directory, even to come back, is refused"

# --- world- and group-writable parents; the sticky bit is allowed (like /tmp)
mkdir ww && chmod 777 ww
ks deploy www --to ww/site
expect_rc 6 "a world-writable parent without the sticky bit is refused"
expect_in "\"$T/ww\"" "$ERR" "the error names the world-writable directory"
expect_in "mode 0777" "$ERR" "the error gives its mode"
expect_in "writable by everyone without the sticky bit" "$ERR" "the error says why"
expect_in "chmod go-w" "$ERR" "the error gives the fix"
[ -e ww/site ] && bad "a directory was created in the world-writable one" || ok
mkdir gw && chmod 775 gw && mkdir gw/site
ks deploy www --to gw/site
expect_rc 6 "a group-writable parent is refused"
expect_in "writable by its group" "$ERR" "the error says group"
chmod 2775 gw  # setgid is not sticky
ks deploy www --to gw/site
expect_rc 6 "setgid does not make a group-writable directory safe"
mkdir ww/site && chmod 777 ww/site && chmod 755 ww
ks deploy www --to ww/site
expect_rc 6 "a world-writable target directory itself is refused"
mkdir sticky && chmod 1777 sticky && mkdir sticky/site
ks deploy www --to sticky/site
expect_rc 0 "root's directory in a sticky world-writable directory is fine"
[ -f sticky/site/privkey.pem ] && ok || bad "deployed into sticky/site"
outside_unchanged "writable parents"

# --- nobody swaps a directory and a symlink to outside while deploy runs ------------------
swap_loop() {  # DIR: nobody alternates DIR/site between its own directory and a link to outside
  rm -f "$T/swaps"
  as_nobody "$PY" - "$1" "$T/outside" "$T/stop-swapping" >"$T/swaps" <<'PY' &
import os, sys, time
d, outside, stop = sys.argv[1:]
site = os.path.join(d, "site")
end = time.time() + 60  # bounded, whatever happens to the test
swaps = 0
while time.time() < end and not os.path.exists(stop):
    try:
        os.mkdir(site)
        os.rmdir(site)
        os.symlink(outside, site)
        os.unlink(site)
        swaps += 1
    except OSError:
        pass
print(swaps)
PY
  SWAPPER=$!
  sleep 0.2
}
# Stops the loop; it must have swapped (else the test proved nothing).
stop_swapping() {
  touch "$T/stop-swapping"; wait "$SWAPPER"; rm -f "$T/stop-swapping"
  [ "$(cat "$T/swaps")" -gt "${1:-0}" ] 2>/dev/null && ok || bad "nobody's loop did not swap (swaps: $(cat "$T/swaps"))"
}

mkdir nob2 && chmod 755 nob2 && chown nobody nob2
swap_loop "$T/nob2"
refused=0
for i in $(seq 1 20); do
  ks deploy www --to nob2/site
  [ "$RC" = 6 ] && refused=$((refused + 1))
done
stop_swapping 100
expect_eq "$refused" 20 "every deploy under nobody's swapping directory is refused"
outside_unchanged "swap loop in nobody's directory"

# In a sticky directory nobody can swap only its own entries, and each is refused; a deploy
# that found the name free made root's own directory there, which nobody cannot replace.
mkdir sticky2 && chmod 1777 sticky2
swap_loop "$T/sticky2"
others=""
for i in $(seq 1 20); do
  ks deploy www --to sticky2/site
  case "$RC" in
    6) ;;
    0) [ -d sticky2/site ] && [ ! -L sticky2/site ] && [ "$(stat -c %u sticky2/site)" = 0 ] ||
         others+=" deployed-but-not-root's-directory" ;;
    1) expect_in "cannot" "$ERR" "a deploy that lost the race says what it could not do" ;;
    *) others+=" rc=$RC" ;;
  esac
done
stop_swapping
expect_eq "$others" "" "each deploy in the sticky directory was refused or wrote root's own directory"
outside_unchanged "swap loop in a sticky directory"

# --- the target replaced by a symlink between the write and the rollback --------------------
mkdir site4
ks deploy www --to site4
expect_rc 0 "a first deployment to site4"
SITE4_BEFORE=$(listing site4)
sign_csr www.req www2.pem 90
ks install www2.pem --ca-file ca.pem
ks deploy www --to site4 --test-cmd "mv '$T/site4' '$T/site4.real' && ln -s '$T/outside' '$T/site4'; exit 1"
expect_rc 1 "the test command fails after swapping the target for a symlink"
expect_in "previous files are back" "$ERR" "the rollback is reported done"
[ -L site4 ] && ok || bad "the test command replaced site4 by a symlink"
expect_eq "$(listing site4.real)" "$SITE4_BEFORE" "the rollback restored the directory keysafe wrote into"
outside_unchanged "rollback after the target became a symlink"

# The same with a target that was empty: the rollback removes the new files, not outside's.
rm site4 && mkdir site5
ks deploy www --to site5 --test-cmd "mv '$T/site5' '$T/site5.real' && ln -s '$T/outside' '$T/site5'; exit 1"
expect_rc 1 "a failing test command on a first deployment"
expect_eq "$(ls -A site5.real)" "" "the new files were removed from the directory keysafe wrote into"
outside_unchanged "removal after the target became a symlink"

finish
