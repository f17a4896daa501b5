#!/usr/bin/env bash
# `kestrel query` as a hunting tool, end to end (issue 24): --format table|json|ndjson, saved
# hunts (--save, --list, --run, --to-rule; the written rule passes `kestrel check`), hunt name
# validation, no overwrite. Over the demo events (examples/demo-events.ndjson). Lean: seconds.
# Usage: hunting_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
cd "$src" || exit 1
demo=examples/demo-events.ndjson
rules="$tmp/rules"
mkdir -p "$rules"
seq_query='sequence by process.entity_id [process where event.action == "exec"] [network where true]'

# --format: ndjson is the default when piped; json is one EQL search response; table fits COLUMNS.
"$kestrel" query --input "$demo" "$seq_query" >"$tmp/default" || fail "query exited $?"
"$kestrel" query --format ndjson --input "$demo" "$seq_query" >"$tmp/ndjson" || fail "ndjson"
cmp -s "$tmp/default" "$tmp/ndjson" || fail "the piped default is not ndjson"
[ "$(wc -l <"$tmp/ndjson")" -eq 6 ] || fail "3 two-event sequences expected: $(cat "$tmp/ndjson")"
grep -q '"kestrel":{"join_keys":\["p-3303"\],"sequence":1}' "$tmp/ndjson" || fail "ndjson keys: $(head -1 "$tmp/ndjson")"
"$kestrel" query --format json --input "$demo" "$seq_query" >"$tmp/json" || fail "json"
python3 - "$tmp/json" <<'PY' || fail "json shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["is_partial"] is False and d["timed_out"] is False and isinstance(d["took"], int), d
assert d["hits"]["total"] == {"value": 3, "relation": "eq"}, d["hits"]["total"]
s = d["hits"]["sequences"]
assert [x["join_keys"] for x in s] == [["p-3303"], ["p-3304"], ["p-2130"]], s
e = s[0]["events"][0]
assert e["_index"] == "examples/demo-events.ndjson" and e["_id"] == "9", e
assert e["_source"]["process"]["name"] == "curl", e
PY
COLUMNS=70 "$kestrel" query --format table --input "$demo" "$seq_query" >"$tmp/table" || fail "table"
python3 -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 70 for l in open(sys.argv[1], encoding="utf-8")))' "$tmp/table" || fail "table wider than COLUMNS=70: $(cat "$tmp/table")"
grep -q '^sequence 1  process.entity_id="p-3303"$' "$tmp/table" || fail "table sequence header: $(cat "$tmp/table")"
tail -1 "$tmp/table" | grep -qx '3 sequences' || fail "table count line"
# --fields before the query: the query is not taken for a field.
"$kestrel" query --format table --input "$demo" --fields process.pid,process.command_line 'process where process.name == "curl"' >"$tmp/fields" 2>&1 || fail "--fields a,b QUERY: $(cat "$tmp/fields")"
head -1 "$tmp/fields" | grep -q 'process.pid  process.command_line$' || fail "--fields columns: $(cat "$tmp/fields")"
"$kestrel" query --format yaml --input "$demo" 'any where true' >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] && grep -q "not table, json or ndjson" "$tmp/err" || fail "--format yaml: $(cat "$tmp/err")"
if command -v script >/dev/null; then
  # On a terminal the default is the table.
  COLUMNS=100 script -qec "$kestrel query --input $demo 'process where process.name == \"curl\"'" /dev/null >"$tmp/tty" 2>&1
  grep -q '@timestamp' "$tmp/tty" || fail "terminal default is not the table: $(cat "$tmp/tty")"
else
  echo "NOTE: script(1) absent: the terminal default (table) is not checked"
fi

# Saved hunts: names are validated; save; no overwrite without --force; list; run; to-rule.
for bad in ../x a/b .hidden 'a b'; do
  "$kestrel" query --rules "$rules" --save "$bad" 'any where true' >/dev/null 2>"$tmp/err"
  [ $? -eq 2 ] || fail "hunt name '$bad' accepted"
done
[ ! -e "$rules/hunts" ] || fail "a refused name created hunts/"
"$kestrel" query --rules "$rules" --save c2 'process where process.name ==' >/dev/null 2>&1
[ $? -eq 1 ] && [ ! -e "$rules/hunts/c2.hunt" ] || fail "a query that does not compile was saved"
"$kestrel" query --rules "$rules" --save exec_then_connect --format ndjson "$seq_query" 2>"$tmp/err" >"$tmp/out" || fail "--save: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "--save without --input ran the hunt"
[ "$(stat -c %a "$rules/hunts/exec_then_connect.hunt")" = 600 ] || fail "hunt file mode"
[ "$(stat -c %a "$rules/hunts")" = 700 ] || fail "hunts/ mode"
"$kestrel" query --rules "$rules" --save exec_then_connect 'any where true' >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q -- "--force" "$tmp/err" || fail "--save overwrote: $(cat "$tmp/err")"
grep -q 'network where true' "$rules/hunts/exec_then_connect.hunt" || fail "hunt changed"
"$kestrel" query --rules "$rules" --list >"$tmp/list" 2>&1 || fail "--list"
grep -q '^exec_then_connect  elasticsearch  sequence by process.entity_id' "$tmp/list" || fail "--list: $(cat "$tmp/list")"
"$kestrel" query --rules "$rules" --run exec_then_connect "$demo" >"$tmp/run" 2>"$tmp/err" || fail "--run: $(cat "$tmp/err")"
cmp -s "$tmp/run" "$tmp/ndjson" || fail "--run output differs from the query's"
"$kestrel" query --rules "$rules" --run exec_then_connect --format json --input "$demo" >"$tmp/run.json" || fail "--run --format json"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["hits"]["total"]["value"] == 3' "$tmp/run.json" || fail "--run --format json overrides the saved format"
"$kestrel" query --rules "$rules" --run no_such_hunt "$demo" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q -- "--list" "$tmp/err" || fail "--run of an unknown hunt: $(cat "$tmp/err")"
"$kestrel" query --rules "$rules" --to-rule exec_then_connect >"$tmp/out" 2>&1 || fail "--to-rule: $(cat "$tmp/out")"
grep -q "fill in" "$tmp/out" || fail "--to-rule says what to fill in"
[ -f "$rules/exec_then_connect.eql" ] && [ -f "$rules/exec_then_connect.test.yaml" ] || fail "--to-rule files"
"$kestrel" check "$rules/exec_then_connect.eql" >"$tmp/out" 2>&1 || fail "the promoted rule fails check: $(cat "$tmp/out")"
"$kestrel" check "$rules" >"$tmp/out" 2>&1 || fail "the rules directory with hunts/ fails check: $(cat "$tmp/out")"
echo "// edited" >>"$rules/exec_then_connect.eql"
"$kestrel" query --rules "$rules" --to-rule exec_then_connect >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "not overwritten" "$tmp/err" || fail "--to-rule overwrote: $(cat "$tmp/err")"
tail -1 "$rules/exec_then_connect.eql" | grep -qx '// edited' || fail "the rule was changed"
"$kestrel" query --rules "$rules" --list --run x >/dev/null 2>&1
[ $? -eq 2 ] || fail "--list with --run accepted"

# Without --rules: the configuration file's run.rules, as for `kestrel run`.
mkdir -p "$tmp/configured"
printf 'run:\n  rules: %s\n' "$tmp/configured" >"$tmp/kestrel.yaml"
"$kestrel" --config "$tmp/kestrel.yaml" query --save from_config 'process where true' 2>/dev/null || fail "--save with the configured rules"
[ -f "$tmp/configured/hunts/from_config.hunt" ] || fail "the configured rules directory was not used"

[ "$failures" -eq 0 ] || { echo "$failures hunting check(s) failed"; exit 1; }
echo "hunting: all checks passed"
