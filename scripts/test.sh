#!/usr/bin/env bash
# Every test: installs dependencies, then
#   0. the static checks, in seconds, before any build: the layering check
#      (scripts/check-layering.py: includes against the layer table, folder READMEs,
#      docs/architecture.md's copy of the table) with its self-test, and clang-format
#      --dry-run -Werror over every C/C++ file of src/, bench/, fuzz/, include/ and bpf/;
#   1. the release build (gcc) and its CTest suite: unit, conformance and end-to-end tests;
#      then the package stage (scripts/package-test.sh): the .deb built with cpack, installed
#      with apt into a fresh Debian 12 root from Debian's mirror, run there and removed. It is
#      mostly download and dpkg, so it runs in the background beside step 2's build (its log is
#      printed when it ends, and its failure fails the run);
#   2. the `fuzz` build (clang 14, its own warnings, -Werror, ASan + UBSan) of everything,
#      benchmarks included, so it is also the check that the tree builds with clang: the same
#      suite again under the sanitizers, plus each libFuzzer target for KESTREL_FUZZ_SECONDS
#      (default 45 in CI, 60 in a plain `cmake --preset fuzz`) from its seed corpus;
#   3. the `tsan` build (gcc, ThreadSanitizer) of the event bus, the fanotify guard and the
#      pipeline (rule compile thread, timer, stop signals), and their
#      tests;
#   4. the `aarch64` cross build (no eBPF) and its whole CTest suite under qemu-user, including
#      the cross-architecture replay digest test against the release build (docs/porting.md).
# Exits non-zero when any test fails. Set KESTREL_SKIP_SANITIZERS=1 for a quick local run (release
# only), KESTREL_SKIP_CROSS=1 to leave out step 4, KESTREL_SKIP_PACKAGE=1 to leave out the package
# stage (it needs root and Debian's mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${KESTREL_SKIP_CROSS:-0}" = 1 ]; then
  bash scripts/install-deps.sh
else
  bash scripts/install-deps.sh --cross aarch64
fi
jobs=$(nproc)
# Each stage's wall time, printed as it ends and summed up at exit, so a slow stage shows in CI's
# log (the whole run must stay under 60 minutes cold).
stage_name="" stage_start=$SECONDS stage_times=""
stage() {
  if [ -n "$stage_name" ]; then
    stage_times+="$(printf '%6ds  %s' $((SECONDS - stage_start)) "$stage_name")"$'\n'
  fi
  stage_name=$1 stage_start=$SECONDS
  if [ -n "$1" ]; then echo "== $1"; fi
}
report_times() {
  stage ""
  printf '== stage times (total %ds):\n%s' "$SECONDS" "$stage_times"
}
# The package stage, started in the background after the release suite (see 1. above).
package_pid="" package_log="" package_start=0
package_wait() {
  [ -n "$package_pid" ] || return 0
  local rc=0
  wait "$package_pid" || rc=$?
  package_pid=""
  echo "== package stage (ran in the background for $((SECONDS - package_start))s):"
  cat "$package_log"
  stage_times+="$(printf '%6ds  %s' $((SECONDS - package_start)) "package (in the background)")"$'\n'
  if [ "$rc" -ne 0 ]; then
    echo "== package stage FAILED (exit $rc)"
    exit "$rc"
  fi
}
on_exit() {
  # Its own process group (setsid below): mmdebstrap's children go with it.
  if [ -n "$package_pid" ]; then kill -- "-$package_pid" 2>/dev/null || true; fi
  report_times
}
trap on_exit EXIT
fuzz_seconds=${KESTREL_FUZZ_SECONDS:-45}

stage "static checks: layering and clang-format"
python3 scripts/check-layering.py
if ! selftest=$(python3 scripts/check-layering.py --self-test); then
  echo "$selftest"
  exit 1
fi
tail -n 1 <<<"$selftest"
find src bench fuzz include bpf -type f \( -name '*.h' -o -name '*.c' -o -name '*.cc' \
  -o -name '*.cpp' -o -name '*.hpp' \) -print0 |
  xargs -0 -n 40 -P "$jobs" clang-format --dry-run -Werror ||
  { echo "clang-format: the files above are not formatted (clang-format -i FILE, or make format)"; exit 1; }
echo "clang-format: ok"

stage "release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

if [ "${KESTREL_SKIP_PACKAGE:-0}" = 1 ]; then
  echo "== package stage SKIPPED (KESTREL_SKIP_PACKAGE=1): the .deb was not built nor tested"
else
  echo "== package: the .deb in a clean Debian 12 root (install, kestrel --version/doctor/run, removal), in the background"
  package_log=build/package-test.log package_start=$SECONDS
  setsid bash scripts/package-test.sh build/release >"$package_log" 2>&1 &
  package_pid=$!
fi

if [ "${KESTREL_SKIP_SANITIZERS:-0}" = 1 ]; then
  echo "== sanitizer build skipped (KESTREL_SKIP_SANITIZERS=1)"
  package_wait
  exit 0
fi
stage "ASan + UBSan build (clang, -Werror) with fuzz targets and benchmarks; tests and ${fuzz_seconds}s per fuzzer"
cmake --preset fuzz -DKESTREL_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build --preset fuzz -j "$jobs"
package_wait
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --preset fuzz -j "$jobs"

stage "ThreadSanitizer build (gcc) of the threaded parts: the event bus, the fanotify guard, the pipeline; their tests"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target bus_test actions_fanotify_test pipeline_test
ctest --preset tsan -j "$jobs" -R '^(SpscRing|ParallelDetector|FanotifyGuard|RuleManagerTest|QuietStreamTest|StopTest)'

if [ "${KESTREL_SKIP_CROSS:-0}" = 1 ]; then
  echo "== aarch64 build skipped (KESTREL_SKIP_CROSS=1)"
  exit 0
fi

stage "aarch64 cross build (no eBPF); every test under qemu-aarch64, and the cross-arch replay"
cmake --preset aarch64 >/dev/null
cmake --build --preset aarch64 -j "$jobs"
KESTREL_REQUIRE_HOST_KESTREL=1 ctest --preset aarch64 -j "$jobs"
