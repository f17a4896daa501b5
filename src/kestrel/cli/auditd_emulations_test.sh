#!/usr/bin/env bash
# Elastic's auditd_manager rules on live events (issue 21, part E): `kestrel run` with six rules
# of elastic/detection-rules, loaded unmodified from $KESTREL_DETECTION_RULES (the `rules/` folder
# of a checkout; never copied into this repository), watches this machine while the
# kestrel_auditd_emulate helper, copied under /tmp, runs harmless emulations: prctl(PR_SET_NAME),
# signal 40 to a child that ignores it, an RWX page then a connection to 192.0.2.1 (TEST-NET-1),
# five reads through the `open` syscall with mode 0666 (Meterpreter's fingerprinting), and a file
# that is no module handed to finit_module as root and as nobody (refused by the kernel). Each
# rule must alert on the helper's process. Everything is under one private directory, removed on
# exit.
# Needs root, BPF and KESTREL_DETECTION_RULES; exits 77 (skipped, reason printed) otherwise.
# Usage: auditd_emulations_test.sh KESTREL_BINARY HELPER
set -u
kestrel=$1
helper=$2
if [ -z "${KESTREL_DETECTION_RULES:-}" ]; then
  echo "SKIPPED: KESTREL_DETECTION_RULES is unset (path of detection-rules' rules/ folder):" \
    "the auditd_manager rules cannot be run on the live emulations"
  exit 77
fi
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (loading BPF programs)"; exit 77; fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIPPED: no kernel BTF at /sys/kernel/btf/vmlinux"; exit 77; fi
rules=(defense_evasion_prctl_process_name_tampering defense_evasion_unsual_kill_signal
  execution_netcon_from_rwx_mem_region_binary execution_shell_via_meterpreter_linux
  persistence_kernel_driver_load persistence_kernel_driver_load_by_non_root)
tmp=$(mktemp -d /tmp/kestrel-auditd.XXXXXX)
chmod 755 "$tmp"
trap 'kill "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir "$tmp/rules"
for r in "${rules[@]}"; do
  f="$KESTREL_DETECTION_RULES/linux/$r.toml"
  [ -r "$f" ] || { echo "FAIL: $f not found under KESTREL_DETECTION_RULES"; exit 1; }
  ln -s "$f" "$tmp/rules/$r.toml"  # the corpus file itself, unmodified
done
cp "$helper" "$tmp/emulate" && chmod 755 "$tmp/emulate"

"$kestrel" run --rules "$tmp/rules" --no-reload --duration 30s --output "$tmp/alerts.jsonl" \
  2>"$tmp/run.err" &
run_pid=$!
for _ in $(seq 1 150); do
  grep -qs "reading events from ebpf" "$tmp/run.err" && break
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -qs "reading events from ebpf" "$tmp/run.err"; then
  if grep -qs "missing\|not permitted\|BTF" "$tmp/run.err"; then
    echo "SKIPPED: live collection unavailable: $(head -3 "$tmp/run.err")"; exit 77
  fi
  echo "FAIL: kestrel run did not start: $(cat "$tmp/run.err")"; exit 1
fi
grep -q "6 rules\|rules: 6\|loaded 6" "$tmp/run.err" || echo "note: $(grep -i rule "$tmp/run.err" | head -3)"
sleep 1

pids=()
run() { "$tmp/emulate" "$@" & pids+=("$!:$1"); wait "$!"; }
run prctl "kworker/0:1"
run kill 40
run mprotect 192.0.2.1 9
run open /etc/machine-id /etc/passwd /proc/net/route /proc/net/ipv6_route /proc/net/if_inet6
: >"$tmp/not-a-module.ko"
run finit_module "$tmp/not-a-module.ko"
run finit_module "$tmp/not-a-module.ko" 65534

sleep 2
kill -INT "$run_pid" 2>/dev/null
wait "$run_pid"
run_pid=
failures=0
expect() {  # RULE_NAME PID
  if grep -F "\"$1\"" "$tmp/alerts.jsonl" 2>/dev/null | grep -q "\"pid\":$2[,}]"; then
    echo "ok   $1 (pid $2)"
  else
    echo "FAIL: no alert of \"$1\" on pid $2"; failures=$((failures + 1))
  fi
}
pid_of() { for p in "${pids[@]}"; do [ "${p#*:}" = "$1" ] && echo "${p%%:*}"; done; }
expect "Potential Process Name Stomping with Prctl" "$(pid_of prctl)"
expect "Unusual Kill Signal" "$(pid_of kill)"
expect "Network Connection from Binary with RWX Memory Region" "$(pid_of mprotect)"
expect "Potential Meterpreter Reverse Shell" "$(pid_of open)"
for p in $(pid_of finit_module); do expect "Kernel Driver Load" "$p"; done
expect "Kernel Driver Load by non-root User" "$(pid_of finit_module | tail -1)"
if grep -F '"Kernel Driver Load by non-root User"' "$tmp/alerts.jsonl" \
  | grep -q "\"pid\":$(pid_of finit_module | head -1)[,}]"; then
  echo "FAIL: the non-root rule fired on the root attempt"; failures=$((failures + 1))
fi
if [ "$failures" -gt 0 ]; then
  echo "--- alerts:"; head -c 4000 "$tmp/alerts.jsonl"; echo "--- run:"; tail -20 "$tmp/run.err"
  echo "$failures failure(s)"; exit 1
fi
echo "auditd emulations: the six auditd_manager rules alerted"
