#!/usr/bin/env bash
# A/B live figures (docs/benchmarks.md, issue 21 "live cost after the copy cuts"). Needs root.
# Usage: ROUNDS=3 WHAT="cpu exec" bench/ebpf_ab.sh KESTREL_BINARY... (binaries in turn, per round)
#  cpu1k: kestrel CPU (sum of threads' schedstat runtime) over 30 s of 1k file opens/s; RSS/HWM
#  exec: kestrel CPU per fork+exec (user space) over 3000 fork+exec; BPF run time per program
#        (bpf_stats) over the same; wall per fork+exec with and without kestrel
#  together: every binary's kestrel up at once over the same 6000 fork+exec (given order, then
#        reversed, per round): each one's CPU per fork+exec and BPF exec ns per run on the very
#        same events, so a loaded machine moves all of them alike (the first attached program
#        runs colder: compare across both orders)
# Ends with a MEDIAN line per binary (every figure of the rounds: CPU at 1k opens/s, RSS, HWM,
# CPU per fork+exec, BPF ns per run of the exec program and of exec+fork+exit, wall, load).
set -u
rounds=${ROUNDS:-3}
what=${WHAT:-cpu exec}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"; sysctl -qw kernel.bpf_stats_enabled=0' EXIT
cc -O2 -o $work/load $here/ebpf_load.c || exit 1
cat >$work/forkexec.c <<'C'
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
cc -O2 -o $work/forkexec $work/forkexec.c || exit 1
cpu_ns() { cat /proc/$1/task/*/schedstat 2>/dev/null | awk "{s+=\$1} END {printf \"%.0f\\n\", s}"; }
# Waits until kestrel's start-up work (rules, /proc, already_running events) is over: its CPU
# over 0.5 s below 20 ms twice in a row (at most 60 s). Under load a fixed sleep let start-up
# CPU leak into the measurement (the Defend-shaped build's start costs ~3x more than base's).
start() {
  "$1" --log-level warn run --duration 600s --output /dev/null 2>$work/err & kpid=$!
  local prev=0 quiet=0 now
  for _ in $(seq 1 120); do
    sleep 0.5; now=$(cpu_ns $kpid)
    if (( now - prev < 20000000 )); then quiet=$((quiet + 1)); else quiet=0; fi
    prev=$now
    (( quiet >= 2 )) && break
  done
}
stop() { kill -INT $kpid; wait $kpid; grep -o 'summary.*' $work/err | head -c 300; echo; }
sysctl -qw kernel.bpf_stats_enabled=1
for r in $(seq 1 $rounds); do
  for b in "$@"; do
    tag=$b
    if [[ $what == *cpu* ]]; then
      start $b
      c0=$(cpu_ns $kpid); s0=$(date +%s.%N)
      $work/load 1000 30 $work/target >/dev/null
      c1=$(cpu_ns $kpid); s1=$(date +%s.%N)
      rss=$(awk '/VmRSS/ {print $2}' /proc/$kpid/status); hwm=$(awk '/VmHWM/ {print $2}' /proc/$kpid/status)
      pct=$(echo "scale=3; ($c1-$c0)/10000000/($s1-$s0)" | bc)
      echo "CPU1K $tag round $r: $pct % RSS ${rss}k HWM ${hwm}k load $(cut -d' ' -f1 /proc/loadavg)"
      echo "$tag cpu1k_pct $pct" >>$work/fig; echo "$tag cpu1k_rss_k $rss" >>$work/fig
      echo "$tag cpu1k_hwm_k $hwm" >>$work/fig
      stop
    fi
    if [[ $what == *exec* ]]; then
      off=$($work/forkexec 3000)
      start $b
      # Only the programs of the kestrel started here (others' instances may run beside it):
      # the ids of the BPF program descriptors it holds.
      snap() { bpftool prog show -j | python3 -c '
import json, sys
mine = set(int(x) for x in sys.argv[1].split())
for p in json.load(sys.stdin):
    if p["id"] in mine:
        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))' "$(grep -h '^prog_id:' /proc/$kpid/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | tr '\n' ' ')" | sort; }
      snap > $work/s0; c0=$(cpu_ns $kpid)
      on=$($work/forkexec 3000)
      sleep 0.3
      c1=$(cpu_ns $kpid); snap > $work/s1
      hwm=$(awk '/VmHWM/ {print $2}' /proc/$kpid/status)
      per=$(echo "scale=2; ($c1-$c0)/3000/1000" | bc)
      echo "EXEC $tag round $r: wall off $off on $on µs; kestrel CPU per fork+exec $per µs; HWM ${hwm}k load $(cut -d' ' -f1 /proc/loadavg)"
      join $work/s0 $work/s1 | awk -v t=$tag -v r=$r '{ns = $4 - $2; n = $5 - $3; if (n > 0) printf "BPF %s round %s: %-10s %8d runs %7.0f ns/run\n", t, r, $1, n, ns / n}'
      bpf=$(join $work/s0 $work/s1 | awk '$1 ~ /^(exec|fork|exit)_/ {n = $5 - $3; if (n > 0) s += ($4 - $2) / n} END {printf "%.0f", s}')
      bpf_exec=$(join $work/s0 $work/s1 | awk '$1 ~ /^exec_/ {n = $5 - $3; if (n > 0) s += ($4 - $2) / n} END {printf "%.0f", s}')
      { echo "$tag exec_cpu_us $per"; echo "$tag exec_hwm_k $hwm"; echo "$tag bpf_exec_ns $bpf_exec"
        echo "$tag bpf_exec_fork_exit_ns $bpf"
        echo "$tag wall_on_us $on"; echo "$tag wall_off_us $off"
        echo "$tag load $(cut -d' ' -f1 /proc/loadavg)"; } >>$work/fig
      stop
    fi
  done
done
# Programs of one kestrel: "name run_time_ns run_cnt" (its BPF program descriptors' ids).
prog_times() { bpftool prog show -j | python3 -c '
import json, sys
mine = set(int(x) for x in sys.argv[1].split())
for p in json.load(sys.stdin):
    if p["id"] in mine:
        print(p["name"], p.get("run_time_ns", 0), p.get("run_cnt", 0))' "$(grep -h '^prog_id:' /proc/$1/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u | tr '\n' ' ')" | sort; }
if [[ $what == *together* ]]; then
  for r in $(seq 1 $rounds); do
    for order in given reversed; do
      bins=("$@"); [[ $order == reversed ]] && bins=($(printf '%s\n' "$@" | tac))
      pids=()
      for b in "${bins[@]}"; do "$b" --log-level warn run --duration 600s --output /dev/null 2>/dev/null & pids+=($!); done
      sleep 15  # start-up of all of them (each alone: ebpf_ab's start() waits for quiet)
      for i in "${!pids[@]}"; do prog_times ${pids[$i]} >$work/t0.$i; cpu_ns ${pids[$i]} >$work/c0.$i; done
      $work/forkexec 6000 >/dev/null; sleep 0.3
      for i in "${!pids[@]}"; do
        prog_times ${pids[$i]} >$work/t1.$i; c1=$(cpu_ns ${pids[$i]}); c0=$(cat $work/c0.$i)
        per=$(echo "scale=2; ($c1-$c0)/6000/1000" | bc)
        ns=$(join $work/t0.$i $work/t1.$i | awk '$1 ~ /^exec_/ {n = $5 - $3; if (n > 0) s += ($4 - $2) / n} END {printf "%.0f", s}')
        echo "TOGETHER ${bins[$i]} round $r ($order, position $i): CPU per fork+exec $per µs; BPF exec $ns ns/run; load $(cut -d' ' -f1 /proc/loadavg)"
        echo "${bins[$i]} together_cpu_us $per" >>$work/fig; echo "${bins[$i]} together_bpf_exec_ns $ns" >>$work/fig
      done
      for p in "${pids[@]}"; do kill -INT $p; done; wait "${pids[@]}" 2>/dev/null
    done
  done
fi
sysctl -qw kernel.bpf_stats_enabled=0
# Medians over the rounds, one line per binary.
for b in "$@"; do
  line="MEDIAN $b:"
  for k in cpu1k_pct cpu1k_rss_k cpu1k_hwm_k exec_cpu_us exec_hwm_k bpf_exec_ns bpf_exec_fork_exit_ns \
    wall_off_us wall_on_us together_cpu_us together_bpf_exec_ns load; do
    m=$(awk -v b="$b" -v k=$k '$1 == b && $2 == k {print $3}' $work/fig 2>/dev/null | sort -g |
      awk '{v[NR] = $1} END {if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}')
    [[ -n $m ]] && line="$line $k=$m"
  done
  echo "$line"
done
