#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer, plus every libFuzzer
# target for a few seconds (fuzz.<target> tests): one clang build tree with
# -DKEYSAFE_SANITIZE=ON -DKEYSAFE_FUZZ=ON. Extra arguments go to ctest.
#   KEYSAFE_SANITIZE_BUILD_DIR (default build-sanitize), KEYSAFE_FUZZ_TEST_SECONDS (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${KEYSAFE_SANITIZE_BUILD_DIR:-build-sanitize}
command -v clang++ >/dev/null || { echo "sanitize.sh: clang++ is needed (scripts/setup.sh installs it)" >&2; exit 1; }
cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKEYSAFE_SANITIZE=ON -DKEYSAFE_FUZZ=ON \
  -DKEYSAFE_FUZZ_TEST_SECONDS="${KEYSAFE_FUZZ_TEST_SECONDS:-15}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
# Any sanitizer report aborts the process (a signal, never a plausible exit code), so a test
# that expects a failure exit cannot mistake a sanitizer report for it.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
# The crash and corruption tests start thousands of processes: a lighter run here (the normal
# stage runs them in full).
export KEYSAFE_CRASH_KILLS=${KEYSAFE_CRASH_KILLS:-50} KEYSAFE_CORRUPTION_EVERY=${KEYSAFE_CORRUPTION_EVERY:-5}
echo "== ASan+UBSan: every test, and each fuzz target for ${KEYSAFE_FUZZ_TEST_SECONDS:-15} s ($BUILD)"
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
