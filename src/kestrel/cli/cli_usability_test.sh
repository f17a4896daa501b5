#!/usr/bin/env bash
# End to end: a command line that never misleads (issue 22 item 4). `check` applies exactly the
# checks `run` applies and fails (exit 1) on a `| count` rule and on `maxspan=10`, warns on
# `proces where ...`, each with file:line:col and a caret; --strict and run --strict-rules;
# did-you-mean for commands and config keys; `help CMD`; option errors name the option first;
# --version; `compile` on rule files of every format and directories; test-rules' summary.
# Usage: cli_usability_test.sh KESTREL_BINARY SOURCE_DIR BUILD_TYPE
set -u
kestrel=$1
src=$2
build_type=${3:-}
cd "$src" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# has FILE TEXT: FILE holds the fixed string TEXT.
has() { grep -qF -- "$2" "$1"; }

# 1. The acceptance: check fails on a `| count` rule and on maxspan=10, warns on `proces`.
mkdir -p "$tmp/count" "$tmp/span" "$tmp/cat"
printf '// name: counted\nprocess where process.name == "sh" | count\n' >"$tmp/count/counted.eql"
"$kestrel" check "$tmp/count" >"$tmp/out" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "check of a | count rule exited $code: $(cat "$tmp/out")"
has "$tmp/out" "counted.eql:2:36: error: the \`count\` pipe needs every result before it can answer" \
  || fail "| count: no file:line:col error: $(cat "$tmp/out")"
has "$tmp/out" '  process where process.name == "sh" | count' || fail "| count: source line: $(cat "$tmp/out")"
grep -q "^  $(printf '%35s' '')^~~~~~~\$" "$tmp/out" || fail "| count: caret: $(cat "$tmp/out")"
# run refuses the same rule (skipped with the same diagnostic), and --strict-rules refuses to start.
printf '{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":"process"},"process":{"name":"sh"}}\n' >"$tmp/ev.ndjson"
"$kestrel" run --rules "$tmp/count" --source "ndjson:$tmp/ev.ndjson" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 0 ] || fail "run skips a broken rule by default, exited $code: $(cat "$tmp/err")"
has "$tmp/err" "counted.eql:2:36: error: the \`count\` pipe" || fail "run: the same diagnostic: $(cat "$tmp/err")"
"$kestrel" run --strict-rules --rules "$tmp/count" --source "ndjson:$tmp/ev.ndjson" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 1 ] || fail "run --strict-rules with a broken rule exited $code: $(cat "$tmp/err")"
has "$tmp/err" "--strict-rules: 1 rule failed to load" || fail "run --strict-rules message: $(cat "$tmp/err")"
"$kestrel" run --strict-rules --rules rules --source "ndjson:$tmp/ev.ndjson" >/dev/null 2>"$tmp/err" \
  || fail "run --strict-rules on the default pack: $(tail -5 "$tmp/err")"
# the other streaming refusals, in a YAML file (positions in the YAML file).
printf 'rules:\n  - id: uniq\n    query: process where true | unique_count process.name\n' >"$tmp/count/uniq.yaml"
"$kestrel" check --summary "$tmp/count" >"$tmp/out" 2>&1
has "$tmp/out" "uniq.yaml:3:31: error: the \`unique_count\` pipe" || fail "unique_count in YAML: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -qx "2 rules: 0 ok, 2 failed, 0 skipped" || fail "summary: $(tail -n 1 "$tmp/out")"

printf 'sequence by process.entity_id with maxspan=10\n  [process where true]\n  [file where true]\n' >"$tmp/span/span.eql"
"$kestrel" check "$tmp/span" >"$tmp/out" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "check of maxspan=10 exited $code: $(cat "$tmp/out")"
has "$tmp/out" "span.eql:1:44: error: Missing time unit. Did you mean 10s?" || fail "maxspan=10: $(cat "$tmp/out")"
grep -q "^  $(printf '%43s' '')^~\$" "$tmp/out" || fail "maxspan=10: caret: $(cat "$tmp/out")"
"$kestrel" check --dialect endgame "$tmp/span" >"$tmp/out" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "endgame: check of maxspan=10 exited $code"
has "$tmp/out" "Did you mean 10s?" || fail "endgame maxspan=10: $(cat "$tmp/out")"

printf 'proces where process.name == "sh"\n' >"$tmp/cat/typo.eql"
"$kestrel" check "$tmp/cat" >"$tmp/out" 2>&1; code=$?
[ "$code" -eq 0 ] || fail "a warning alone must not fail check, exited $code: $(cat "$tmp/out")"
has "$tmp/out" "typo.eql:1:1: warning: unknown event category \`proces\`, did you mean process?" \
  || fail "proces: $(cat "$tmp/out")"
grep -q '^  \^~~~~~$' "$tmp/out" || fail "proces: caret: $(cat "$tmp/out")"
# --strict: the warning fails the rule.
"$kestrel" check --strict --summary "$tmp/cat" >"$tmp/out" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "check --strict with a warning exited $code"
has "$tmp/out" "typo.eql:1:1: error: unknown event category \`proces\`, did you mean process? (--strict)" \
  || fail "--strict rendering: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -qx "1 rule: 0 ok, 1 failed, 0 skipped" || fail "--strict summary: $(tail -n 1 "$tmp/out")"
# Endgame custom event types do not warn; `any` does not warn.
printf 'image_load where true\n' >"$tmp/cat/il.eql"
printf 'any where true\n' >"$tmp/cat/any.eql"
rm "$tmp/cat/typo.eql"
"$kestrel" check --strict --dialect endgame "$tmp/cat" >"$tmp/out" 2>&1 || fail "endgame image_load/any: $(cat "$tmp/out")"
# The default pack is clean even under --strict.
"$kestrel" check --strict rules >"$tmp/out" 2>&1 || fail "check --strict rules: $(head -20 "$tmp/out")"

# 2. Config durations need a unit too.
printf 'run:\n  reload_compile_budget: 60\n' >"$tmp/dur.yaml"
"$kestrel" --config "$tmp/dur.yaml" config check >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "a unit-less config duration exited $code"
has "$tmp/err" "Missing time unit. Did you mean 60s?" || fail "config duration: $(cat "$tmp/err")"
"$kestrel" run --duration 5 --source "ndjson:$tmp/ev.ndjson" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "run --duration 5 exited $code"
has "$tmp/err" "--duration: " || fail "--duration error names the flag: $(cat "$tmp/err")"
has "$tmp/err" "Did you mean 5s?" || fail "--duration 5: $(cat "$tmp/err")"

# 3. Did you mean: commands and config keys.
"$kestrel" chek rules >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "unknown command exited $code"
has "$tmp/err" "error: unknown command 'chek', did you mean 'check'?" || fail "command typo: $(cat "$tmp/err")"
"$kestrel" log inf x >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "unknown log subcommand exited $code"
has "$tmp/err" "unknown command 'inf', did you mean 'info'?" || fail "nested command typo: $(cat "$tmp/err")"
printf 'run:\n  reloda: false\n' >"$tmp/key.yaml"
"$kestrel" --config "$tmp/key.yaml" config check >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "unknown config key exited $code"
has "$tmp/err" "key.yaml:2:3: unknown key 'run.reloda', did you mean 'run.reload'?" || fail "config key typo: $(cat "$tmp/err")"
printf 'rnu:\n  reload: false\n' >"$tmp/key.yaml"
"$kestrel" --config "$tmp/key.yaml" config check >/dev/null 2>"$tmp/err"
has "$tmp/err" "unknown key 'rnu', did you mean 'run'?" || fail "top-level key typo: $(cat "$tmp/err")"

# 4. help CMD is CMD --help; option errors name the option first.
for cmd in check run "log cat" test-rules; do
  "$kestrel" help $cmd >"$tmp/a" 2>&1 || fail "help $cmd exited non-zero"
  "$kestrel" $cmd --help >"$tmp/b" 2>&1
  cmp -s "$tmp/a" "$tmp/b" || fail "help $cmd differs from $cmd --help"
  has "$tmp/a" "Usage:" || has "$tmp/a" "Usage" || fail "help $cmd: $(head -3 "$tmp/a")"
done
"$kestrel" help >"$tmp/a" 2>&1 || fail "kestrel help"
"$kestrel" --help >"$tmp/b" 2>&1
cmp -s "$tmp/a" "$tmp/b" || fail "kestrel help differs from kestrel --help"
"$kestrel" help chek >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "help of an unknown command must exit 2"
has "$tmp/err" "did you mean 'check'?" || fail "help chek: $(cat "$tmp/err")"
"$kestrel" run --workers lots --source "ndjson:$tmp/ev.ndjson" >/dev/null 2>"$tmp/err"; code=$?
[ "$code" -eq 2 ] || fail "bad --workers exited $code"
grep -q "^error: --workers: " "$tmp/err" || fail "option error does not name the option first: $(cat "$tmp/err")"
"$kestrel" check --dialect bogus rules >/dev/null 2>"$tmp/err"
grep -q "^error: --dialect: " "$tmp/err" || fail "--dialect error: $(cat "$tmp/err")"
"$kestrel" check --no-such-flag rules >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "unknown flag must exit 2"
grep -q "^error: --no-such-flag: unknown option" "$tmp/err" || fail "unknown flag: $(cat "$tmp/err")"
has "$tmp/err" "run 'kestrel check --help'" || fail "unknown flag: no pointer to help: $(cat "$tmp/err")"

# 5. --version: version, commit, build type, compiler, features, schema.
"$kestrel" --version >"$tmp/v" 2>&1 || fail "--version exited non-zero"
head -n 1 "$tmp/v" | grep -Eq '^kestrel [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version first line: $(head -1 "$tmp/v")"
grep -Eq '^commit: ([0-9a-f]{7,}|unknown)$' "$tmp/v" || fail "--version commit: $(cat "$tmp/v")"
grep -qx "build: $build_type" "$tmp/v" || fail "--version build type (want $build_type): $(cat "$tmp/v")"
grep -Eq '^compiler: (GNU|Clang) [0-9]' "$tmp/v" || fail "--version compiler: $(cat "$tmp/v")"
grep -Eq '^features: .*Kafka' "$tmp/v" || fail "--version features: $(cat "$tmp/v")"
for f in eBPF BPF-LSM fanotify "Wasm AOT" Kafka; do
  grep -E '^(features|not built): ' "$tmp/v" | grep -qF "$f" || fail "--version does not say whether $f is built"
done
grep -Eq '^schema: ecs-8\.x-[0-9a-f]{12} \([0-9]+ catalogue fields, [0-9]+ event categories\)$' "$tmp/v" \
  || fail "--version schema: $(cat "$tmp/v")"

# 6. compile reads rule files of every format, and directories.
mkdir -p "$tmp/formats"
printf '[rule]\nrule_id = "t1"\nname = "toml rule"\nlanguage = "eql"\nquery = """\nprocess where process.name == "toml"\n"""\n' >"$tmp/formats/r.toml"
printf 'rules:\n  - id: y1\n    query: process where process.name == "yaml"\n' >"$tmp/formats/r.yaml"
printf '{"id": "j1", "name": "json rule", "query": "process where process.name == \\"json\\""}\n' >"$tmp/formats/r.json"
printf '// dialect: endgame\nprocess where process_name == "eql"\n' >"$tmp/formats/r.eql"
for f in r.toml r.yaml r.json; do
  "$kestrel" compile --emit ir "$tmp/formats/$f" >"$tmp/out" 2>"$tmp/err" || fail "compile $f: $(cat "$tmp/err")"
  n=${f#r.}; [ "$n" = yml ] && n=yaml
  has "$tmp/out" "(== (field process.name) \"$n\")" || fail "compile $f output: $(cat "$tmp/out") $(cat "$tmp/err")"
done
"$kestrel" compile --emit ir "$tmp/formats/r.eql" >"$tmp/out" 2>"$tmp/err" || fail "compile r.eql: $(cat "$tmp/err")"
has "$tmp/out" '(==~ (field process_name) "eql")' || fail "compile honours the .eql dialect header: $(cat "$tmp/out")"
"$kestrel" compile --emit ast "$tmp/formats" >"$tmp/out" 2>"$tmp/err" || fail "compile DIR: $(cat "$tmp/err")"
[ "$(grep -c '^# ' "$tmp/out")" -eq 4 ] || fail "compile DIR: one header per rule: $(cat "$tmp/out")"
has "$tmp/out" "r.toml: t1" || fail "compile DIR headers: $(cat "$tmp/out")"
printf '[rule]\nrule_id = "bad"\nlanguage = "eql"\nquery = """\nprocess where process.name == ("x"\n"""\n' >"$tmp/formats/bad.toml"
"$kestrel" compile "$tmp/formats/bad.toml" >/dev/null 2>"$tmp/err"; [ $? -eq 1 ] || fail "compile of a broken TOML rule must exit 1"
grep -q "bad.toml:5:[0-9]*: error" "$tmp/err" || fail "compile TOML: position in the file: $(cat "$tmp/err")"

# 7. test-rules: a rule without tests is reported and counted; the summary adds up.
mkdir -p "$tmp/tr"
printf 'process where process.name == "a"\n' >"$tmp/tr/a.eql"
printf 'cases:\n  - name: hit\n    expect: [[0]]\n    events: [{event.category: process, process.name: a}]\n  - name: miss\n    expect: []\n    events: [{event.category: process, process.name: b}]\n' >"$tmp/tr/a.test.yaml"
printf 'process where process.name == "b"\n' >"$tmp/tr/b.eql"
"$kestrel" test-rules "$tmp/tr" >"$tmp/out" 2>&1; code=$?
[ "$code" -eq 1 ] || fail "test-rules with an untested rule exited $code"
grep -q "^FAIL  .*b.eql  b: no test cases" "$tmp/out" || fail "untested rule not reported: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -qx "test-rules: 2 rules (0 sequences): 1 tested, 1 untested, 0 incomplete, 0 not loaded; 2 cases: 2 passed, 0 failed; 0 test file errors" \
  || fail "test-rules summary: $(tail -n 1 "$tmp/out")"
"$kestrel" test-rules --allow-untested "$tmp/tr" >"$tmp/out" 2>&1 || fail "--allow-untested: $(cat "$tmp/out")"
grep -q "^UNTESTED  .*b.eql  b: no test cases" "$tmp/out" || fail "--allow-untested report: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -q "1 tested, 1 untested," || fail "--allow-untested summary: $(tail -n 1 "$tmp/out")"

if [ "$failures" -eq 0 ]; then
  echo "cli_usability: all checks passed"
  exit 0
fi
echo "cli_usability: $failures check(s) failed"
exit 1
