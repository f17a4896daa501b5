#!/usr/bin/env bash
# End-to-end checks of the `kestrel` binary, as a user (and the issue's acceptance) runs it.
# Usage: cli_test.sh KESTREL_BINARY SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/shared_data.sh" || exit 1
kestrel=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cd "$src" || exit 1

# 1. The acceptance command: one good event, one malformed line, from stdin.
printf '%s\n' '{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process","type":"start"},"process":{"pid":1,"name":"bash"}}' 'not json' \
  | "$kestrel" run --source ndjson:- >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 0 ] || fail "acceptance run exited $code"
grep -q "events read: 1," "$tmp/err" || fail "summary does not say 1 event read: $(cat "$tmp/err")"
grep -q "malformed lines: 1," "$tmp/err" || fail "summary does not say 1 malformed line"
grep -q "<stdin>:2: malformed event skipped" "$tmp/err" || fail "malformed line 2 not reported with its number"

# 2. --version, --help and exit codes.
"$kestrel" --version | grep -q '^kestrel [0-9]' || fail "--version"
"$kestrel" --help | grep -q "Exit codes" || fail "--help lacks exit codes"
"$kestrel" run --help | grep -q -- "--source" || fail "run --help lacks --source"
"$kestrel" --no-such-flag >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown flag should exit 2"
"$kestrel" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no subcommand should exit 2"
"$kestrel" run --source ndjson:/nonexistent.ndjson >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing source should exit 1"
"$kestrel" run --rules /nonexistent-rules --source ndjson:- </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing rule dir should exit 2"
"$kestrel" --log-level loud run --source ndjson:- </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad log level should exit 2"

# 3. The bundled demo runs with the default rule directory, and --output writes a file.
"$kestrel" run --source ndjson:examples/demo-events.ndjson --output "$tmp/alerts.jsonl" 2>"$tmp/err"
[ $? -eq 0 ] || fail "demo run failed: $(cat "$tmp/err")"
grep -q "malformed lines: 0" "$tmp/err" || fail "demo events should all be well-formed: $(cat "$tmp/err")"
grep -q "rule directory rules" "$tmp/err" || fail "default rule directory ./rules not used: $(cat "$tmp/err")"
[ -f "$tmp/alerts.jsonl" ] || fail "--output file not created"

# 4. JSON array input and an Endgame-style time field.
data="$src/../shared/conformance/eql/endgame/test_data.json"
if have_shared_data "$data" "the JSON array input check"; then
  "$kestrel" run --source "ndjson:$data" --time-field timestamp --time-format filetime \
    2>"$tmp/err" >/dev/null
  grep -q "events read: 102, malformed lines: 0" "$tmp/err" || fail "array input: $(cat "$tmp/err")"
  grep -q "events without a time" "$tmp/err" && fail "filetime field not used"
fi

# 5. --log-level error silences info and warnings but not the summary.
printf '{}\n' | "$kestrel" --log-level error run --source ndjson:- 2>"$tmp/err" >/dev/null
grep -q "^info" "$tmp/err" && fail "--log-level error still logs info"
grep -q "summary:" "$tmp/err" || fail "summary missing at --log-level error"

# 6. compile: the seed sequence as written; errors with position and caret; exit codes.
seed='sequence by process.entity_id [process where process.executable == "/bin/bash"] [file where file.path == "/etc/passwd"] [process where process.executable == "wc"] with maxspan=5s'
printf '%s' "$seed" | "$kestrel" compile --emit ir - >"$tmp/out" 2>"$tmp/err" || fail "seed sequence does not compile: $(cat "$tmp/err")"
grep -q '(maxspan_ns 5000000000)' "$tmp/out" || fail "compile --emit ir output: $(cat "$tmp/out")"
printf '%s' "$seed" | "$kestrel" compile --emit ast - >"$tmp/out" 2>&1 || fail "compile --emit ast"
printf 'process where process.name == "a" and\n  startsWith(process.pid, "b")' >"$tmp/bad.eql"
"$kestrel" compile "$tmp/bad.eql" >"$tmp/out" 2>"$tmp/err"; [ $? -eq 1 ] || fail "compile of a bad query should exit 1"
grep -q "bad.eql:2:14: error: argument 1 of \`startsWith\` must be a string, not a number" "$tmp/err" || fail "compile diagnostic: $(cat "$tmp/err")"
grep -q '^               \^~~~~~~~~~~$' "$tmp/err" || fail "compile caret: $(cat "$tmp/err")"

# 7. check: the default pack is clean; a broken rule fails with file:line:col and the summary.
"$kestrel" check --summary rules >"$tmp/out" 2>&1 || fail "check of the default pack failed: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -Eq '^[0-9]+ rules: [0-9]+ ok, 0 failed, 0 skipped$' || fail "check summary: $(tail -n 1 "$tmp/out")"
mkdir -p "$tmp/rules"
cp rules/linux/*.eql "$tmp/rules/"
pack=$(ls rules/linux/*.eql | wc -l)
printf 'process where process.name == ("unclosed"\n' >"$tmp/rules/broken.eql"
"$kestrel" check --summary "$tmp/rules" >"$tmp/out" 2>&1; [ $? -eq 1 ] || fail "check with a broken rule should exit 1"
grep -q "broken.eql:1:" "$tmp/out" || fail "check diagnostic lacks file:line:col: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -q "rules: $pack ok, 1 failed, 0 skipped" || fail "check summary with a failure: $(tail -n 1 "$tmp/out")"
# 7b. check --live-coverage: one line per rule, the summary line last; every rule of the default
# pack can fire on live events; a rule that cannot says why; a broken rule exits 1.
"$kestrel" check --live-coverage rules >"$tmp/out" 2>&1 || fail "live coverage of the default pack: $(tail -n 5 "$tmp/out")"
tail -n 1 "$tmp/out" | grep -Eq "^$pack rules: $pack can fire live, 0 cannot$" || fail "live coverage summary: $(tail -n 1 "$tmp/out")"
mkdir -p "$tmp/cov"
printf 'process where event.action == "shmget"\n' >"$tmp/cov/shm.eql"
printf 'process where event.type == "start" and not process.name : "x*"\n' >"$tmp/cov/exec.eql"
"$kestrel" check --live-coverage "$tmp/cov" >"$tmp/out" 2>&1 || fail "live coverage of two rules: $(cat "$tmp/out")"
grep -q "shm.eql: shm: cannot fire live: event.action never emitted for process: shmget" "$tmp/out" || fail "live coverage reason: $(cat "$tmp/out")"
grep -q "exec.eql: exec: can fire live" "$tmp/out" || fail "live coverage of a firing rule: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -qx "2 rules: 1 can fire live, 1 cannot" || fail "live coverage summary: $(tail -n 1 "$tmp/out")"
"$kestrel" check --live-coverage "$tmp/rules" >"$tmp/out" 2>&1; [ $? -eq 1 ] || fail "live coverage with a broken rule should exit 1"
"$kestrel" run --rules "$tmp/rules" --source ndjson:examples/demo-events.ndjson >/dev/null 2>"$tmp/err"
[ $? -eq 0 ] || fail "run must go on when one rule is bad"
grep -q "rules: $pack loaded, 1 failed" "$tmp/err" || fail "run summary with a bad rule: $(tail -n 2 "$tmp/err")"

# 8. run raises alerts on the demo; query runs hunting queries with pipes.
"$kestrel" run --source ndjson:examples/demo-events.ndjson >"$tmp/alerts" 2>"$tmp/err" || fail "demo run"
grep -q '"rule_id":"shell_reads_passwd_then_wc"' "$tmp/alerts" || fail "demo sequence alert missing: $(cat "$tmp/err")"
grep -q '"entity_key":"process.entity_id=\\"p-3301\\""' "$tmp/alerts" || fail "sequence alert entity key: $(grep passwd "$tmp/alerts" | head -c 300)"
grep -q "alerts: 6," "$tmp/err" || fail "demo should raise 6 alerts: $(tail -n 1 "$tmp/err")"
if have_shared_data "$data" "the query checks over the conformance data"; then
  n=$("$kestrel" query --count --dialect endgame --input "$data" 'process where true')
  [ "$n" = 74 ] || fail "query --count gave '$n'"
  ids=$("$kestrel" query --dialect endgame --input "$data" 'process where serial_event_id < 4 | tail 2' | grep -o '"serial_event_id":[0-9]*' | tr '\n' ' ')
  [ "$ids" = '"serial_event_id":2 "serial_event_id":3 ' ] || fail "query output: $ids"
fi
"$kestrel" query --input examples/demo-events.ndjson 'process where process.name ==' >/dev/null 2>"$tmp/err"; [ $? -eq 1 ] || fail "bad query should exit 1"
grep -q "^query:1:" "$tmp/err" || fail "query diagnostic: $(cat "$tmp/err")"
# count over an array field: one group per element, never a null key (issue 24).
printf '%s\n' '{"@timestamp":"2026-01-01T00:00:00Z","event":{"category":["process","host"]},"n":1}' \
  '{"@timestamp":"2026-01-01T00:00:01Z","event":{"category":["process"]},"n":2}' >"$tmp/arrays.ndjson"
"$kestrel" query --input "$tmp/arrays.ndjson" 'any where true | count event.category' >"$tmp/out" 2>"$tmp/err" || fail "count over an array: $(cat "$tmp/err")"
[ "$(tr -d ' ' <"$tmp/out" | grep -o '"key":[^,}]*' | tr '\n' ' ')" = '"key":"host" "key":"process" ' ] || fail "count over an array: $(cat "$tmp/out")"
n=$("$kestrel" query --count --input "$tmp/arrays.ndjson" 'any where n !: 1 | count event.category')
[ "$n" = 1 ] || fail "query --count with !: and count over an array gave '$n'"

# 10. Record, inspect, convert back, replay: replay writes exactly what run writes, with any
#     number of workers, and the digest is stable.
"$kestrel" record --source ndjson:examples/demo-events.ndjson --output "$tmp/demo.klog" 2>"$tmp/err" \
  || fail "record: $(cat "$tmp/err")"
grep -q "events written: 19" "$tmp/err" || fail "record summary: $(cat "$tmp/err")"
"$kestrel" log info "$tmp/demo.klog" >"$tmp/info" 2>&1 || fail "log info: $(cat "$tmp/info")"
grep -q "^events: 19" "$tmp/info" || fail "log info events: $(cat "$tmp/info")"
grep -q "^footer: 1 blocks, 19 events" "$tmp/info" || fail "log info footer: $(cat "$tmp/info")"
"$kestrel" log cat "$tmp/demo.klog" >"$tmp/cat.ndjson" 2>"$tmp/err" || fail "log cat: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/cat.ndjson")" -eq 19 ] || fail "log cat should print 19 events"
"$kestrel" run --workers 1 --source ndjson:examples/demo-events.ndjson >"$tmp/run.jsonl" 2>/dev/null
"$kestrel" run --source "ndjson:$tmp/cat.ndjson" >"$tmp/run_cat.jsonl" 2>/dev/null
cmp -s "$tmp/run.jsonl" "$tmp/run_cat.jsonl" || fail "run over log cat output differs from run over the original"
# query reads logs, directories of them, JSON and stdin, in the order given; --from/--to prune
# log blocks by time; every printed event has @timestamp (issue 24, item 1).
n=$("$kestrel" query --count 'any where true' "$tmp/demo.klog" 2>"$tmp/err")
[ "$n" = 19 ] || fail "query --count over a log gave '$n': $(cat "$tmp/err")"
"$kestrel" query 'process where true' examples/demo-events.ndjson >"$tmp/q_json" 2>&1 || fail "query over NDJSON"
"$kestrel" query 'process where true' "$tmp/demo.klog" >"$tmp/q_log" 2>&1 || fail "query over a log"
[ -s "$tmp/q_log" ] && cmp -s "$tmp/q_json" "$tmp/q_log" || fail "query over a log differs from over its NDJSON"
mkdir "$tmp/logdir" && cp "$tmp/demo.klog" "$tmp/logdir/a.klog"
n=$(cat examples/demo-events.ndjson | "$kestrel" query --count 'any where true' - "$tmp/logdir" 2>"$tmp/err")
[ "$n" = 38 ] || fail "query over stdin and a directory gave '$n': $(cat "$tmp/err")"
n=$("$kestrel" query --count 'any where true' <(cat examples/demo-events.ndjson) 2>"$tmp/err")
[ "$n" = 19 ] || fail "query over a FIFO gave '$n': $(cat "$tmp/err")"
"$kestrel" query --count --stats --to 2000-01-01 'any where true' "$tmp/demo.klog" >"$tmp/out" 2>"$tmp/err"
[ "$(cat "$tmp/out")" = 0 ] && grep -q "blocks 1 total / 0 read / 1 pruned, events 0 read / 0 in range" "$tmp/err" \
  || fail "query --stats with a range before the log: $(cat "$tmp/out" "$tmp/err")"
n=$("$kestrel" query --count --from=-1s 'any where true' "$tmp/demo.klog" 2>"$tmp/err")
[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -lt 19 ] || fail "query --from=-1s gave '$n': $(cat "$tmp/err")"
"$kestrel" query --from yesterday 'any where true' "$tmp/demo.klog" >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "error: --from: 'yesterday' is not a time: expected RFC 3339" "$tmp/err" \
  || fail "a bad --from should exit 2 naming the value: $(cat "$tmp/err")"
"$kestrel" query 'any where true' "$tmp/nope.klog" >/dev/null 2>"$tmp/err"; [ $? -eq 1 ] || fail "a missing input should exit 1"
grep -q "nope.klog" "$tmp/err" || fail "a missing input is named: $(cat "$tmp/err")"
printf '%s\n' '{"event":{"category":"process"},"timestamp":133500000000000000,"process_name":"a.exe"}' \
  | "$kestrel" query --dialect endgame 'process where true' >"$tmp/out" 2>"$tmp/err"
grep -q '"@timestamp":"2024-01-17T21:20:00.000Z"' "$tmp/out" || fail "query output without @timestamp: $(cat "$tmp/out" "$tmp/err")"
grep -q $'\r' "$tmp/err" && fail "a progress line was written to a file"
if have_shared_data "$data" "the log-input query checks over the conformance data"; then
  # A --count over a log decodes only the fields the query reads: the same counts as over JSON.
  "$kestrel" record --dialect endgame --source "ndjson:$data" --output "$tmp/conf.klog" 2>"$tmp/err" \
    || fail "record of the conformance data: $(cat "$tmp/err")"
  for q in 'process where true' 'any where true | count process_name' \
    'file where file_name : "*.exe" and not process_name : "cmd*"' \
    'sequence by unique_pid [process where opcode == 1] [file where true] | head 3' \
    'process where descendant of [process where process_name == "cmd.exe"]' \
    'process where process_name != null and length(command_line) > 10 | unique parent_process_name'; do
    a=$("$kestrel" query --count --dialect endgame "$q" "$data" 2>&1)
    b=$("$kestrel" query --count --dialect endgame "$q" "$tmp/conf.klog" 2>&1)
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "query --count '$q': $a over JSON, $b over the log"
  done
fi
# Worker threads change nothing in the output.
"$kestrel" run --workers 3 --source ndjson:examples/demo-events.ndjson >"$tmp/run_w3.jsonl" 2>"$tmp/err" \
  || fail "run --workers 3: $(cat "$tmp/err")"
cmp -s "$tmp/run.jsonl" "$tmp/run_w3.jsonl" || fail "run --workers 3 output differs from --workers 1"
grep -q "workers: 3, queue drops: 0" "$tmp/err" || fail "run --workers summary: $(cat "$tmp/err")"
"$kestrel" run --workers 300 --source ndjson:examples/demo-events.ndjson >/dev/null 2>&1; [ $? -eq 2 ] \
  || fail "--workers 300 should exit 2"
# The default: one worker per core, the same alerts.
"$kestrel" run --source ndjson:examples/demo-events.ndjson >"$tmp/run_auto.jsonl" 2>"$tmp/err" ||
  fail "run with the default workers: $(cat "$tmp/err")"
cmp -s "$tmp/run.jsonl" "$tmp/run_auto.jsonl" || fail "run with one worker per core differs"
grep -q "workers: $(nproc), queue drops: 0" "$tmp/err" || [ "$(nproc)" = 1 ] ||
  fail "default workers should be one per core: $(grep workers "$tmp/err")"
"$kestrel" replay "$tmp/demo.klog" >"$tmp/replay1.jsonl" 2>"$tmp/err" || fail "replay: $(cat "$tmp/err")"
cmp -s "$tmp/run.jsonl" "$tmp/replay1.jsonl" || fail "replay output differs from run output"
"$kestrel" replay "$tmp/demo.klog" --workers 2 >"$tmp/replay2.jsonl" 2>/dev/null
cmp -s "$tmp/run.jsonl" "$tmp/replay2.jsonl" || fail "replay --workers 2 output differs"
d1=$("$kestrel" replay "$tmp/demo.klog" --digest 2>/dev/null)
d2=$("$kestrel" replay "$tmp/demo.klog" --digest --workers 3 2>/dev/null)
want="sha256:$(sha256sum <"$tmp/run.jsonl" | cut -d' ' -f1) alerts:6 events:19"
[ "$d1" = "$want" ] || fail "replay --digest: '$d1', want '$want'"
[ "$d1" = "$d2" ] || fail "digest depends on workers: '$d1' vs '$d2'"
"$kestrel" replay "$tmp/demo.klog" --speed 1000x --digest >"$tmp/d3" 2>/dev/null
[ "$(cat "$tmp/d3")" = "$want" ] || fail "paced replay digest: $(cat "$tmp/d3")"
"$kestrel" replay "$tmp/demo.klog" --speed fast >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad --speed should exit 2"
"$kestrel" replay /nonexistent.klog >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing log should exit 1"
"$kestrel" stats --metrics-addr 127.0.0.1:1 >/dev/null 2>"$tmp/err"; [ $? -eq 1 ] && grep -q "no Kestrel metrics" "$tmp/err" \
  || fail "stats without a running instance should exit 1 with a reason: $(cat "$tmp/err")"
"$kestrel" record --source ndjson:examples/demo-events.ndjson --output "$tmp/demo.klog" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "already exists" "$tmp/err" || fail "record over an existing log should exit 1: $(cat "$tmp/err")"
# Damage: a flipped byte inside the block is reported with its offset; the command fails.
cp "$tmp/demo.klog" "$tmp/bad.klog"
printf '\x00' | dd of="$tmp/bad.klog" bs=1 seek=200 conv=notrunc status=none
"$kestrel" log info "$tmp/bad.klog" >"$tmp/info" 2>"$tmp/err"; [ $? -eq 1 ] || fail "log info on a damaged log should exit 1"
grep -q "bad.klog:[0-9]*: damaged log data: block payload checksum mismatch" "$tmp/err" \
  || fail "damage not reported with offset: $(cat "$tmp/err")"
grep -q "^blocks: 0 (1 damaged)" "$tmp/info" || fail "log info damage count: $(cat "$tmp/info")"
# doctor: one line per probe, then the verdict; on this kind of machine (root, BTF) live
# collection must be reported possible.
"$kestrel" doctor >"$tmp/doctor" 2>&1 || fail "doctor exited non-zero: $(cat "$tmp/doctor")"
grep -q "^ok   kernel " "$tmp/doctor" || fail "doctor: $(cat "$tmp/doctor")"
grep -q "^  replay, rules, offline analysis: yes" "$tmp/doctor" || fail "doctor verdict: $(cat "$tmp/doctor")"
if [ "$(id -u)" -eq 0 ] && [ -r /sys/kernel/btf/vmlinux ] && grep -q "^ok   raw tracepoints" "$tmp/doctor"; then
  grep -q "live collection (kestrel run):   yes" "$tmp/doctor" || fail "doctor live verdict: $(cat "$tmp/doctor")"
fi
# The BPF LSM line is the probe's verdict (load and attach), never the LSM list alone: the
# programs load, or the kernel's reason and the fallback (or no eBPF in this build).
grep -Eq "^(ok   BPF LSM +programs load and attach|no   BPF LSM +(bpf not in the active LSM list|BPF LSM program refused at|cannot open the BPF LSM object).* — blocking uses fanotify$|no   BPF LSM +not probed: this build has no eBPF)" "$tmp/doctor" \
  || fail "doctor BPF LSM line: $(grep 'BPF LSM' "$tmp/doctor")"
# Configuration file: applied, overridden by the command line, checked with `config check`.
printf 'run:\n  workers: 2\n  output: %s\n  reload: false\n' "$tmp/cfg_alerts.jsonl" >"$tmp/kestrel.yaml"
"$kestrel" --config "$tmp/kestrel.yaml" config check >"$tmp/cfg_out" 2>&1 || fail "config check: $(cat "$tmp/cfg_out")"
grep -q "workers: 2" "$tmp/cfg_out" || fail "config check output: $(cat "$tmp/cfg_out")"
"$kestrel" --config "$tmp/kestrel.yaml" run --source ndjson:examples/demo-events.ndjson 2>"$tmp/err" \
  || fail "run with config: $(cat "$tmp/err")"
cmp -s "$tmp/run.jsonl" "$tmp/cfg_alerts.jsonl" || fail "run with a config file wrote other alerts"
grep -q "workers: 2" "$tmp/err" || fail "config workers not applied: $(cat "$tmp/err")"
"$kestrel" --config "$tmp/kestrel.yaml" run --workers 1 --output - --source ndjson:examples/demo-events.ndjson \
  >"$tmp/cfg_cli.jsonl" 2>"$tmp/err"
grep -q "workers:" "$tmp/err" && fail "--workers 1 on the command line should override the file"
cmp -s "$tmp/run.jsonl" "$tmp/cfg_cli.jsonl" || fail "--output - should override the file"
printf 'run:\n  wokers: 2\n' >"$tmp/bad.yaml"
"$kestrel" --config "$tmp/bad.yaml" run >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "bad config should exit 2"
grep -q "bad.yaml:2:3: unknown key 'run.wokers'" "$tmp/err" || fail "bad config message: $(cat "$tmp/err")"
# Hot reload: a rule added while events stream in applies to the next events; a broken set is
# refused and the running one keeps detecting.
mkdir -p "$tmp/hr"
printf '// severity: low\nprocess where process.name == "one"\n' >"$tmp/hr/one.eql"
mkfifo "$tmp/fifo"
"$kestrel" run --workers 2 --rules "$tmp/hr" --source ndjson:- --metrics-addr 127.0.0.1:0 <"$tmp/fifo" \
  >"$tmp/hr.jsonl" 2>"$tmp/hr.err" &
hr_pid=$!
exec 3>"$tmp/fifo"
ev() { printf '{"@timestamp":"2026-01-01T00:00:0%sZ","event":{"category":["process"]},"process":{"name":"%s"}}\n' "$1" "$2" >&3; }
ev 1 one
sleep 0.5
printf '// severity: low\nprocess where process.name == "two"\n' >"$tmp/hr/two.eql"
sleep 0.8
ev 2 two
sleep 0.3
printf 'process where (\n' >"$tmp/hr/broken.eql"
sleep 0.8
ev 3 one
sleep 0.8
ev 4 none
sleep 0.3
# Metrics of the running instance, through `kestrel stats`.
port=$(grep -o 'metrics: http://127.0.0.1:[0-9]*' "$tmp/hr.err" | grep -o '[0-9]*$')
"$kestrel" stats --metrics-addr "127.0.0.1:$port" >"$tmp/stats" 2>&1 || fail "kestrel stats: $(cat "$tmp/stats")"
grep -q '^kestrel_rule_alerts_total{rule="one"} 2$' "$tmp/stats" || fail "stats: $(cat "$tmp/stats")"
grep -q '^kestrel_rule_reload_failures_total 1$' "$tmp/stats" || fail "stats reloads: $(grep reload "$tmp/stats")"
"$kestrel" rules --metrics-addr "127.0.0.1:$port" >"$tmp/rules_out" 2>&1 || fail "kestrel rules: $(cat "$tmp/rules_out")"
grep -q "^rule set version 2, loaded 20[0-9-]*T" "$tmp/rules_out" || fail "kestrel rules header: $(cat "$tmp/rules_out")"
grep -Eq "^two +1 " "$tmp/rules_out" || fail "kestrel rules rows: $(cat "$tmp/rules_out")"
# Per-rule evaluation times (sampled; reset when a reload loads the set): the histogram and the
# `rules --top` profile.
grep -Eq '^kestrel_rule_eval_seconds_count\{rule="two"\} [1-9]' "$tmp/stats" ||
  fail "eval-time histogram: $(grep eval_seconds "$tmp/stats")"
grep -Eq '^kestrel_rule_eval_seconds_bucket\{rule="two",le="\+Inf"\} [1-9]' "$tmp/stats" ||
  fail "eval-time buckets: $(grep eval_seconds "$tmp/stats")"
"$kestrel" rules --top 5 --metrics-addr "127.0.0.1:$port" >"$tmp/top_out" 2>&1 ||
  fail "kestrel rules --top: $(cat "$tmp/top_out")"
grep -q "the 2 most expensive of 2 rules" "$tmp/top_out" || fail "rules --top: $(cat "$tmp/top_out")"
grep -Eq "^ +1 (one|two) +[0-9]+ +[0-9.]+ +<=[0-9.]+ " "$tmp/top_out" ||
  fail "rules --top rows: $(cat "$tmp/top_out")"
grep -q '^kestrel_events_total{source="ndjson:-",category="process"} [34]$' "$tmp/stats" \
  || fail "stats events: $(grep events_total "$tmp/stats")"
exec 3>&-
wait $hr_pid || fail "run with hot reload failed: $(cat "$tmp/hr.err")"
[ "$(grep -c '"rule_id":"one"' "$tmp/hr.jsonl")" -eq 2 ] || fail "rule one should alert twice: $(cat "$tmp/hr.jsonl")"
[ "$(grep -c '"rule_id":"two"' "$tmp/hr.jsonl")" -eq 1 ] || fail "the added rule did not alert: $(cat "$tmp/hr.err")"
grep -q "rule reloads: 1 (1 refused)" "$tmp/hr.err" || fail "reload counts: $(cat "$tmp/hr.err")"
grep -q "rule reload refused" "$tmp/hr.err" || fail "the broken set was not refused: $(cat "$tmp/hr.err")"
# A flight recording names the events that led up to each alert, readable as a log.
"$kestrel" run --source ndjson:examples/demo-events.ndjson --flight-recorder 60s \
  --flight-recorder-dir "$tmp/flight" >"$tmp/fr.jsonl" 2>"$tmp/err" || fail "flight recorder run: $(cat "$tmp/err")"
rec=$(grep -o '"flight_recording":"[^"]*"' "$tmp/fr.jsonl" | head -n 1 | cut -d'"' -f4)
[ -n "$rec" ] && [ -f "$rec" ] || fail "alert without a flight recording: $(head -c 300 "$tmp/fr.jsonl")"
[ -n "$rec" ] && { "$kestrel" log cat "$rec" | grep -q . || fail "empty flight recording"; }

# Alert sinks (--sink, run.sinks): a file sink in ECS format beside --output, a filtered sink,
# a TCP syslog sink whose server is down (the alerts wait in its spool, the summary says so, and
# the next run delivers them once a listener is there), bad sinks as usage errors.
"$kestrel" run --source ndjson:examples/demo-events.ndjson --output "$tmp/sk.jsonl" \
  --sink "file:$tmp/sk.ecs.jsonl#format=ecs&spool_dir=$tmp/spool" \
  --sink "file:$tmp/sk.crit.jsonl#min_severity=critical&spool_dir=$tmp/spool" 2>"$tmp/err" \
  || fail "run with sinks: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/sk.ecs.jsonl")" -eq "$(wc -l <"$tmp/sk.jsonl")" ] || fail "ECS sink line count"
grep -q '"kind":"signal"' "$tmp/sk.ecs.jsonl" || fail "ECS sink: $(head -c 300 "$tmp/sk.ecs.jsonl")"
[ -s "$tmp/sk.crit.jsonl" ] && fail "min_severity=critical let a lower alert through"
grep -q "sink file:$tmp/sk.ecs.jsonl: delivered $(wc -l <"$tmp/sk.jsonl")," "$tmp/err" || fail "sink summary: $(cat "$tmp/err")"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$kestrel" run --source ndjson:examples/demo-events.ndjson --output /dev/null \
  --sink "syslog+tcp://127.0.0.1:$port#spool_dir=$tmp/spool&backoff=50ms" 2>"$tmp/err" \
  || fail "run with a dead syslog sink: $(cat "$tmp/err")"
alerts=$(wc -l <"$tmp/sk.jsonl")
grep -q "left in spool $alerts" "$tmp/err" || fail "dead sink: alerts not left in the spool: $(cat "$tmp/err")"
python3 - "$port" "$tmp/syslog.out" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(3); data = b""
try:
    while True:
        d = c.recv(65536)
        if not d: break
        data += d
except socket.timeout:
    pass
open(sys.argv[2], "wb").write(data)
PY
listener=$!
sleep 0.5
printf '' | "$kestrel" run --source ndjson:- --output /dev/null \
  --sink "syslog+tcp://127.0.0.1:$port#spool_dir=$tmp/spool" 2>"$tmp/err" || fail "spool replay run: $(cat "$tmp/err")"
grep -q "left in spool 0" "$tmp/err" || fail "spooled alerts not delivered by the next run: $(cat "$tmp/err")"
wait "$listener"
[ "$(grep -o '<1[0-9][0-9]>1 ' "$tmp/syslog.out" | wc -l)" -eq "$alerts" ] || fail "syslog listener got: $(head -c 300 "$tmp/syslog.out")"
"$kestrel" run --source ndjson:- --sink 'smtp://x' </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown sink kind should exit 2"
"$kestrel" run --source ndjson:- --sink 'file:/tmp/x#nope=1' </dev/null >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown sink option should exit 2"
printf 'run:\n  sinks:\n    - url: kafka://k/t\n      rotate_size: 1M\n' >"$tmp/sinks.yaml"
"$kestrel" --config "$tmp/sinks.yaml" config check >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "config check accepted a bad sink option"
grep -q "sinks.yaml:4:7: sink 'kafka://k/t': unknown option 'rotate_size'" "$tmp/err" || fail "bad sink option not located: $(cat "$tmp/err")"
# Credentials in a sink's URL never reach stderr (the journal) or the spool's file name.
"$kestrel" run --source ndjson:examples/demo-events.ndjson --output /dev/null \
  --sink "http://alice:pw-secret@127.0.0.1:1/h?token=tok-secret#spool_dir=$tmp/secretspool&backoff=10ms" \
  2>"$tmp/err" || fail "run with a credential in a sink URL: $(cat "$tmp/err")"
grep -q "sink http://\*\*\*@127.0.0.1:1/h?token=\*\*\*" "$tmp/err" || fail "sink not named redacted: $(cat "$tmp/err")"
! grep -q -e pw-secret -e tok-secret "$tmp/err" || fail "a sink credential was printed: $(grep -e pw-secret -e tok-secret "$tmp/err")"
! ls "$tmp/secretspool" | grep -q -e pw-secret -e tok-secret || fail "a sink credential is in a spool file name"
# Metrics other machines can reach only with --metrics-allow-remote (or run.metrics_allow_remote).
"$kestrel" run --source ndjson:- --metrics-addr 0.0.0.0:0 </dev/null >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q -- "--metrics-allow-remote" "$tmp/err" || fail "remote --metrics-addr should exit 2: $(cat "$tmp/err")"
"$kestrel" run --source ndjson:- --metrics-addr 0.0.0.0:0 --metrics-allow-remote </dev/null >/dev/null 2>"$tmp/err" \
  || fail "--metrics-allow-remote: $(cat "$tmp/err")"
grep -q "exposed to other machines" "$tmp/err" || fail "remote metrics not logged: $(cat "$tmp/err")"
printf 'run:\n  metrics_addr: 0.0.0.0:9464\n' >"$tmp/remote.yaml"
"$kestrel" --config "$tmp/remote.yaml" config check >/dev/null 2>&1; [ $? -eq 2 ] || fail "config check accepted a remote metrics_addr"
printf 'run:\n  metrics_addr: 0.0.0.0:9464\n  metrics_allow_remote: true\n' >"$tmp/remote.yaml"
"$kestrel" --config "$tmp/remote.yaml" config check >/dev/null 2>"$tmp/err" || fail "metrics_allow_remote: $(cat "$tmp/err")"

# Stopping (pipeline/stop.h): `kestrel run --source ndjson:-` fed by a pipe that stays open ends
# within 1 s of SIGINT or SIGTERM, with exit 0 and the summary line; the alerts a webhook that
# never answers could not take stay in the sink's spool (not lost).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); s.settimeout(30)
held = []
end = time.time() + 30
try:
    while time.time() < end:
        c, _ = s.accept(); held.append(c)  # accepts, reads nothing, never answers
except socket.timeout:
    pass
PY
slow=$!
sleep 0.3
for sig in INT TERM; do
  rm -rf "$tmp/slowspool"
  mkfifo "$tmp/feed.$sig"
  ( exec 3>"$tmp/feed.$sig"; cat examples/demo-events.ndjson >&3; sleep 20 ) &
  feeder=$!
  "$kestrel" run --source ndjson:- --output "$tmp/sig.jsonl" --workers 2 \
    --sink "http://127.0.0.1:$port/hook#spool_dir=$tmp/slowspool&timeout=30s" \
    <"$tmp/feed.$sig" 2>"$tmp/err.$sig" &
  pid=$!
  # Every event read and its alert written (the run then waits for more input).
  for _ in $(seq 600); do
    [ -f "$tmp/sig.jsonl" ] && [ "$(wc -l <"$tmp/sig.jsonl")" -ge "$(wc -l <"$tmp/run.jsonl")" ] && break
    sleep 0.1
  done
  sleep 0.2
  start=$(date +%s%N)
  kill -"$sig" "$pid"
  wait "$pid"; rc=$?
  took=$(( ($(date +%s%N) - start) / 1000000 ))
  pkill -P "$feeder" 2>/dev/null; kill "$feeder" 2>/dev/null; wait "$feeder" 2>/dev/null
  [ "$rc" -eq 0 ] || fail "SIG$sig on a pipe: exit $rc: $(tail -3 "$tmp/err.$sig")"
  echo "SIG$sig ended a piped run in ${took} ms"
  [ "$took" -lt "${KESTREL_STOP_LIMIT_MS:-1000}" ] || fail "SIG$sig on a pipe took ${took} ms to end the run"
  grep -q "^summary: events read: $(grep -c . examples/demo-events.ndjson)," "$tmp/err.$sig" \
    || fail "SIG$sig: no summary line: $(tail -3 "$tmp/err.$sig")"
  grep -q "sink http://127.0.0.1:$port/hook: delivered 0, .*left in spool $(wc -l <"$tmp/sig.jsonl")" "$tmp/err.$sig" \
    || fail "SIG$sig: a slow sink's alerts were not spooled: $(grep sink "$tmp/err.$sig")"
  rm -f "$tmp/sig.jsonl"
done
kill "$slow" 2>/dev/null; wait "$slow" 2>/dev/null

if [ "$failures" -eq 0 ]; then
  echo "cli_test: all checks passed"
  exit 0
fi
echo "cli_test: $failures check(s) failed"
exit 1
