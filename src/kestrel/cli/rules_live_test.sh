#!/usr/bin/env bash
# Live check of the default rule pack (issue 10): `kestrel run` with rules/ watches this machine
# through eBPF while six positive scenarios of the pack's test cases are staged for real; each
# must raise its rule's alert within 2 s of being staged. The scenarios are harmless (a refused
# /dev/tcp connection to a closed local port, a curl | sh line whose download fails, a read of
# /etc/shadow, three discovery commands, a setuid copy of `true` in a private directory, the
# deletion of a scratch .bash_history) and every alert is matched by a marker unique to this run.
# Needs root and a kernel with BPF and BTF; exits 77 (skipped, reason printed) otherwise.
# Usage: rules_live_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (loading BPF programs)"; exit 77; fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIPPED: no kernel BTF at /sys/kernel/btf/vmlinux"; exit 77; fi
doctor=$("$kestrel" doctor 2>/dev/null)
for need in "BPF ring buffer" "raw tracepoints" "bpf() system call"; do
  if echo "$doctor" | grep -q "^no   $need"; then
    echo "SKIPPED: $(echo "$doctor" | grep "^no   $need")"; exit 77
  fi
done
tmp=$(mktemp -d /var/tmp/kestrel-live.XXXXXX)  # not under /tmp: no tmp-directory rule is staged
chmod 700 "$tmp"
marker="k$$x$RANDOM"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$kestrel" run --rules "$src/rules" --no-reload --duration 40s --output "$tmp/alerts.jsonl" \
  2>"$tmp/err" &
run_pid=$!
trap 'kill "$run_pid" 2>/dev/null; wait "$run_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 150); do
  grep -qs "reading events from ebpf" "$tmp/err" && break
  if ! kill -0 "$run_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if ! grep -qs "reading events from ebpf" "$tmp/err"; then
  if grep -qs "missing\|not permitted\|BTF" "$tmp/err"; then
    echo "SKIPPED: live collection unavailable: $(head -3 "$tmp/err")"; exit 77
  fi
  echo "FAIL: kestrel run did not start: $(cat "$tmp/err")"; exit 1
fi
sleep 0.5  # the process table is read from /proc after attaching

now_ms() { date +%s%3N; }
# expect RULE_ID MARKER: waits up to 2 s (from the staging start in $t0) for an alert of RULE_ID
# whose text contains MARKER, and reports the latency.
expect() {
  local rule=$1 needle=$2 deadline=$((t0 + 2000))
  while [ "$(now_ms)" -le "$deadline" ]; do
    if grep "\"rule_id\":\"$rule\"" "$tmp/alerts.jsonl" 2>/dev/null | grep -qF -- "$needle"; then
      echo "ok   $rule: alert after $(($(now_ms) - t0)) ms"
      return 0
    fi
    sleep 0.02
  done
  fail "$rule: no alert within 2 s (marker $needle)"
}

# 1. bash -i >& /dev/tcp: a refused connection to a closed local port is still the attempt.
t0=$(now_ms)
bash -c "exec 3<>/dev/tcp/127.0.0.1/9 # $marker-rs" 2>/dev/null
expect reverse_shell_dev_tcp_command_line "$marker-rs"

# 2. Download piped into a shell (the download fails; the command line is what matters).
t0=$(now_ms)
sh -c "curl -fs http://127.0.0.1:9/$marker-dl.sh | sh; true" 2>/dev/null
expect download_piped_to_shell "$marker-dl"

# 3. /etc/shadow read by a program that does not manage accounts.
cp /bin/cat "$tmp/$marker-reader"
t0=$(now_ms)
"$tmp/$marker-reader" /etc/shadow >/dev/null
expect shadow_read_by_unusual_process "$marker-reader"

# 4. Discovery burst: whoami, uname, hostname from one shell within seconds.
t0=$(now_ms)
bash -c "whoami >/dev/null; uname -a >/dev/null; hostname >/dev/null; : $marker-disc"
expect discovery_burst_user_and_host "$marker-disc"

# 5. setuid bit on a copy of a program, then that copy run.
cp /bin/true "$tmp/$marker-suid"
t0=$(now_ms)
chmod 4755 "$tmp/$marker-suid"
"$tmp/$marker-suid"
expect setuid_bit_set "$marker-suid"
expect setuid_file_created_then_executed "$marker-suid"

# 6. A shell history file deleted.
mkdir -p "$tmp/$marker-home" && : >"$tmp/$marker-home/.bash_history"
t0=$(now_ms)
rm -f "$tmp/$marker-home/.bash_history"
expect shell_history_deleted "$marker-home"

kill -INT "$run_pid" 2>/dev/null
wait "$run_pid"
code=$?
[ "$code" -eq 0 ] || fail "kestrel run exited $code: $(tail -5 "$tmp/err")"
grep -q "kernel drops: 0, user drops: 0" "$tmp/err" || echo "note: $(grep summary "$tmp/err")"
echo "alerts of the run, by rule:"
grep -o '"rule_id":"[^"]*"' "$tmp/alerts.jsonl" 2>/dev/null | sort | uniq -c
if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "rules live: all staged scenarios alerted within 2 s"
