#!/usr/bin/env bash
# The commands keysafe starts (deploy's --test-cmd and --reload-cmd) get no secret: no
# passphrase or key-file variable in their environment, no descriptor of keysafe's open
# (--passphrase-fd, the store, one keysafe itself inherited), as `env; ls -l /proc/self/fd` in
# the command shows. The command fails on purpose: keysafe shows its output in the error.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

SHOW='env; ls -l /proc/self/fd; exit 1'
# check_child WHAT: $ERR (the failed command's output) has no secret and no descriptor but 0, 1,
# 2 and the one ls opened to read /proc/self/fd.
check_child() {
  expect_rc 1 "$1: the failing command fails the deployment"
  expect_in "PATH=" "$ERR" "$1: the command's env output is in the error (the check can see it)"
  expect_in "-> /dev/null" "$ERR" "$1: the command's ls output is in the error"
  for secret in "$KEYSAFE_PASSPHRASE" in-secret out-secret new-secret future-secret \
    KEYSAFE_PASSPHRASE= KEYSAFE_IN_PASSPHRASE= KEYSAFE_OUT_PASSPHRASE= KEYSAFE_NEW_PASSPHRASE= \
    KEYSAFE_KEY_FILE= KEYSAFE_PKCS11_PASSPHRASE= unlock.key; do
    expect_not_in "$secret" "$ERR" "$1: the command does not see $secret"
  done
  expect_in "KEYSAFE_DEPLOY_DIR=" "$ERR" "$1: the command still gets keysafe's deploy variables"
  expect_in "HARMLESS_VARIABLE=kept" "$ERR" "$1: and the rest of the environment"
  # "lr-x------ 1 root root 64 Dec  6 11:00 3 -> /proc/4242/fd": descriptor, target.
  local fds
  fds=$(printf '%s\n' "$ERR" | sed -n 's/.* \([0-9][0-9]*\) -> \(.*\)$/\1 \2/p' |
    grep -Ev '^[012] |^[0-9]+ /proc/[0-9]+/fd$' || true)
  expect_eq "$fds" "" "$1: no descriptor open in the command but 0, 1, 2 (and ls's own)"
  expect_in " 1 -> " "$ERR" "$1: the descriptor listing is there to check"
}

new_store
ks create www --dns www.example.test
ks selfsign www
expect_rc 0 "a certificate to deploy"
ks passwd --add-key-file unlock.key
expect_rc 0 "a key file"
printf '%s\n' "$KEYSAFE_PASSPHRASE" >pass.txt
mkdir site
export HARMLESS_VARIABLE=kept

# The passphrase from --passphrase-fd 3, also in KEYSAFE_PASSPHRASE; every other secret
# variable set, one a later version might add among them; descriptor 4 inherited by keysafe.
OUT=$(KEYSAFE_IN_PASSPHRASE=in-secret KEYSAFE_OUT_PASSPHRASE=out-secret \
  KEYSAFE_NEW_PASSPHRASE=new-secret KEYSAFE_PKCS11_PASSPHRASE=future-secret \
  "$KEYSAFE_BIN" --passphrase-fd 3 deploy www --to site --test-cmd "$SHOW" \
  3<pass.txt 4<pass.txt 2>"$T/.stderr"); RC=$?; ERR=$(<"$T/.stderr")
check_child "--test-cmd with --passphrase-fd 3 and every passphrase variable"

# The key file named in KEYSAFE_KEY_FILE (and the passphrase in the environment too).
OUT=$(KEYSAFE_KEY_FILE="$T/unlock.key" "$KEYSAFE_BIN" deploy www --to site \
  --reload-cmd "$SHOW" 2>"$T/.stderr"); RC=$?; ERR=$(<"$T/.stderr")
check_child "--reload-cmd with KEYSAFE_KEY_FILE"

finish
