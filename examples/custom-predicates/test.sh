#!/usr/bin/env bash
# The custom-predicate example end to end: packages whose rule predicate is user-written (Lua, and
# C compiled to wasm32 when clang and wasm-ld are installed) raise exactly the expected alerts;
# custom functions in Lua and in C compiled to Wasm, called from EQL by query, run and replay.
# Usage: test.sh KESTREL_BINARY  (run from anywhere)
set -u
kestrel=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect_pids() {  # FILE: the alerts must be those of pids 100 and 104, in order
  local got
  # The evidence's pids (the process_tree after it names them again).
  got=$(sed 's/,"process_tree":.*//' "$1" | grep -o '"pid":[0-9]*' | tr '\n' ' ')
  [ "$got" = '"pid":100 "pid":104 ' ] || fail "$1: alerts for $got"
  [ "$(grep -c '"rule_id":"long_base64_token"' "$1")" = 2 ] || fail "$1: rule ids"
}

"$kestrel" compile "$here/rules" --target lua --predicate "long_base64_token=$here/predicate.lua" \
  -o "$tmp/pkg-lua" 2>"$tmp/err" || fail "compile lua: $(cat "$tmp/err")"
"$kestrel" --log-level error run --rules "$tmp/pkg-lua" --source "ndjson:$here/events.ndjson" \
  >"$tmp/lua.alerts" 2>"$tmp/err" || fail "run lua: $(cat "$tmp/err")"
expect_pids "$tmp/lua.alerts"
runtimes=lua

if command -v clang >/dev/null && command -v wasm-ld >/dev/null &&
  "$kestrel" query --predicate-runtime wasm --input /dev/null 'any where true' >/dev/null 2>&1; then
  clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--initial-memory=131072 \
    -Wl,--max-memory=131072 -o "$tmp/predicate.wasm" "$here/predicate.c" || fail "clang wasm32"
  "$kestrel" compile "$here/rules" --target wasm \
    --predicate "long_base64_token=$tmp/predicate.wasm" -o "$tmp/pkg-wasm" 2>"$tmp/err" ||
    fail "compile wasm: $(cat "$tmp/err")"
  "$kestrel" --log-level error run --rules "$tmp/pkg-wasm" --source "ndjson:$here/events.ndjson" \
    >"$tmp/wasm.alerts" 2>"$tmp/err" || fail "run wasm: $(cat "$tmp/err")"
  expect_pids "$tmp/wasm.alerts"
  # Both packages' rule files (rule.file) are their own copies: compared without them.
  cmp -s <(sed 's/,"file":"[^"]*"//' "$tmp/lua.alerts") <(sed 's/,"file":"[^"]*"//' "$tmp/wasm.alerts") ||
    fail "lua and wasm alerts differ"
  runtimes="$runtimes wasm"
else
  echo "note: clang/wasm-ld or the wasm runtime missing: the C predicate was not tested" >&2
fi

# Custom functions called from EQL (functions.lua), in a query and in packages of each target.
got=$("$kestrel" query --functions "$here/functions.lua" --input "$here/events.ndjson" \
  'process where has_b64_token(process.args)' | grep -o '"pid":[0-9]*' | tr '\n' ' ')
[ "$got" = '"pid":100 "pid":104 ' ] || fail "query with a custom function: $got"
"$kestrel" query --functions "$here/functions.lua" --input "$here/events.ndjson" \
  'process where has_b64_token(process.args, 1)' >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "a call with the wrong arity must not compile"
grep -q "takes 1 argument, not 2" "$tmp/err" || fail "arity message: $(cat "$tmp/err")"
fn_targets="ir lua"
if "$kestrel" query --predicate-runtime wasm --input /dev/null 'any where true' >/dev/null 2>&1; then
  fn_targets="$fn_targets wasm"
fi
for t in $fn_targets; do
  "$kestrel" compile "$here/function-rules" --target "$t" --functions "$here/functions.lua" \
    -o "$tmp/fn-$t" 2>"$tmp/err" || fail "compile with functions ($t): $(cat "$tmp/err")"
  [ -f "$tmp/fn-$t/functions/functions.lua" ] || fail "package lacks its function module"
  for w in 1 2; do
    "$kestrel" --log-level error run --workers "$w" --rules "$tmp/fn-$t" \
      --source "ndjson:$here/events.ndjson" >"$tmp/fn-$t.alerts" 2>"$tmp/err" ||
      fail "run with functions ($t, $w workers): $(cat "$tmp/err")"
    got=$(sed 's/,"process_tree":.*//' "$tmp/fn-$t.alerts" | grep -o '"pid":[0-9]*' | tr '\n' ' ')
    [ "$got" = '"pid":100 "pid":104 ' ] || fail "package $t with functions, $w workers: $got"
  done
done
# The same function in C compiled to Wasm (functions.c), declared at compile time; packages of
# every target, with 1 and 2 workers (one function instance per worker), and replay.
if [ -f "$tmp/predicate.wasm" ]; then
  clang --target=wasm32 -nostdlib -O2 -Wl,--no-entry -Wl,--initial-memory=131072 \
    -Wl,--max-memory=131072 -o "$tmp/functions.wasm" "$here/functions.c" || fail "clang functions"
  decl='has_b64_token(string) -> bool'
  got=$("$kestrel" query --functions "$tmp/functions.wasm" --function "$decl" \
    --input "$here/events.ndjson" 'process where has_b64_token(process.args[2])' |
    grep -o '"pid":[0-9]*' | tr '\n' ' ')
  [ "$got" = '"pid":100 "pid":104 ' ] || fail "query with a Wasm function: $got"
  "$kestrel" query --functions "$tmp/functions.wasm" --input "$here/events.ndjson" \
    'process where has_b64_token(process.args[2])' >/dev/null 2>"$tmp/err"
  [ $? -eq 1 ] || fail "an undeclared Wasm module must be refused"
  grep -q "needs its functions declared" "$tmp/err" || fail "undeclared message: $(cat "$tmp/err")"
  "$kestrel" query --functions "$tmp/functions.wasm" --function 'has_b64_token(number) -> bool' \
    --input "$here/events.ndjson" 'process where true' >/dev/null 2>"$tmp/err"
  [ $? -eq 1 ] || fail "a declaration that does not match the export must be refused"
  grep -q "kestrel_fn_has_b64_token has type (i32, i32) -> (i32), expected (f64) -> (i32)" \
    "$tmp/err" || fail "type mismatch message: $(cat "$tmp/err")"
  "$kestrel" record --source "ndjson:$here/events.ndjson" --output "$tmp/events.klog" 2>/dev/null ||
    fail "record"
  for t in $fn_targets; do
    "$kestrel" compile "$here/wasm-function-rules" --target "$t" --functions "$tmp/functions.wasm" \
      --function "$decl" -o "$tmp/wfn-$t" 2>"$tmp/err" ||
      fail "compile with Wasm functions ($t): $(cat "$tmp/err")"
    [ -f "$tmp/wfn-$t/functions/functions.wasm" ] || fail "package lacks its Wasm function module"
    grep -q '"has_b64_token(string) -> bool"' "$tmp/wfn-$t/manifest.json" ||
      fail "manifest lacks the declaration"
    for w in 1 2; do
      "$kestrel" --log-level error run --workers "$w" --rules "$tmp/wfn-$t" \
        --source "ndjson:$here/events.ndjson" >"$tmp/wfn.alerts" 2>"$tmp/err" ||
        fail "run with Wasm functions ($t, $w workers): $(cat "$tmp/err")"
      got=$(sed 's/,"process_tree":.*//' "$tmp/wfn.alerts" | grep -o '"pid":[0-9]*' | tr '\n' ' ')
      [ "$got" = '"pid":100 "pid":104 ' ] || fail "package $t, Wasm functions, $w workers: $got"
      "$kestrel" --log-level error replay --workers "$w" --rules "$tmp/wfn-$t" "$tmp/events.klog" \
        >"$tmp/wfn.replay" 2>"$tmp/err" || fail "replay with Wasm functions: $(cat "$tmp/err")"
      cmp -s "$tmp/wfn.alerts" "$tmp/wfn.replay" || fail "replay differs from run ($t, $w)"
    done
  done
  fn_targets="$fn_targets (lua and wasm modules)"
fi

echo "-- tampered" >>"$tmp/fn-lua/functions/functions.lua"
"$kestrel" run --rules "$tmp/fn-lua" --source "ndjson:$here/events.ndjson" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "a modified function module must be refused"
grep -q "functions/functions.lua: SHA-256" "$tmp/err" || fail "tamper message: $(cat "$tmp/err")"

# A predicate for a rule that does not exist, or of the wrong kind, is refused.
"$kestrel" compile "$here/rules" --target lua --predicate "nosuch=$here/predicate.lua" \
  -o "$tmp/bad" >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown rule id must be a usage error"
"$kestrel" compile "$here/rules" --target wasm --predicate "long_base64_token=$here/predicate.lua" \
  -o "$tmp/bad2" >/dev/null 2>&1
[ $? -eq 2 ] || fail "a .lua predicate for a wasm package must be a usage error"
echo "custom predicates: $runtimes; custom functions: $fn_targets"
