#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: run_fuzzer.sh BINARY SCRATCH_DIR SEED_DIR SECONDS
# Exits non-zero (and keeps the crashing input in SCRATCH_DIR) when the fuzzer finds a bug.
set -eu
bin=$1 scratch=$2 seeds=$3 seconds=$4
mkdir -p "$scratch"
cd "$scratch"
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
  "$scratch" "$seeds"
