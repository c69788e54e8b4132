#!/usr/bin/env bash
# Installs keysafe's build and test dependencies (Debian 12), builds it, and runs the
# walk-through of the key lifecycle on a throwaway store.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PACKAGES=(
  build-essential cmake pkg-config git
  libssl-dev openssl libsqlite3-dev sqlite3
  libcli11-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  jq python3 python3-cryptography ccache
  # the independent judges and real servers the tests use
  gnutls-bin libnss3-tools openjdk-17-jre-headless nginx haproxy python3-icalendar
  # peak memory and CPU time of a refused file (tests/cli/kdf_bounds.sh)
  time
  # keysafe ca trust (update-ca-certificates) and the client that judges it (tests/interop/ca_trust.sh)
  ca-certificates curl
  # the packaging checks (man page lint, systemd unit verification), the hardening check
  mandoc systemd groff-base man-db bsdextrautils binutils
  # fuzzing (libFuzzer) and benchmarks
  clang libclang-rt-14-dev hyperfine
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== building keysafe (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -E "error|warning|Built target keysafe$" || true
test -x build/cli/keysafe

echo "== walk-through"
bash scripts/demo.sh build/cli/keysafe
