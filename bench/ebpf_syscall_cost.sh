#!/usr/bin/env bash
# BPF time of the syscall programs (sys_enter, sys_exit) per run, under a syscall-heavy workload
# that Kestrel does not report (dd with 1-byte reads and writes: read/write are not wanted
# syscalls, so each run is the `wanted` lookup and out), and under one made of the look-alikes
# the auditd-compatible filter must drop (mprotect R+X, kill with signal 0, prctl PR_GET_NAME,
# from bench/ebpf_load.c's sibling below). Needs root; sets kernel.bpf_stats_enabled=1 while it
# runs. Usage: ebpf_syscall_cost.sh KESTREL [CONFIG]   (CONFIG: a kestrel.yaml, e.g. with
# run.auditd_compat: false). Prints ns per run of each program for each workload.
set -eu
kestrel=$1
config=${2:-}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT
cat >"$tmp/lookalikes.c" <<'C'
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(0, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char name[16];
  for (int i = 0; i < 1000000; ++i) {
    syscall(SYS_mprotect, p, page, PROT_READ | PROT_EXEC);
    syscall(SYS_kill, getpid(), 0);
    syscall(SYS_prctl, PR_GET_NAME, name, 0, 0, 0);
  }
  return 0;
}
C
cc -O2 -o "$tmp/lookalikes" "$tmp/lookalikes.c"
sysctl -qw kernel.bpf_stats_enabled=1
args=(run --rules "$(dirname "$0")/../rules" --no-reload --duration 120s --output /dev/null)
[ -n "$config" ] && args=(--config "$config" "${args[@]}")
before=$(bpftool prog show -j | python3 -c '
import json, sys
print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))')
"$kestrel" "${args[@]}" 2>"$tmp/run.err" &
pid=$!
sleep 4
# This kestrel's programs: the sys_enter/sys_exit ids that were not loaded before it started
# (other Kestrel instances may be running).
ours=$(python3 -c '
import json, sys
before = set(sys.argv[1].split())
for p in json.loads(sys.stdin.read()):
    if p.get("name") in ("sys_enter", "sys_exit") and str(p["id"]) not in before:
        print(p["name"] + "=" + str(p["id"]))' "$before" < <(bpftool prog show -j))
stats() {  # name -> "run_time_ns run_cnt"
  local id; id=$(echo "$ours" | sed -n "s/^$1=//p" | head -1)
  [ -n "$id" ] || { echo "no program $1 of this kestrel" >&2; exit 1; }
  bpftool prog show id "$id" -j | python3 -c '
import json, sys
p = json.load(sys.stdin); print(p.get("run_time_ns", 0), p.get("run_cnt", 0))'
}
measure() {  # label command...
  local label=$1; shift
  read -r e0 ec0 < <(stats sys_enter); read -r x0 xc0 < <(stats sys_exit)
  local t0; t0=$(date +%s%N)
  "$@"
  local t1; t1=$(date +%s%N)
  read -r e1 ec1 < <(stats sys_enter); read -r x1 xc1 < <(stats sys_exit)
  python3 -c "import sys; a=[int(x) for x in sys.argv[2:]]
print(f'{sys.argv[1]}: sys_enter {(a[1]-a[0])/max(1,a[3]-a[2]):.1f} ns/run ({a[3]-a[2]} runs), sys_exit {(a[5]-a[4])/max(1,a[7]-a[6]):.1f} ns/run, workload {(a[9]-a[8])/1e9:.2f} s')" \
    "$label" "$e0" "$e1" "$ec0" "$ec1" "$x0" "$x1" "$xc0" "$xc1" "$t0" "$t1"
}
for round in 1 2 3; do
  measure "dd 1-byte x2M (round $round)" dd if=/dev/zero of=/dev/null bs=1 count=2000000 status=none
  measure "look-alikes x1M (round $round)" "$tmp/lookalikes"
done
