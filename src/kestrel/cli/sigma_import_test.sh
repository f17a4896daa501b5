#!/usr/bin/env bash
# End to end: Sigma rules (docs/sigma.md). `kestrel import sigma` converts the team's Sigma corpus
# (testdata/sigma) into Kestrel rule files that pass the same test cases, prints the summary
# "N rules: C converted, U unsupported, F failed" with the reasons grouped, writes files 0600 and
# never through a symbolic link, and honours --sigma-mapping; `check`, `run`, `test-rules`,
# `replay` and `compile --emit eql` read Sigma files directly, with --sigma-mapping (and the
# config's run.sigma_mapping) too.
# Usage: sigma_import_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
cd "$src" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. The corpus converts; the imported rules pass the corpus's own test cases.
"$kestrel" import sigma testdata/sigma --out "$tmp/out" >"$tmp/import" 2>&1
code=$?
[ "$code" -eq 0 ] || fail "import exited $code: $(cat "$tmp/import")"
tail -n 1 "$tmp/import" | grep -qx '11 rules: 11 converted, 0 unsupported, 0 failed' \
  || fail "summary: $(tail -n 1 "$tmp/import")"
[ "$(stat -c %a "$tmp/out/strings.yaml" 2>/dev/null)" = 600 ] || fail "strings.yaml is not 0600"
grep -q '^# Converted by `kestrel import sigma` from the Sigma rule 7f1c2a10-0001-4000-8000-000000000001 ' \
  "$tmp/out/strings.yaml" || fail "no comment naming the Sigma id: $(head -3 "$tmp/out/strings.yaml")"
grep -q '^severity: medium$' "$tmp/out/strings.yaml" || fail "severity missing"
grep -q 'techniques: \["T1059.004"\]' "$tmp/out/strings.yaml" || fail "techniques missing"
for t in testdata/sigma/*.test.yaml; do
  case "$t" in */correlation.test.yaml) continue ;; esac  # its rules are split over two files
  cp "$t" "$tmp/out/"
done
mkdir -p "$tmp/correlations" && mv "$tmp/out"/correlation*.yaml "$tmp/correlations/"
"$kestrel" check --summary "$tmp/correlations" >"$tmp/check_c" 2>&1 \
  && tail -n 1 "$tmp/check_c" | grep -qx '2 rules: 2 ok, 0 failed, 0 skipped' || fail "imported correlations: $(cat "$tmp/check_c")"
"$kestrel" test-rules "$tmp/out" >"$tmp/tr" 2>&1 || fail "imported rules fail their cases: $(grep -v '^PASS' "$tmp/tr" | head -20)"
"$kestrel" check --summary "$tmp/out" >"$tmp/check" 2>&1 || fail "check of the imported rules: $(tail -3 "$tmp/check")"

# 2. check and compile --emit eql read Sigma files directly.
"$kestrel" check --summary testdata/sigma >"$tmp/check2" 2>&1 || fail "check testdata/sigma: $(tail -5 "$tmp/check2")"
tail -n 1 "$tmp/check2" | grep -qx '11 rules: 11 ok, 0 failed, 0 skipped' || fail "check summary: $(tail -n 1 "$tmp/check2")"
"$kestrel" compile --emit eql testdata/sigma/network.yml >"$tmp/eql" 2>&1 || fail "compile --emit eql: $(cat "$tmp/eql")"
grep -qF 'cidrMatch(destination.ip, "192.0.2.0/24", "198.51.100.0/24")' "$tmp/eql" || fail "emitted EQL: $(cat "$tmp/eql")"
"$kestrel" compile --emit eql - <testdata/sigma/network.yml | grep -qF 'destination.port >= 1024' || fail "compile --emit eql from stdin"

# 3. run loads a Sigma rule and alerts on a matching NDJSON event only.
printf '%s\n' \
  '{"@timestamp":"2026-01-01T00:00:00Z","event.category":"process","event.type":"start","event.action":"exec","process.executable":"/bin/sh","process.parent.executable":"/usr/sbin/nginx","process.command_line":"sh -c id","user.name":"www-data"}' \
  '{"@timestamp":"2026-01-01T00:00:01Z","event.category":"process","event.type":"start","event.action":"exec","process.executable":"/bin/sh","process.parent.executable":"/usr/sbin/sshd","process.command_line":"sh -c id","user.name":"www-data"}' \
  >"$tmp/events.ndjson"
mkdir -p "$tmp/run_rules" && cp testdata/sigma/conditions.yml "$tmp/run_rules/"
"$kestrel" run --rules "$tmp/run_rules" --source "ndjson:$tmp/events.ndjson" \
  --output "$tmp/alerts.jsonl" >/dev/null 2>"$tmp/run.err" || fail "run: $(cat "$tmp/run.err")"
[ "$(wc -l <"$tmp/alerts.jsonl")" -eq 1 ] && grep -q '7f1c2a10-0006-4000-8000-000000000006' "$tmp/alerts.jsonl" \
  || fail "run alerts: $(cat "$tmp/alerts.jsonl")"

# 4. Unsupported and failed rules: reasons grouped, exit 1; --sigma-mapping fixes the field.
mkdir -p "$tmp/mixed"
cp testdata/sigma/values.yml "$tmp/mixed/"
cat >"$tmp/mixed/sshd.yml" <<'RULE'
title: sshd log
id: 7f1c2a10-00ff-4000-8000-000000000001
logsource: {product: linux, service: sshd}
detection:
  keywords: ['error: buffer']
  condition: keywords
RULE
cat >"$tmp/mixed/hash.yml" <<'RULE'
title: Hash of a binary
id: 7f1c2a10-00ff-4000-8000-000000000002
logsource: {product: linux, category: process_creation}
detection:
  sel:
    Hashes|contains: 'abc'
  condition: sel
RULE
"$kestrel" import sigma "$tmp/mixed" --out "$tmp/out2" >"$tmp/import2" 2>&1
[ $? -eq 1 ] || fail "a failed rule must exit 1"
grep -qx '3 rules: 1 converted, 1 unsupported, 1 failed' "$tmp/import2" || fail "mixed summary: $(cat "$tmp/import2")"
grep -q "hash.yml:6:5: error: Sigma rule 'Hash of a binary': field 'Hashes' is not in the Sigma mapping" "$tmp/import2" \
  || fail "unknown field not named with its position: $(cat "$tmp/import2")"
grep -q '^unsupported:$' "$tmp/import2" && grep -qE '^ +1  logsource \{product: linux, service: sshd\}' "$tmp/import2" \
  || fail "reasons not grouped: $(cat "$tmp/import2")"
printf 'logsources:\n  process_creation:\n    fields:\n      Hashes: process.hash.sha256\n' >"$tmp/map.yaml"
"$kestrel" import sigma "$tmp/mixed/hash.yml" --out "$tmp/out3" --sigma-mapping "$tmp/map.yaml" >"$tmp/import3" 2>&1 \
  || fail "with --sigma-mapping: $(cat "$tmp/import3")"
grep -qF 'process.hash.sha256 : "*abc*"' "$tmp/out3/hash.yaml" || fail "mapping not used: $(cat "$tmp/out3/hash.yaml")"
printf 'logsources:\n  x: {colour: red}\n' >"$tmp/bad.yaml"
"$kestrel" import sigma "$tmp/mixed/hash.yml" --out "$tmp/out4" --sigma-mapping "$tmp/bad.yaml" >/dev/null 2>"$tmp/err4"
[ $? -eq 2 ] || fail "a bad mapping must exit 2"
grep -q "bad.yaml:2:15: unknown key 'colour'" "$tmp/err4" || fail "bad mapping error: $(cat "$tmp/err4")"

# 5. --print-mapping prints the built-in mapping, which reads back as a mapping; no SRC is usage.
"$kestrel" import sigma --print-mapping >"$tmp/default-map.yaml" || fail "--print-mapping"
grep -q '^      CommandLine: process.command_line$' "$tmp/default-map.yaml" || fail "printed mapping: $(head -5 "$tmp/default-map.yaml")"
"$kestrel" import sigma "$tmp/mixed/values.yml" --out "$tmp/out6" --sigma-mapping "$tmp/default-map.yaml" >/dev/null 2>&1 \
  || fail "the printed mapping does not read back"
"$kestrel" import sigma --out "$tmp/out7" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no SRC must exit 2"

# 6. A symbolic link in the output directory is not followed.
mkdir -p "$tmp/out5"
ln -s "$tmp/victim" "$tmp/out5/values.yaml"
"$kestrel" import sigma testdata/sigma/values.yml --out "$tmp/out5" >"$tmp/import5" 2>&1
[ $? -eq 1 ] || fail "writing through a symlink must fail"
[ ! -e "$tmp/victim" ] || fail "the symlink was followed"

# 7. --sigma-mapping on every command that loads rule files (decision 43: check and run agree): a
# Sigma rule using a field only the user's mapping knows loads with it and fails without it,
# naming the field, the file and its line:col.
mkdir -p "$tmp/mapped"
cp "$tmp/mixed/hash.yml" "$tmp/mapped/"
cat >"$tmp/mapped/hash.test.yaml" <<'CASES'
defaults: {"event.category": "process", "event.type": "start", "event.action": "exec"}
cases:
  - name: the hash
    expect: [[0]]
    events:
      - {"process.hash.sha256": "00abc00"}
  - name: another hash
    expect: []
    events:
      - {"process.hash.sha256": "000"}
CASES
printf '%s\n' \
  '{"@timestamp":"2026-01-01T00:00:00Z","event.category":"process","event.type":"start","event.action":"exec","process.executable":"/bin/x","process.hash.sha256":"00abc00"}' \
  '{"@timestamp":"2026-01-01T00:00:01Z","event.category":"process","event.type":"start","event.action":"exec","process.executable":"/bin/y","process.hash.sha256":"000"}' \
  >"$tmp/hash.ndjson"
"$kestrel" record --source "ndjson:$tmp/hash.ndjson" --output "$tmp/hash.klog" >/dev/null 2>&1 || fail "record hash.klog"
unknown="hash.yml:6:5: error: Sigma rule 'Hash of a binary': field 'Hashes' is not in the Sigma mapping"
"$kestrel" check --summary "$tmp/mapped" >"$tmp/m1" 2>&1
[ $? -eq 1 ] && grep -qF "$unknown" "$tmp/m1" || fail "check without the mapping: $(cat "$tmp/m1")"
"$kestrel" check --summary --sigma-mapping "$tmp/map.yaml" "$tmp/mapped" >"$tmp/m2" 2>&1 \
  && tail -n 1 "$tmp/m2" | grep -qx '1 rule: 1 ok, 0 failed, 0 skipped' || fail "check --sigma-mapping: $(cat "$tmp/m2")"
"$kestrel" test-rules "$tmp/mapped" >"$tmp/m3" 2>&1
[ $? -eq 1 ] && grep -qF "$unknown" "$tmp/m3" || fail "test-rules without the mapping: $(cat "$tmp/m3")"
"$kestrel" test-rules --sigma-mapping "$tmp/map.yaml" "$tmp/mapped" >"$tmp/m4" 2>&1 \
  && grep -q '2 cases: 2 passed, 0 failed' "$tmp/m4" || fail "test-rules --sigma-mapping: $(cat "$tmp/m4")"
"$kestrel" run --strict-rules --rules "$tmp/mapped" --source "ndjson:$tmp/hash.ndjson" >"$tmp/m5" 2>&1
[ $? -eq 1 ] && grep -qF "$unknown" "$tmp/m5" || fail "run without the mapping: $(cat "$tmp/m5")"
"$kestrel" run --strict-rules --sigma-mapping "$tmp/map.yaml" --rules "$tmp/mapped" \
  --source "ndjson:$tmp/hash.ndjson" >"$tmp/m6" 2>"$tmp/m6.err" || fail "run --sigma-mapping: $(cat "$tmp/m6.err")"
[ "$(grep -c 7f1c2a10-00ff-4000-8000-000000000002 "$tmp/m6")" -eq 1 ] || fail "run --sigma-mapping alerts: $(cat "$tmp/m6")"
printf 'run:\n  sigma_mapping: %s\n' "$tmp/map.yaml" >"$tmp/kestrel.yaml"
"$kestrel" --config "$tmp/kestrel.yaml" run --strict-rules --rules "$tmp/mapped" \
  --source "ndjson:$tmp/hash.ndjson" >"$tmp/m7" 2>"$tmp/m7.err" || fail "run with run.sigma_mapping: $(cat "$tmp/m7.err")"
cmp -s "$tmp/m6" "$tmp/m7" || fail "config run.sigma_mapping and --sigma-mapping differ"
"$kestrel" replay --rules "$tmp/mapped" "$tmp/hash.klog" >"$tmp/m8" 2>&1
grep -qF "$unknown" "$tmp/m8" && ! grep -q 7f1c2a10-00ff "$tmp/m8" || fail "replay without the mapping: $(cat "$tmp/m8")"
"$kestrel" replay --sigma-mapping "$tmp/map.yaml" --rules "$tmp/mapped" "$tmp/hash.klog" >"$tmp/m9" 2>/dev/null \
  && [ "$(grep -c 7f1c2a10-00ff-4000-8000-000000000002 "$tmp/m9")" -eq 1 ] || fail "replay --sigma-mapping: $(cat "$tmp/m9")"
"$kestrel" compile --emit eql --sigma-mapping "$tmp/map.yaml" "$tmp/mapped/hash.yml" 2>&1 \
  | grep -qF 'process.hash.sha256 : "*abc*"' || fail "compile --emit eql --sigma-mapping"
# A bad mapping is a usage error (exit 2) naming FILE:LINE:COL, on every command and in the config.
for cmd in "check $tmp/mapped" "test-rules $tmp/mapped" "replay --rules $tmp/mapped $tmp/hash.klog" \
  "compile --emit eql $tmp/mapped/hash.yml" "run --rules $tmp/mapped --source ndjson:$tmp/hash.ndjson"; do
  # shellcheck disable=SC2086
  "$kestrel" $cmd --sigma-mapping "$tmp/bad.yaml" >/dev/null 2>"$tmp/m10"
  code=$?
  [ "$code" -eq 2 ] && grep -q "bad.yaml:2:15: unknown key 'colour'" "$tmp/m10" \
    || fail "$cmd with a bad mapping: exit $code, $(cat "$tmp/m10")"
done
printf 'run:\n  sigma_mapping: %s\n' "$tmp/bad.yaml" >"$tmp/bad-config.yaml"
"$kestrel" --config "$tmp/bad-config.yaml" run --rules "$tmp/mapped" --source "ndjson:$tmp/hash.ndjson" >/dev/null 2>"$tmp/m11"
[ $? -eq 2 ] && grep -q "bad.yaml:2:15: unknown key 'colour'" "$tmp/m11" || fail "run with a bad run.sigma_mapping: $(cat "$tmp/m11")"

[ "$failures" -eq 0 ] && echo "sigma_import_test: all passed"
exit $((failures > 0))
