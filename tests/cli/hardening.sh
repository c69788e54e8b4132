#!/usr/bin/env bash
# keysafe-test: no-store — readelf and compile flags of the binary
# The keysafe binary is hardened (cmake/Hardening.cmake): a position-independent executable
# with full RELRO, a non-executable stack, stack protector and, in optimised builds,
# _FORTIFY_SOURCE, as readelf shows; -fstack-clash-protection leaves no mark readelf can see,
# so compile_commands.json is checked for it (and for the other compile flags).
source "${KEYSAFE_TESTS:?KEYSAFE_TESTS must name the tests directory}/lib.sh" || exit 1
: "${KEYSAFE_BUILD_DIR:?KEYSAFE_BUILD_DIR must name the build tree (tests/CMakeLists.txt sets it)}"
require_tool readelf binutils
require_tool python3 python3

readelf -h "$KEYSAFE_BIN" >header.txt 2>&1
expect_in "DYN (Position-Independent Executable file)" "$(cat header.txt)" "readelf -h: a PIE (Type DYN)"
readelf -d "$KEYSAFE_BIN" >dynamic.txt 2>&1
expect_in "PIE" "$(grep FLAGS_1 dynamic.txt)" "readelf -d: FLAGS_1 has PIE"
grep -Eq '\(BIND_NOW\)|\(FLAGS\).*\bNOW\b|\(FLAGS_1\).*\bNOW\b' dynamic.txt && ok ||
  bad "readelf -d: BIND_NOW (-z now, full RELRO): $(cat dynamic.txt)"
readelf -lW "$KEYSAFE_BIN" >segments.txt 2>&1
grep -q 'GNU_RELRO' segments.txt && ok || bad "readelf -l: a GNU_RELRO segment: $(cat segments.txt)"
STACK=$(grep 'GNU_STACK' segments.txt)
[ -n "$STACK" ] && ok || bad "readelf -l: a GNU_STACK segment: $(cat segments.txt)"
# The flags column just before the alignment: RW, never RWE.
expect_eq "$(printf '%s\n' "$STACK" | awk '{print $(NF-1)}')" "RW" "readelf -l: the stack is not executable"
readelf --dyn-syms -W "$KEYSAFE_BIN" >symbols.txt 2>&1
grep -q ' __stack_chk_fail' symbols.txt && ok || bad "the binary calls __stack_chk_fail (stack protector)"
FORTIFIED=$(grep -Eo ' __[a-z0-9_]+_chk\b' symbols.txt | grep -v __stack_chk_fail | sort -u | tr -d ' ' | tr '\n' ' ')
if [ "${KEYSAFE_FORTIFIED:-}" = ON ]; then
  [ -n "$FORTIFIED" ] && ok || bad "_FORTIFY_SOURCE: the binary calls glibc's checked functions (__*_chk)"
fi

# The compile flags of every keysafe source file.
CC_JSON="$KEYSAFE_BUILD_DIR/compile_commands.json"
[ -s "$CC_JSON" ] && ok || bad "$CC_JSON exists (CMAKE_EXPORT_COMPILE_COMMANDS)"
REQUIRED="-fstack-clash-protection -fstack-protector-strong"
[ "${KEYSAFE_FORTIFIED:-}" = ON ] && REQUIRED="$REQUIRED -D_FORTIFY_SOURCE="
MISSING=$(python3 - "$CC_JSON" $REQUIRED <<'PY'
import json, shlex, sys
path, required = sys.argv[1], sys.argv[2:]
entries = json.load(open(path))
if not entries:
    print("no entries")
for e in entries:
    args = e.get("arguments") or shlex.split(e["command"])
    for flag in required:
        if not any(a.startswith(flag) for a in args):
            print(f"{e['file']}: {flag}")
PY
)
expect_eq "$MISSING" "" "compile_commands.json: every file is compiled with $REQUIRED"
grep -q '"file": ".*cli/main.cpp"' "$CC_JSON" && ok || bad "compile_commands.json lists cli/main.cpp"

finish
