#!/usr/bin/env bash
# Builds keysafe (if needed) and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${KEYSAFE_BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" "$@"
