#!/usr/bin/env bash
# The custom-predicate example end to end: packages whose rule predicate is user-written (Lua, and
# C compiled to wasm32 when clang and wasm-ld are installed) raise exactly the expected alerts.
# Usage: test.sh KESTREL_BINARY  (run from anywhere)
set -u
kestrel=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect_pids() {  # FILE: the alerts must be those of pids 100 and 104, in order
  local got
  got=$(grep -o '"pid":[0-9]*' "$1" | tr '\n' ' ')
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
  cmp -s "$tmp/lua.alerts" "$tmp/wasm.alerts" || fail "lua and wasm alerts differ"
  runtimes="$runtimes wasm"
else
  echo "note: clang/wasm-ld or the wasm runtime missing: the C predicate was not tested" >&2
fi

# A predicate for a rule that does not exist, or of the wrong kind, is refused.
"$kestrel" compile "$here/rules" --target lua --predicate "nosuch=$here/predicate.lua" \
  -o "$tmp/bad" >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown rule id must be a usage error"
"$kestrel" compile "$here/rules" --target wasm --predicate "long_base64_token=$here/predicate.lua" \
  -o "$tmp/bad2" >/dev/null 2>&1
[ $? -eq 2 ] || fail "a .lua predicate for a wasm package must be a usage error"
echo "custom predicates: $runtimes"
