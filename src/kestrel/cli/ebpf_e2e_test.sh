#!/usr/bin/env bash
# End to end with live eBPF collection: `kestrel run` (no --source: eBPF is the default) with the
# default rule "File written to /tmp then executed from a shell" must raise exactly one alert
# when a shell writes a script under /tmp and runs it, and none for a benign look-alike (a file
# written under /tmp and only read). Also: without root, `kestrel run` exits 1 and says what is
# missing and how to read from a file instead.
# Needs root and a kernel with BPF and BTF; exits 77 (skipped, reason printed) otherwise.
# Usage: ebpf_e2e_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (loading BPF programs)"; exit 77; fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIPPED: no kernel BTF at /sys/kernel/btf/vmlinux"; exit 77; fi
tmp=$(mktemp -d /tmp/kestrel-e2e.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/rules" "$tmp/stage"
cp "$src/rules/linux/tmp_file_executed_by_shell.eql" "$tmp/rules/"
cp "$src/rules/linux/tmp_script_executed_by_shell.eql" "$tmp/rules/"  # #! scripts: args[1]

"$kestrel" run --rules "$tmp/rules" --duration 6s --output "$tmp/alerts.jsonl" 2>"$tmp/err" &
run_pid=$!
for _ in $(seq 1 100); do
  grep -qs "reading events from ebpf" "$tmp/err" && break
  sleep 0.1
done
grep -q "reading events from ebpf" "$tmp/err" || fail "kestrel run did not start: $(cat "$tmp/err")"

# The chain: a shell writes a script under /tmp, makes it executable and runs it (the trailing
# `true` keeps bash from exec'ing the script in place of itself).
bash -c "printf '#!/bin/sh\necho staged\n' > $tmp/stage/payload.sh; chmod +x $tmp/stage/payload.sh; $tmp/stage/payload.sh >/dev/null; true"
# The look-alike: a file written under /tmp by a shell, read, and an unrelated program run.
bash -c "printf 'notes\n' > $tmp/stage/notes.sh; cat $tmp/stage/notes.sh >/dev/null; /bin/true; true"

wait $run_pid
code=$?
[ "$code" -eq 0 ] || fail "kestrel run exited $code: $(cat "$tmp/err")"
grep -q "summary: events read: [1-9]" "$tmp/err" || fail "no events read: $(cat "$tmp/err")"
grep -q "kernel drops: 0, user drops: 0, parse failures: 0" "$tmp/err" || fail "losses: $(grep summary "$tmp/err")"
staged=$(grep -c "$tmp/stage/payload.sh" "$tmp/alerts.jsonl" 2>/dev/null || true)
[ "${staged:-0}" -eq 1 ] || fail "expected exactly 1 alert for the staged chain, got ${staged:-0}: $(cat "$tmp/alerts.jsonl" 2>/dev/null)"
benign=$(grep -c "$tmp/stage/notes.sh" "$tmp/alerts.jsonl" 2>/dev/null || true)
[ "${benign:-0}" -eq 0 ] || fail "the benign look-alike raised ${benign} alert(s)"
if [ "${staged:-0}" -eq 1 ]; then
  grep "$tmp/stage/payload.sh" "$tmp/alerts.jsonl" >"$tmp/alert.json"
  python3 - "$tmp/alert.json" "$tmp/stage/payload.sh" <<'PY' || fail "alert content: $(cat "$tmp/alert.json")"
import json, re, sys
a = json.load(open(sys.argv[1]))
path = sys.argv[2]
assert a["rule_id"] == "tmp_script_executed_by_shell", a["rule_id"]
f, p = a["events"][0]["fields"], a["events"][1]["fields"]
assert f["event"]["action"] == "creation", f["event"]
assert f["file"]["path"] == path and f["file"]["name"] == "payload.sh", f["file"]
assert f["process"]["name"] == "bash", f["process"]["name"]
# A #! script: the kernel's image is the interpreter, the script is args[1] (Elastic Defend's).
assert p["event"]["action"] == "exec" and p["process"]["args"][1] == path, p["process"]
assert p["process"]["parent"]["name"] == "bash", p["process"]["parent"]
# The shell that wrote the file is the parent of the process that ran it.
assert p["process"]["parent"]["entity_id"] == f["process"]["entity_id"], (p, f)
assert re.fullmatch("[0-9a-f]{32}", p["process"]["entity_id"])
assert "degraded" not in a["context"]
PY
fi

# Recording the live source: a marker exec lands in the log, and replay of the log raises the
# same alert as the live run when the chain is staged again.
"$kestrel" record --source ebpf --output "$tmp/live.klog" --duration 4s 2>"$tmp/rec_err" &
rec_pid=$!
for _ in $(seq 1 100); do
  grep -qs "recording this machine" "$tmp/rec_err" && break
  sleep 0.1
done
sleep 0.5
bash -c "printf '#!/bin/sh\necho staged\n' > $tmp/stage/again.sh; chmod +x $tmp/stage/again.sh; $tmp/stage/again.sh kestrel-record-marker >/dev/null; true"
wait $rec_pid || fail "record --source ebpf failed: $(cat "$tmp/rec_err")"
grep -q "events written: [1-9]" "$tmp/rec_err" || fail "record wrote no events: $(cat "$tmp/rec_err")"
"$kestrel" log cat "$tmp/live.klog" 2>/dev/null | grep -q "kestrel-record-marker" \
  || fail "the marker exec is not in the recorded log"
n=$("$kestrel" replay "$tmp/live.klog" --rules "$tmp/rules" 2>/dev/null | grep -c "again.sh")
[ "$n" -ge 1 ] || fail "replay of the live recording raised no alert for the staged chain"

# Without root: a clear message, exit 1.
if command -v setpriv >/dev/null; then
  setpriv --reuid=65534 --regid=65534 --clear-groups "$kestrel" run --rules "$tmp/rules" \
    --duration 1s >/dev/null 2>"$tmp/err_nonroot"
  code=$?
  [ "$code" -eq 1 ] || fail "non-root run exited $code (want 1): $(cat "$tmp/err_nonroot")"
  grep -q "root privileges" "$tmp/err_nonroot" || fail "non-root message: $(cat "$tmp/err_nonroot")"
  grep -q -- "--source ndjson:FILE" "$tmp/err_nonroot" || fail "non-root message lacks the fallback"
fi

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "ebpf end-to-end: ok"
