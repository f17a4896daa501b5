#!/usr/bin/env bash
# The main job: install dependencies, build the release preset, run `kestrel run` with the default
# rule directory (rules/) on the bundled demo events (until the live eBPF source lands).
# Extra arguments go to `kestrel run`, e.g. scripts/run.sh --output alerts.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
exec ./build/release/kestrel run --rules rules --source ndjson:examples/demo-events.ndjson "$@"
