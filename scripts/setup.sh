#!/usr/bin/env bash
# Installs keysafe's build and test dependencies (Debian 12), builds it, and runs the
# walk-through of the key lifecycle on a throwaway store.
#   bash scripts/setup.sh              as root, or as a user who may use sudo
#   bash scripts/setup.sh --deps-only  only the packages
# Only installing packages needs root: as root apt-get runs as is (no sudo needed, as in a
# container), anyone else runs it through sudo. The build runs as whoever started the script.
set -euo pipefail
cd "$(dirname "$0")/.."

DEPS_ONLY=0
case "${1:-}" in
  "") ;;
  --deps-only) DEPS_ONLY=1 ;;
  *) echo "usage: bash scripts/setup.sh [--deps-only]" >&2; exit 2 ;;
esac

# as_root COMMAND...: runs COMMAND as root, through sudo only when this is not root already.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "setup.sh: installing packages needs root, and sudo is not installed:" >&2
    echo "  run it as root: su -c 'bash scripts/setup.sh'" >&2
    exit 1
  fi
}
PACKAGES=(
  build-essential cmake pkg-config git
  libssl-dev openssl libsqlite3-dev sqlite3 libpq-dev
  # the shared store backend and its throwaway test clusters
  postgresql postgresql-client
  libcli11-dev libfmt-dev nlohmann-json3-dev
  # keysafe serve's HTTP library (built with OpenSSL; pkg-config cpp-httplib)
  libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  jq python3 python3-cryptography ccache
  # the independent judges and real servers the tests use
  gnutls-bin libnss3-tools openjdk-17-jre-headless nginx apache2 haproxy python3-icalendar
  # ACME: libcurl and cpp-httplib for the client, Pebble (with pebble-challtestsrv) for its tests
  libcurl4-openssl-dev libcpp-httplib-dev pebble
  # keysafe adopt certbot: inih reads certbot's renewal files; certbot makes the lineage its test
  # adopts (tests/cli/adopt_certbot.sh)
  libinih-dev certbot
  # peak memory and CPU time of a refused file (tests/cli/kdf_bounds.sh)
  time
  # keysafe ca trust (update-ca-certificates) and the client that judges it (tests/interop/ca_trust.sh)
  ca-certificates curl
  # the packaging checks (man page lint, systemd unit verification), the hardening check
  mandoc systemd groff-base man-db bsdextrautils binutils
  # the browser tests (tests/browser: playwright-core from npm drives Debian's chromium, no
  # browser download)
  chromium nodejs
  # fuzzing (libFuzzer) and benchmarks
  clang libclang-rt-14-dev hyperfine
  # the PostgreSQL store (libpq) and the throwaway clusters its tests start (tests/pg.sh: initdb,
  # pg_ctl, pg_basebackup, psql, pg_dump); the packaged cluster itself is never used
  libpq-dev postgresql-15 postgresql-client-15
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# playwright-core for tests/browser, at the version package-lock.json pins; never a browser
# (Playwright's own browser download is not used: the tests launch /usr/bin/chromium).
# Debian's nodejs comes without npm (a package of its own); a nodejs that brings npm along
# (NodeSource's) provides it already.
command -v npm >/dev/null 2>&1 ||
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
pinned=$(node -p 'require("./tests/browser/package.json").dependencies["playwright-core"]')
installed=$(node -p 'try { require("./tests/browser/node_modules/playwright-core/package.json").version } catch (e) { "" }')
if [ "$pinned" != "$installed" ]; then
  echo "== npm ci (tests/browser: playwright-core $pinned)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
[ "$DEPS_ONLY" = 1 ] && exit 0

# The compiler's progress goes to build/build.log: its lines name files such as error.cpp, which
# would look like errors here. Only diagnostics are shown, and the log's end when it fails.
echo "== building keysafe (build/; log: build/build.log)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build build -j"$(nproc)" >build/build.log 2>&1; then
  grep -E ': (fatal )?(error|warning):' build/build.log | head -40 >&2 || true
  echo "setup.sh: the build failed; the end of build/build.log:" >&2
  tail -n 20 build/build.log >&2
  exit 1
fi
test -x build/cli/keysafe
echo "== built build/cli/keysafe ($(build/cli/keysafe --version))"

echo "== walk-through"
bash scripts/demo.sh build/cli/keysafe
