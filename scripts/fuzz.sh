#!/usr/bin/env bash
# Fuzzes the .ark reader with libFuzzer (clang, AddressSanitizer, UBSan).
#
#   scripts/fuzz.sh [SECONDS] [LIBFUZZER_ARGS...]   fuzz for SECONDS (default 60)
#   scripts/fuzz.sh --minimize CRASH_FILE          shrink a reproducer
#   scripts/fuzz.sh --replay FILE_OR_DIR...        run inputs once, no fuzzing
#
# Builds only the `reader_fuzz` target in build-fuzz/, with the whole library
# instrumented for coverage (-fsanitize=fuzzer-no-link; CMake links libFuzzer
# into the target itself). New inputs go to build-fuzz/corpus (kept between
# runs); fuzz/corpus is read, never written. Crashes, leaks,
# timeouts and out-of-memory inputs land in build-fuzz/artifacts/. To keep a
# finding: minimise it, copy it to fuzz/corpus/ under a descriptive name (not
# starting with ok-/bad-/any-, which fuzz/make_corpus.py rewrites), and the
# ctest `reader_corpus_test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DARK_FUZZ=ON -DARK_SANITIZE=ON -DARK_PYTHON=OFF -DARK_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link" >/dev/null
cmake --build "$BUILD" --target reader_fuzz -j"$(nproc)"
FUZZER="$BUILD/reader_fuzz"

# Leaks are findings; a hostile file must not make the reader hold on to memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

case "${1:-}" in
  --minimize)
    crash="$2"
    out="$BUILD/artifacts/minimized-$(basename "$crash")"
    "$FUZZER" -minimize_crash=1 -runs=20000 -exact_artifact_path="$out" "$crash" || true
    echo "fuzz.sh: minimized reproducer: $out ($(stat -c %s "$out") bytes)"
    exit 0
    ;;
  --replay)
    shift
    exec "$FUZZER" -runs=1 "$@"
    ;;
esac

SECONDS_TO_RUN="${1:-60}"
shift || true
mkdir -p "$BUILD/corpus" "$BUILD/artifacts"

"$FUZZER" "$BUILD/corpus" fuzz/corpus \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2560 -max_len=32768 \
  -dict=fuzz/ark.dict -artifact_prefix="$BUILD/artifacts/" -print_final_stats=1 "$@"
