#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time:
#   run_fuzzer.sh BINARY SCRATCH_DIR SEED_DIR SECONDS [TIMEOUT_S [RSS_MB [MALLOC_MB]]]
# Each input is limited to TIMEOUT_S seconds (default 10), RSS_MB of resident memory (default
# 4096) and single allocations of MALLOC_MB (default RSS_MB): an input over a limit is a finding.
# Exits non-zero (and keeps the offending input in SCRATCH_DIR) when the fuzzer finds a bug.
set -eu
bin=$1 scratch=$2 seeds=$3 seconds=$4
timeout=${5:-10} rss_mb=${6:-4096} malloc_mb=${7:-${6:-4096}}
mkdir -p "$scratch"
cd "$scratch"
exec "$bin" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
  -malloc_limit_mb="$malloc_mb" -print_final_stats=1 "$scratch" "$seeds"
