#!/usr/bin/env bash
# False-positive budget of the default rule pack (issue 10): the logs in testdata/benign/,
# recorded with `kestrel record --source ebpf` on a build machine while Kestrel was being built
# and tested (testdata/benign/README.md), replay through rules/ with zero alerts. Also checks that
# the logs are the live recordings they claim to be (eBPF events, tens of thousands, every kind).
# Usage: rules_benign_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
logs=("$src"/testdata/benign/*.klog)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

[ -f "${logs[0]}" ] || { echo "FAIL: no benign logs in $src/testdata/benign"; exit 1; }
[ "$(cat "${logs[@]}" | wc -c)" -lt $((2 * 1024 * 1024)) ] || fail "the benign logs should stay under 2 MB"
"$kestrel" log cat "${logs[@]}" >"$tmp/events.ndjson" 2>"$tmp/err" || fail "log cat: $(cat "$tmp/err")"
events=$(wc -l <"$tmp/events.ndjson")
[ "$events" -ge 50000 ] || fail "only $events events in the benign logs"
grep -q '"dataset":"kestrel.ebpf"' "$tmp/events.ndjson" || fail "not an eBPF recording"
for action in exec fork creation modification deletion rename attributes_modified open; do
  grep -q "\"action\":\"$action\"" "$tmp/events.ndjson" || fail "no '$action' event in the benign logs"
done

"$kestrel" replay "${logs[@]}" --rules "$src/rules" >"$tmp/alerts.jsonl" 2>"$tmp/err"
code=$?
[ "$code" -eq 0 ] || fail "replay exited $code: $(tail -5 "$tmp/err")"
grep -q "rules: [0-9]* loaded, 0 failed" "$tmp/err" || fail "the pack did not load cleanly: $(grep summary "$tmp/err")"
grep -q "alerts: 0," "$tmp/err" || fail "the benign log raised alerts: $(grep summary "$tmp/err")"
if [ -s "$tmp/alerts.jsonl" ]; then
  fail "alerts on benign activity:"
  grep -o '"rule_id":"[^"]*"' "$tmp/alerts.jsonl" | sort | uniq -c
fi
if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "benign replay: $events events, 0 alerts"
