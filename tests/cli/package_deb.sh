#!/usr/bin/env bash
# keysafe-test: no-store — the .deb package built by cpack
# `cpack -G DEB` in the build directory makes keysafe_VERSION_ARCH.deb with the stripped binary,
# the man page, the bash completion, the systemd units and the docs; its binary runs. Checked
# with dpkg-deb in a temporary directory: nothing is installed on this machine.
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1

BUILD=$(cd "$(dirname "$KEYSAFE_BIN")/.." && pwd)
[ -f "$BUILD/CMakeCache.txt" ] || skip "$KEYSAFE_BIN is not in a CMake build tree"
require_tool cpack cmake
require_tool dpkg-deb dpkg
require_tool dpkg-shlibdeps dpkg-dev
require_tool readelf binutils

cmake --build "$BUILD" --target keysafe_packaging >/dev/null 2>&1
[ -f "$BUILD/CPackConfig.cmake" ] && ok || bad "the build directory has a CPack configuration (include(CPack))"
VERSION=$("$KEYSAFE_BIN" --version | awk '{print $2}')
ARCH=$(dpkg --print-architecture)
OUT=$(cd "$BUILD" && cpack -G DEB -B "$T/pkg" 2>&1); RC=$?; ERR=""
expect_rc 0 "cpack -G DEB in the build directory"
DEB="$T/pkg/keysafe_${VERSION}_${ARCH}.deb"
[ -s "$DEB" ] && ok || bad "cpack made keysafe_${VERSION}_${ARCH}.deb: $(ls "$T/pkg")"

CONTENT=$(dpkg-deb -c "$DEB" | awk '{print $NF}')
for f in ./usr/bin/keysafe ./usr/share/man/man1/keysafe.1 \
  ./usr/share/bash-completion/completions/keysafe \
  ./usr/lib/systemd/system/keysafe-renew.service ./usr/lib/systemd/system/keysafe-renew.timer \
  ./usr/lib/systemd/system/keysafe-agent.service ./usr/lib/systemd/system/keysafe-agent.timer \
  ./usr/share/doc/keysafe/README.md ./usr/share/doc/keysafe/CA.md \
  ./usr/share/doc/keysafe/EXIT-CODES.md ./usr/share/doc/keysafe/DEPLOY.md; do
  expect_in "$f" "$CONTENT" "the package holds $f"
done
expect_eq "$(dpkg-deb -f "$DEB" Package)" "keysafe" "package name"
expect_eq "$(dpkg-deb -f "$DEB" Version)" "$VERSION" "package version"
expect_in "libssl3" "$(dpkg-deb -f "$DEB" Depends)" "it depends on OpenSSL's library"
expect_in "libsqlite3" "$(dpkg-deb -f "$DEB" Depends)" "and SQLite's"

# What `dpkg -i` would put in place, unpacked here instead.
ROOT="$T/root"
dpkg-deb -x "$DEB" "$ROOT"
OUT=$("$ROOT/usr/bin/keysafe" --version 2>&1); RC=$?
expect_rc 0 "the packaged keysafe runs"
expect_eq "$OUT" "keysafe $VERSION" "keysafe --version"
SECTIONS=$(readelf -S "$ROOT/usr/bin/keysafe")
expect_not_in ".debug_info" "$SECTIONS" "the packaged binary is stripped"
SIZE=$(stat -c %s "$ROOT/usr/bin/keysafe")
[ "$SIZE" -lt $((20 * 1024 * 1024)) ] && ok || bad "the packaged binary is small ($SIZE bytes)"
expect_in "ExecStart=/usr/bin/keysafe renew" "$(cat "$ROOT/usr/lib/systemd/system/keysafe-renew.service")" \
  "the service runs the packaged binary"
expect_in "ExecStart=/usr/bin/keysafe agent --host" "$(cat "$ROOT/usr/lib/systemd/system/keysafe-agent.service")" \
  "the agent service runs the packaged binary"

# cmake --install --strip: the same stripped binary without a package.
OUT=$(cmake --install "$BUILD" --prefix "$T/prefix" --strip 2>&1); RC=$?
expect_rc 0 "cmake --install --strip"
expect_not_in ".debug_info" "$(readelf -S "$T/prefix/bin/keysafe")" "--strip installs a stripped binary"

finish
