#!/usr/bin/env bash
# libFuzzer targets for every reader (fuzz/): builds the clang tree with ASan+UBSan and runs each
# target for SECONDS (default 20), seeded from tests/data (copied into a temporary corpus) and
# tests/data/fuzz-regressions/ (inputs that once crashed a reader), with fuzz/TARGET.dict as
# its dictionary when there is one.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]         build (clang++) and run
#   scripts/fuzz.sh --no-build SECONDS [TARGET...] run what KEYSAFE_FUZZ_BUILD_DIR holds (CTest)
#
# KEYSAFE_FUZZ_BUILD_DIR (default build-fuzz), KEYSAFE_FUZZ_CORPUS (keep the corpus in this
# directory between runs instead of a temporary one), KEYSAFE_FUZZ_JOBS (parallel fuzzing jobs
# per target, default 1). A crash leaves the input in $BUILD/fuzz-artifacts/ and exits 1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KEYSAFE_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
build=1
if [ "${1:-}" = --no-build ]; then build=0; shift; fi
SECONDS_PER_TARGET=${1:-20}
shift || true
TARGETS=("$@")
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=(certificate input request private_key pkcs12 backup)

if [ "$build" = 1 ]; then
  command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DKEYSAFE_SANITIZE=ON -DKEYSAFE_FUZZ=ON >/dev/null
  cmake --build "$BUILD" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${TARGETS[@]}") >/dev/null
  # keysafe itself only makes seed backups: the targets run without it.
  cmake --build "$BUILD" -j"$(nproc)" --target keysafe >/dev/null 2>&1 || echo "fuzz.sh: keysafe did not build; no seed backups" >&2
fi

DATA=$ROOT/tests/data
CORPUS_ROOT=${KEYSAFE_FUZZ_CORPUS:-}
if [ -z "$CORPUS_ROOT" ]; then
  CORPUS_ROOT=$(mktemp -d /tmp/keysafe-fuzz.XXXXXX)
  trap 'rm -rf "$CORPUS_ROOT"' EXIT
fi
ARTIFACTS=$BUILD/fuzz-artifacts
mkdir -p "$ARTIFACTS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# seed TARGET DIR: copies the files a target reads from tests/data into its corpus directory.
seed() {
  local target=$1 dir=$2 sub
  local -a subs
  case "$target" in
    certificate) subs=(certs chains fuzz) ;;
    input) subs=(certs chains csr pkcs7 pairs fuzz) ;;
    request) subs=(csr fuzz) ;;
    private_key) subs=(keys pairs fuzz) ;;
    pkcs12) subs=(pkcs12 fuzz) ;;
    backup) subs=(fuzz) ;;
    nginx_config) subs=(nginx) ;;
    apache_config) subs=(apache) ;;
    haproxy_config) subs=(haproxy) ;;
    certbot_conf) subs=(certbot) ;;
  esac
  for sub in "${subs[@]}"; do
    [ -d "$DATA/corpus/$sub" ] || continue
    find "$DATA/corpus/$sub" -type f -size -256k -print0 |
      while IFS= read -r -d '' f; do cp "$f" "$dir/$(echo "$f" | sha1sum | cut -c1-16)"; done
  done
  # DER forms of PEM certificates and requests: the DER readers start from real structures.
  if [ "$target" = certificate ] || [ "$target" = request ]; then
    local kind=x509; [ "$target" = request ] && kind=req
    for f in "$dir"/*; do
      openssl "$kind" -in "$f" -outform DER -out "$f.der" 2>/dev/null || rm -f "$f.der"
    done
  fi
  # Backups made by this tree's keysafe (passphrase "backup pass", the fuzz target's).
  if [ "$target" = backup ] && [ -x "$BUILD/cli/keysafe" ]; then
    local s; s=$(mktemp -d /tmp/keysafe-fuzz-seed.XXXXXX)
    (
      cd "$s"
      export KEYSAFE_STORE=$s/s.db KEYSAFE_PASSPHRASE=seed KEYSAFE_OUT_PASSPHRASE="backup pass"
      K=$BUILD/cli/keysafe
      "$K" init --kdf-cost 10 --weak-passphrase && "$K" create www --dns www.example.test &&
        "$K" create ed --dns ed.example.test --key ed25519 &&
        "$K" backup --all -o "$dir/seed.kbk" --yes --force --kdf-cost 10
    ) >/dev/null 2>&1 || echo "fuzz.sh: could not make a seed backup" >&2
    rm -rf "$s"
  fi
  # Inputs that once crashed a reader are always part of the corpus.
  if [ -d "$DATA/fuzz-regressions/$target" ]; then
    cp "$DATA/fuzz-regressions/$target"/* "$dir/" 2>/dev/null || true
  fi
}

failed=0
for target in "${TARGETS[@]}"; do
  bin=$BUILD/fuzz/fuzz_$target
  [ -x "$bin" ] || { echo "fuzz.sh: $bin is missing (configure with -DKEYSAFE_FUZZ=ON)" >&2; exit 1; }
  dir=$CORPUS_ROOT/$target
  mkdir -p "$dir"
  seed "$target" "$dir"
  echo "== fuzz_$target: ${SECONDS_PER_TARGET} s, $(ls "$dir" | wc -l) seed inputs"
  jobs=()
  [ "${KEYSAFE_FUZZ_JOBS:-1}" -gt 1 ] && jobs=(-jobs="$KEYSAFE_FUZZ_JOBS" -workers="$KEYSAFE_FUZZ_JOBS")
  dict=(); [ -f "$ROOT/fuzz/$target.dict" ] && dict=(-dict="$ROOT/fuzz/$target.dict")
  if (cd "$ARTIFACTS" && "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=20 -rss_limit_mb=2560 \
      -max_len=65536 -print_final_stats=1 "${jobs[@]}" "${dict[@]}" -artifact_prefix="$ARTIFACTS/$target-" \
      "$dir") > "$ARTIFACTS/$target.log" 2>&1; then
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done)" "$ARTIFACTS/$target.log" | tr '\n' ' '; echo
  else
    failed=1
    echo "FAIL: fuzz_$target found a crash:" >&2
    grep -E "ERROR|SUMMARY|Test unit written|runtime error|==[0-9]+==" "$ARTIFACTS/$target.log" | head -20 >&2
  fi
done
exit "$failed"
