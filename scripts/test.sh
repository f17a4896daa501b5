#!/usr/bin/env bash
# Every test: installs dependencies, then
#   1. the release build (gcc) and its CTest suite: unit, conformance and end-to-end tests;
#   2. the `fuzz` build (clang, ASan + UBSan): the same suite again under the sanitizers, plus
#      each libFuzzer target for KESTREL_FUZZ_SECONDS (default 60) from its seed corpus;
#   3. the `tsan` build (gcc, ThreadSanitizer) of the event bus and its tests.
# Exits non-zero when any test fails. Set KESTREL_SKIP_SANITIZERS=1 for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
fuzz_seconds=${KESTREL_FUZZ_SECONDS:-60}

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

if [ "${KESTREL_SKIP_SANITIZERS:-0}" = 1 ]; then
  echo "== sanitizer build skipped (KESTREL_SKIP_SANITIZERS=1)"
  exit 0
fi
echo "== ASan + UBSan build (clang) with fuzz targets; tests and ${fuzz_seconds}s per fuzzer"
cmake --preset fuzz -DKESTREL_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build --preset fuzz -j "$jobs"
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset fuzz -j "$jobs"

echo "== ThreadSanitizer build (gcc) of the threaded parts: the event bus and its tests"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target bus_test
ctest --preset tsan -j "$jobs" -R '^(SpscRing|ParallelDetector)'
