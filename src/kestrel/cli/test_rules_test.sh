#!/usr/bin/env bash
# End to end: `kestrel test-rules` passes on the default pack (>= 60 rules, >= 15 sequences, every
# rule with a positive and a negative case) and fails, with the diff of expected and actual
# alerts, on a wrong rule: one that misses its positive case, one that fires on its negative
# case, a rule without a negative case, a test file without a rule, a malformed test file.
# Also: the rule loader ignores the test files, and --coverage prints the ATT&CK table.
# Usage: test_rules_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
cd "$src" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. The default pack passes.
"$kestrel" test-rules rules >"$tmp/out" 2>"$tmp/err"
code=$?
[ "$code" -eq 0 ] || fail "test-rules rules exited $code: $(grep -v '^PASS' "$tmp/out" | head -40) $(head -20 "$tmp/err")"
summary=$(tail -n 1 "$tmp/out")
if [[ "$summary" =~ ^test-rules:\ ([0-9]+)\ rules\ \(([0-9]+)\ sequences\):\ ([0-9]+)\ tested,\ 0\ untested,\ 0\ incomplete,\ 0\ not\ loaded\;\ ([0-9]+)\ cases:\ ([0-9]+)\ passed,\ 0\ failed\;\ 0\ test\ file\ errors$ ]]; then
  [ "${BASH_REMATCH[1]}" -ge 60 ] || fail "only ${BASH_REMATCH[1]} rules"
  [ "${BASH_REMATCH[2]}" -ge 15 ] || fail "only ${BASH_REMATCH[2]} sequences"
  [ "${BASH_REMATCH[3]}" = "${BASH_REMATCH[1]}" ] || fail "not every rule tested: $summary"
  [ "${BASH_REMATCH[4]}" -ge $((2 * BASH_REMATCH[1])) ] || fail "fewer than two cases per rule"
  [ "${BASH_REMATCH[4]}" = "${BASH_REMATCH[5]}" ] || fail "not every case passed: $summary"
else
  fail "summary line: '$summary'"
fi
rules=$(ls rules/linux/*.eql | wc -l)
[ "$(grep -c '^PASS' "$tmp/out")" -eq "$(grep -c '  - name:' rules/linux/*.test.yaml | awk -F: '{s += $2} END {print s}')" ] \
  || fail "one PASS line per case expected"
for f in rules/linux/*.eql; do
  [ -f "${f%.eql}.test.yaml" ] || fail "$f has no test file beside it"
done
grep -q '(positive)' "$tmp/out" && grep -q '(negative)' "$tmp/out" || fail "cases are not labelled positive/negative"

# 2. The loaders ignore test files: check and run count only the rules.
"$kestrel" check --summary rules >"$tmp/check" 2>&1 || fail "check rules: $(tail -5 "$tmp/check")"
tail -n 1 "$tmp/check" | grep -q "^$rules rules: $rules ok, 0 failed, 0 skipped$" || fail "check summary: $(tail -n 1 "$tmp/check")"

# 3. A rule that no longer matches its positive case: FAIL with the missing alert in the diff.
mkdir -p "$tmp/miss"
sed 's#"\*/dev/tcp/\*", "\*/dev/udp/\*"#"*/dev/tcpX/*"#' rules/linux/reverse_shell_dev_tcp_command_line.eql \
  >"$tmp/miss/reverse_shell_dev_tcp_command_line.eql"
cp rules/linux/reverse_shell_dev_tcp_command_line.test.yaml "$tmp/miss/"
cmp -s rules/linux/reverse_shell_dev_tcp_command_line.eql "$tmp/miss/reverse_shell_dev_tcp_command_line.eql" \
  && fail "the mutation did not change the rule"
"$kestrel" test-rules "$tmp/miss" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "a rule missing its positive case must exit 1: $(cat "$tmp/out")"
grep -q "^FAIL .*bash -i >& /dev/tcp (positive)" "$tmp/out" || fail "positive case not reported: $(cat "$tmp/out")"
grep -q "expected alerts:" "$tmp/out" && grep -q "actual alerts: (none)" "$tmp/out" \
  || fail "expected/actual not shown: $(cat "$tmp/out")"
grep -q "^      - reverse_shell_dev_tcp_command_line events \[0\]$" "$tmp/out" || fail "diff line: $(cat "$tmp/out")"
grep -q "^PASS .*(negative)" "$tmp/out" || fail "the negative case should still pass: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -q "1 passed, 1 failed" || fail "summary: $(tail -n 1 "$tmp/out")"

# 4. A rule too broad for its negative case: FAIL with the unexpected alert in the diff.
mkdir -p "$tmp/broad"
sed 's#"\*/dev/tcp/\*", "\*/dev/udp/\*"#"*/dev/tcp/*", "*/dev/udp/*", "*tcp*"#' \
  rules/linux/reverse_shell_dev_tcp_command_line.eql >"$tmp/broad/reverse_shell_dev_tcp_command_line.eql"
cp rules/linux/reverse_shell_dev_tcp_command_line.test.yaml "$tmp/broad/"
"$kestrel" test-rules "$tmp/broad" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "a rule firing on its negative case must exit 1: $(cat "$tmp/out")"
grep -q "^FAIL .*(negative)" "$tmp/out" || fail "negative case not reported: $(cat "$tmp/out")"
grep -q "^      + reverse_shell_dev_tcp_command_line events \[0\]$" "$tmp/out" || fail "diff line: $(cat "$tmp/out")"

# 5. A sequence whose stages are swapped: the positive case fails.
mkdir -p "$tmp/seq"
cp rules/linux/tmp_file_executed_by_shell.test.yaml "$tmp/seq/"
cat >"$tmp/seq/tmp_file_executed_by_shell.eql" <<'EOF'
// name: swapped
sequence with maxspan=5s
  [process where event.action == "exec"] by process.executable
  [file where event.action == "creation"] by file.path
EOF
"$kestrel" test-rules "$tmp/seq" >"$tmp/out" 2>&1
[ $? -eq 1 ] || fail "a swapped sequence must exit 1: $(cat "$tmp/out")"
grep -q "^      - tmp_file_executed_by_shell events \[0, 1\]$" "$tmp/out" || fail "sequence diff: $(cat "$tmp/out")"

# 6. A rule with only a positive case, a test file without a rule, a malformed test file.
mkdir -p "$tmp/gaps"
printf '// name: only positive\nprocess where process.name == "x"\n' >"$tmp/gaps/onlypos.eql"
printf 'cases:\n  - name: p\n    expect: [[0]]\n    events: [{event.category: process, process.name: x}]\n' \
  >"$tmp/gaps/onlypos.test.yaml"
printf 'cases:\n  - name: p\n    expect: []\n    events: [{a: 1}]\n' >"$tmp/gaps/orphan.test.yaml"
printf '// name: untested\nprocess where true\n' >"$tmp/gaps/untested.eql"
printf '// name: bad\nprocess where true\n' >"$tmp/gaps/bad.eql"
printf 'cases:\n  - name: p\n    expect: [[3]]\n    events: [{a: 1}]\n' >"$tmp/gaps/bad.test.yaml"
"$kestrel" test-rules "$tmp/gaps" >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] || fail "gaps must exit 1"
grep -q "onlypos: needs at least one positive and one negative case (has 1 positive, 0 negative)" "$tmp/out" \
  || fail "missing negative case not reported: $(cat "$tmp/out")"
grep -q "untested: no test cases (write untested.test.yaml beside it, or pass --allow-untested)" "$tmp/out" \
  || fail "untested rule not reported: $(cat "$tmp/out")"
# The summary counts what was reported, and adds up (bad.eql's test file does not load: untested).
tail -n 1 "$tmp/out" | grep -qx "test-rules: 3 rules (0 sequences): 0 tested, 2 untested, 1 incomplete, 0 not loaded; 1 cases: 1 passed, 0 failed; 2 test file errors" \
  || fail "gaps summary: $(tail -n 1 "$tmp/out")"
grep -q "orphan.test.yaml: no rule file beside it" "$tmp/out" || fail "orphan test file: $(cat "$tmp/out")"
grep -q "bad.test.yaml:3:15: error: an event index must be an integer from 0 to 0, found '3'" "$tmp/err" \
  || fail "malformed test file diagnostic: $(cat "$tmp/err")"

# 7. A YAML file of two rules tested together: expected alerts name their rule.
mkdir -p "$tmp/multi"
cat >"$tmp/multi/pair.yaml" <<'EOF2'
rules:
  - id: pair-a
    query: process where process.name == "a"
  - id: pair-b
    query: process where process.name == "b"
EOF2
cat >"$tmp/multi/pair.test.yaml" <<'EOF2'
cases:
  - name: a alone
    expect: [{rule: pair-a, events: [0]}]
    events: [{event.category: process, process.name: a}]
  - name: b alone
    expect: [{rule: pair-b, events: [0]}]
    events: [{event.category: process, process.name: b}]
EOF2
"$kestrel" test-rules "$tmp/multi" >"$tmp/out" 2>&1 || fail "two rules in one file: $(cat "$tmp/out")"
tail -n 1 "$tmp/out" | grep -q "2 rules (0 sequences): 2 tested, 0 untested, 0 incomplete, 0 not loaded; 2 cases: 2 passed, 0 failed; 0 test file errors" || fail "multi summary: $(tail -n 1 "$tmp/out")"
printf 'cases:\n  - name: bare\n    expect: [[0]]\n    events: [{event.category: process, process.name: a}]\n' \
  >"$tmp/multi/pair.test.yaml"
"$kestrel" test-rules "$tmp/multi" >"$tmp/out" 2>&1; [ $? -eq 1 ] || fail "bare indexes with two rules must fail"
grep -q "the file tests several rules; name the rule" "$tmp/out" || fail "ambiguous expectation: $(cat "$tmp/out")"

# 8. Coverage: the ATT&CK table from the metadata, text and markdown; case lines go to stderr.
"$kestrel" test-rules rules --coverage --format markdown >"$tmp/cov" 2>"$tmp/err" || fail "coverage run failed"
head -n 2 "$tmp/cov" | tr '\n' ' ' | grep -q '^| Tactic | Technique | Rules | |---|---|---| $' || fail "markdown header: $(head -n 2 "$tmp/cov")"
grep -q '^| TA0002 Execution | T1059.004 Unix Shell | .*`reverse_shell_dev_tcp_command_line`' "$tmp/cov" \
  || fail "markdown row: $(grep TA0002 "$tmp/cov" | head -3)"
grep -q '^PASS' "$tmp/cov" && fail "case lines on stdout with --coverage"
grep -q "rules ([0-9]* sequences), [0-9]* tactics, [0-9]* techniques$" "$tmp/cov" || fail "coverage summary: $(tail -n 1 "$tmp/cov")"
"$kestrel" test-rules rules --coverage >"$tmp/cov" 2>/dev/null || fail "text coverage failed"
grep -q "^TA0006 Credential Access ([0-9]* rules)$" "$tmp/cov" || fail "text coverage: $(head "$tmp/cov")"
"$kestrel" test-rules /nonexistent-rules >/dev/null 2>&1; [ $? -eq 2 ] || fail "a missing directory is a usage error"

if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "test-rules: all checks passed"
