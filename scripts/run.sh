#!/usr/bin/env bash
# The main job: install dependencies, build the release preset, and run `kestrel run` with the
# default rule directory (rules/). As root on a kernel with BPF and BTF it watches this machine
# live (eBPF) until Ctrl-C / SIGTERM, or for `--duration D`; elsewhere (or with KESTREL_DEMO=1)
# it runs over the bundled demo events and says why.
# Extra arguments go to `kestrel run`, e.g. scripts/run.sh --duration 60s --output alerts.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release
if [ "${KESTREL_DEMO:-0}" != 1 ] && [ "$(id -u)" -eq 0 ] && [ -r /sys/kernel/btf/vmlinux ] &&
  grep -q "KESTREL_EBPF:BOOL=ON" build/release/CMakeCache.txt; then
  echo "run.sh: watching this machine with eBPF (Ctrl-C to stop; alerts on stdout)" >&2
  exec ./build/release/kestrel run --rules rules "$@"
fi
echo "run.sh: live collection needs root, kernel BTF and an eBPF build; running over the demo events" >&2
exec ./build/release/kestrel run --rules rules --source ndjson:examples/demo-events.ndjson "$@"
