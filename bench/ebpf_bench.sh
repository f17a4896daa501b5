#!/usr/bin/env bash
# eBPF collection figures for docs/benchmarks.md (issue 6). Needs root. Usage:
#   bench/ebpf_bench.sh [KESTREL_BINARY] [exec|rate|cpu|all] [RATES...]
#  exec: added cost per exec: 2,000 fork+exec of /bin/true (from a C loop: fork, execv, wait),
#        5 rounds without and 5 with `kestrel run` (default rules) running; medians.
#  rate: for each RATE (events/s, default 50000 100000 150000 200000), 30 s of file opens at
#        that rate under `kestrel run`; the summary's kernel/user drops say if it kept up.
#  cpu:  kestrel's CPU (utime+stime from /proc) and peak RSS over 30 s at 1,000 events/s
#        (CPU_RATE=N for another rate; the summary's event count includes the machine's own).
set -u
kestrel=${1:-build/release/kestrel}
what=${2:-all}
shift 2 2>/dev/null || shift $#
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(50000 100000 150000 200000)
[ "$(id -u)" -eq 0 ] || { echo "needs root"; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -o "$work/load" "$here/ebpf_load.c" || exit 1
cat >"$work/forkexec.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char** argv) {
  int n = atoi(argv[1]);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; ++i) {
    pid_t p = fork();
    if (p == 0) { char* args[] = {"true", NULL}; execv("/bin/true", args); _exit(127); }
    int st; waitpid(p, &st, 0);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1e3);
  return 0;
}
C
cc -O2 -o "$work/forkexec" "$work/forkexec.c" || exit 1

start_kestrel() {  # $1: duration
  "$kestrel" --log-level warn run --duration "$1" --output /dev/null 2>"$work/err" &
  kpid=$!
  sleep 1.5  # load, attach and read /proc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

if [ "$what" = exec ] || [ "$what" = all ]; then
  : >"$work/off"; : >"$work/on"
  for round in 1 2 3 4 5; do
    "$work/forkexec" 2000 >>"$work/off"
    start_kestrel 600s
    "$work/forkexec" 2000 >>"$work/on"
    kill -INT $kpid; wait $kpid
    grep summary "$work/err"
  done
  # The kernel side alone, without the noise of a shared machine: run time of Kestrel's BPF
  # programs (kernel.bpf_stats_enabled, restored after) over 2,000 fork+exec.
  prev_stats=$(sysctl -n kernel.bpf_stats_enabled)
  max_id=$(bpftool prog show -j | python3 -c 'import json,sys; print(max([p["id"] for p in json.load(sys.stdin)] or [0]))')
  sysctl -qw kernel.bpf_stats_enabled=1
  start_kestrel 600s
  snap() {
    bpftool prog show -j | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p["id"] > int(sys.argv[1]):
        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))' "$max_id" | sort
  }
  snap >"$work/s0"
  "$work/forkexec" 2000 >/dev/null
  snap >"$work/s1"
  kill -INT $kpid; wait $kpid
  sysctl -qw kernel.bpf_stats_enabled="$prev_stats"
  echo "BPF program run time during 2,000 fork+exec (the machine's other activity included):"
  join "$work/s0" "$work/s1" | awk '{ns = $4 - $2; n = $5 - $3; if (n > 0) printf "  %-10s %8d runs, %7.0f ns/run\n", $1, n, ns / n}'
  off=$(median <"$work/off"); on=$(median <"$work/on")
  echo "fork+exec of /bin/true, µs each (median of 5 x 2,000): without $off, with $on," \
       "added $(echo "$on - $off" | bc) ($(echo "scale=1; ($on - $off) * 100 / $off" | bc)%)"
  echo "  rounds without: $(tr '\n' ' ' <"$work/off")"
  echo "  rounds with:    $(tr '\n' ' ' <"$work/on")"
fi

if [ "$what" = rate ] || [ "$what" = all ]; then
  for r in "${rates[@]}"; do
    start_kestrel 600s
    t0=$(awk '{print $14 + $15}' /proc/$kpid/stat)
    s0=$(date +%s.%N)
    # GENERATORS=N splits the rate over N processes (one generator tops out near 140-160k/s).
    gens=${GENERATORS:-1}
    gen_pids=()
    for g in $(seq 2 "$gens"); do "$work/load" $((r / gens)) 30 "$work/target$g" & gen_pids+=($!); done
    "$work/load" $((r / gens)) 30 "$work/target" | tee "$work/load.out"
    # Only the other generators: a bare `wait` (no generator besides this one) would also wait
    # for kestrel itself, up to its --duration.
    if [ ${#gen_pids[@]} -gt 0 ]; then wait "${gen_pids[@]}" 2>/dev/null; fi
    t1=$(awk '{print $14 + $15}' /proc/$kpid/stat)
    s1=$(date +%s.%N)
    sleep 0.5
    kill -INT $kpid; wait $kpid
    echo "rate $r/s asked: kestrel CPU $(echo "scale=1; ($t1 - $t0) * 100 / $(getconf CLK_TCK) / ($s1 - $s0)" | bc)% of one core;" \
         "$(grep summary "$work/err")"
    grep -i "dropped" "$work/err" | tail -1
  done
fi

if [ "$what" = cpu ] || [ "$what" = all ]; then
  cpu_rate=${CPU_RATE:-1000}
  start_kestrel 40s
  t0=$(awk '{print $14 + $15}' /proc/$kpid/stat)
  s0=$(date +%s.%N)
  "$work/load" "$cpu_rate" 30 "$work/target"
  t1=$(awk '{print $14 + $15}' /proc/$kpid/stat)
  s1=$(date +%s.%N)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$kpid/status)
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$kpid/status)
  kill -INT $kpid; wait $kpid
  hz=$(getconf CLK_TCK)
  echo "CPU with $cpu_rate generated events/s: $(echo "scale=2; ($t1 - $t0) * 100 / $hz / ($s1 - $s0)" | bc)% of one core" \
       "over $(echo "$s1 - $s0" | bc | cut -c1-5) s; RSS $((rss / 1024)) MB (peak $((hwm / 1024)) MB)"
  grep summary "$work/err"
fi
