#!/usr/bin/env bash
# keysafe-test: no-store — scripts/setup.sh run with stand-ins
# scripts/setup.sh, the README's first command, runs as written both as root without sudo (a
# container) and as a user with sudo: only apt-get is elevated, through sudo only when not root.
# Its build step prints nothing that looks like an error unless the build fails. Run on a copy
# of the script with stand-ins for apt-get, dpkg-query, sudo, id and cmake: nothing is
# installed or built.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

REPO="$T/repo"
mkdir -p "$REPO/scripts" "$T/fake" "$T/sudo" "$T/tools"
cp "$KEYSAFE_TESTS/../scripts/setup.sh" "$REPO/scripts/setup.sh"
printf '#!/usr/bin/env bash\necho "walk-through ran with $1"\n' > "$REPO/scripts/demo.sh"
CALLS="$T/calls"
# Nothing is installed; apt-get records how it was called and as which user.
printf '#!/bin/sh\nexit 1\n' > "$T/fake/dpkg-query"
printf '#!/bin/sh\necho "apt-get uid=$(id -u) $*" >> "%s"\n' "$CALLS" > "$T/fake/apt-get"
# id -u answers FAKE_UID when set (a user who is not root).
printf '#!/bin/sh\nif [ "$1" = -u ] && [ -n "${FAKE_UID:-}" ]; then echo "$FAKE_UID"; else exec /usr/bin/id "$@"; fi\n' > "$T/fake/id"
# sudo records the call and runs the command as root.
printf '#!/bin/sh\necho "sudo $*" >> "%s"\nFAKE_UID=0 exec "$@"\n' "$CALLS" > "$T/sudo/sudo"
# node and npm (the browser tests' playwright-core): node says the pinned version is not the
# one installed, npm records its call and user; npm ci must run as the invoking user.
mkdir -p "$REPO/tests/browser"
cp "$KEYSAFE_TESTS/browser/package.json" "$KEYSAFE_TESTS/browser/package-lock.json" "$REPO/tests/browser/"
printf '#!/bin/sh\ncase "$2" in *node_modules*) echo "" ;; *) echo 9.9.9 ;; esac\n' > "$T/fake/node"
printf '#!/bin/sh\necho "npm uid=$(id -u) $*" >> "%s"\n' "$CALLS" > "$T/fake/npm"
chmod +x "$T/fake/"* "$T/sudo/sudo"
# A PATH without any sudo: only the tools setup.sh needs before it elevates.
for tool in dirname grep env head; do ln -s "$(command -v $tool)" "$T/tools/$tool"; done

# --- as root: apt-get runs as is, sudo is never called (even where one is installed) --------
: > "$CALLS"
OUT=$(env -u FAKE_UID PATH="$T/fake:$T/sudo:$PATH" bash "$REPO/scripts/setup.sh" --deps-only 2>&1); RC=$?; ERR=""
if [ "$(id -u)" = 0 ]; then
  expect_rc 0 "setup.sh --deps-only as root"
  expect_in "apt-get uid=0 update" "$(cat "$CALLS")" "as root apt-get update runs"
  expect_in "apt-get uid=0 install -y -qq" "$(cat "$CALLS")" "as root apt-get install runs"
  expect_not_in "sudo" "$(cat "$CALLS")" "as root sudo is not called"
fi
: > "$CALLS"
OUT=$(FAKE_UID=0 PATH="$T/fake:$T/tools" /bin/bash "$REPO/scripts/setup.sh" --deps-only 2>&1); RC=$?
expect_rc 0 "setup.sh --deps-only as root with no sudo anywhere on PATH"
expect_not_in "sudo" "$OUT" "no 'sudo: command not found'"
expect_in "apt-get uid=0 install" "$(cat "$CALLS")" "apt-get runs without sudo"

# --- as a user with sudo: apt-get goes through sudo ------------------------------------------
: > "$CALLS"
OUT=$(FAKE_UID=1000 PATH="$T/fake:$T/sudo:$PATH" bash "$REPO/scripts/setup.sh" --deps-only 2>&1); RC=$?
expect_rc 0 "setup.sh --deps-only as a user with sudo"
expect_in "sudo apt-get update -qq" "$(cat "$CALLS")" "a user's apt-get update goes through sudo"
expect_in "sudo env DEBIAN_FRONTEND=noninteractive apt-get install" "$(cat "$CALLS")" "a user's apt-get install goes through sudo"
expect_in "apt-get uid=0 install" "$(cat "$CALLS")" "and runs as root"
expect_not_in "apt-get uid=1000" "$(cat "$CALLS")" "apt-get never runs as the user"
expect_in "npm uid=1000 ci" "$(cat "$CALLS")" "npm ci installs the browser tests' modules as the user"
expect_not_in "sudo npm" "$(cat "$CALLS")" "never through sudo"

# --- as a user without sudo: a clear message, nothing run ------------------------------------
: > "$CALLS"
OUT=$(FAKE_UID=1000 PATH="$T/fake:$T/tools" /bin/bash "$REPO/scripts/setup.sh" --deps-only 2>&1); RC=$?
expect_rc 1 "setup.sh as a user without sudo fails"
expect_in "needs root" "$OUT" "the message says installing needs root"
expect_in "run it as root" "$OUT" "and how to proceed"
expect_eq "$(cat "$CALLS")" "" "nothing was run"

# --- the build step: progress lines naming error.cpp do not look like errors ---------------
# Packages are all installed (dpkg-query says so); cmake prints what a real build prints.
printf '#!/bin/sh\necho "install ok installed"\n' > "$T/fake/dpkg-query"
cat > "$T/fake/cmake" <<'SH'
#!/bin/sh
if [ "$1" = -S ]; then mkdir -p build/cli; printf '#!/bin/sh\necho "keysafe 0.1.0"\n' > build/cli/keysafe; chmod +x build/cli/keysafe; exit 0; fi
echo "[ 10%] Building CXX object src/ossl/CMakeFiles/keysafe_ossl.dir/error.cpp.o"
echo "[ 20%] Building CXX object src/ops/CMakeFiles/keysafe_ops.dir/warning_list.cpp.o"
if [ -n "${FAIL_BUILD:-}" ]; then echo "/src/x.cpp:3:1: error: expected ';'"; echo "gmake: *** [all] Error 2"; exit 2; fi
echo "[100%] Built target keysafe"
SH
chmod +x "$T/fake/cmake"
OUT=$(PATH="$T/fake:$PATH" bash "$REPO/scripts/setup.sh" 2>&1); RC=$?
expect_rc 0 "setup.sh with a successful build"
expect_eq "$(printf '%s\n' "$OUT" | grep -Ei 'error|warning')" "" "grep error|warning finds nothing in a good build's output"
expect_in "walk-through ran with build/cli/keysafe" "$OUT" "the walk-through runs after the build"
expect_in "build/build.log" "$OUT" "the output names the build log"
OUT=$(FAIL_BUILD=1 PATH="$T/fake:$PATH" bash "$REPO/scripts/setup.sh" 2>&1); RC=$?
expect_rc 1 "setup.sh with a failing build"
expect_in "x.cpp:3:1: error: expected ';'" "$OUT" "a failing build shows the compiler's error"
expect_in "the build failed" "$OUT" "and says the build failed"
expect_not_in "walk-through ran" "$OUT" "no walk-through after a failed build"

finish
