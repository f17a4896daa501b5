#!/usr/bin/env bash
# Rule packages end to end: `compile --target ir|lua|wasm -o PKG` then `run --rules PKG` gives
# the same alerts as running the rule sources natively (ECS demo, and Endgame rules over the
# conformance data, whose dynamic fields get other ids at run time); a modified file, a wrong
# Host API version and a conflicting --predicate-runtime are refused.
# Usage: rule_package_test.sh KESTREL_BINARY SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/shared_data.sh" || exit 1
kestrel=$1
src=$2
cd "$src" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

targets="ir lua"
if "$kestrel" query --predicate-runtime wasm --input /dev/null 'any where true' >/dev/null 2>&1; then
  targets="$targets wasm"
fi
if command -v wasm2c >/dev/null && command -v cc >/dev/null; then
  targets="$targets wasm-aot"  # --target wasm --aot
fi
compile() {  # compile TARGET ARGS...: kestrel compile with the target's flags
  local t=$1
  shift
  if [ "$t" = wasm-aot ]; then
    "$kestrel" compile "$@" --target wasm --aot
  else
    "$kestrel" compile "$@" --target "$t"
  fi
}

# 1. The demo rules, ECS events.
"$kestrel" --log-level error run --source ndjson:examples/demo-events.ndjson >"$tmp/native" ||
  fail "native demo run"
[ -s "$tmp/native" ] || fail "native demo run raised no alert"
sed 's/,"file":"[^"]*"//' "$tmp/native" >"$tmp/native.nofile"
for t in $targets; do
  compile "$t" rules -o "$tmp/pkg-$t" 2>"$tmp/err" || fail "compile $t: $(cat "$tmp/err")"
  [ -f "$tmp/pkg-$t/manifest.json" ] || fail "no manifest for $t"
  grep -q '"host_api_version": 1' "$tmp/pkg-$t/manifest.json" || fail "manifest lacks the API version"
  "$kestrel" --log-level error run --rules "$tmp/pkg-$t" --source ndjson:examples/demo-events.ndjson \
    >"$tmp/out-$t" 2>"$tmp/err" || fail "run package $t: $(cat "$tmp/err")"
  # The alerts name the rule file they came from (rule.file): the package's copy differs.
  sed -i 's/,"file":"[^"]*"//' "$tmp/out-$t"
  cmp -s "$tmp/native.nofile" "$tmp/out-$t" || fail "package $t: alerts differ from native"
  "$kestrel" --log-level error run --workers 2 --rules "$tmp/pkg-$t" \
    --source ndjson:examples/demo-events.ndjson >"$tmp/out2-$t" 2>"$tmp/err" ||
    fail "run package $t with 2 workers: $(cat "$tmp/err")"
  sed -i 's/,"file":"[^"]*"//' "$tmp/out2-$t"
  cmp -s "$tmp/native.nofile" "$tmp/out2-$t" || fail "package $t, 2 workers: alerts differ from native"
done

# 2. Endgame rules over the conformance data (fields outside the ECS catalogue).
data="$src/../shared/conformance/eql/endgame/test_data.json"
if have_shared_data "$data" "the Endgame rule package checks"; then
  mkdir -p "$tmp/eg"
  cat >"$tmp/eg/cmd_under_explorer.eql" <<'RULE'
process where process_name in ("cmd.exe", "net.exe") and descendant of [process where process_name == "explorer.exe"]
RULE
  cat >"$tmp/eg/seq.eql" <<'RULE'
sequence by unique_pid [process where opcode == 1 and process_name : "c*"] [network where destination_port >= 80]
RULE
  "$kestrel" --log-level error run --dialect endgame --rules "$tmp/eg" --source "ndjson:$data" \
    >"$tmp/eg-native" || fail "endgame native run"
  [ -s "$tmp/eg-native" ] || fail "endgame native run raised no alert"
  for t in $targets; do
    compile "$t" "$tmp/eg" --dialect endgame -o "$tmp/eg-$t" 2>/dev/null || fail "endgame compile $t"
    grep -q '"process_name"' "$tmp/eg-$t/manifest.json" || fail "manifest lacks the dynamic fields"
    "$kestrel" --log-level error run --dialect endgame --rules "$tmp/eg-$t" --source "ndjson:$data" \
      >"$tmp/eg-out-$t" 2>"$tmp/err" || fail "endgame package $t: $(cat "$tmp/err")"
    sed 's/,"file":"[^"]*"//' "$tmp/eg-native" >"$tmp/eg-native.nofile"
    sed -i 's/,"file":"[^"]*"//' "$tmp/eg-out-$t"
    cmp -s "$tmp/eg-native.nofile" "$tmp/eg-out-$t" || fail "endgame package $t: alerts differ"
  done
fi

# 3. Tampering and version checks.
if [ -d "$tmp/pkg-wasm-aot" ]; then
  [ -f "$tmp/pkg-wasm-aot/predicates/0000.so" ] || fail "no AOT object"
  cp -r "$tmp/pkg-wasm-aot" "$tmp/bad-aot"
  printf 'x' >>"$tmp/bad-aot/predicates/0001.so"
  "$kestrel" run --rules "$tmp/bad-aot" --source ndjson:examples/demo-events.ndjson >/dev/null 2>"$tmp/err"
  [ $? -eq 1 ] || fail "a modified AOT object must be refused"
  grep -q "predicates/0001.so: SHA-256" "$tmp/err" || fail "AOT tamper message: $(cat "$tmp/err")"
fi
cp -r "$tmp/pkg-lua" "$tmp/bad"
echo "-- tampered" >>"$tmp/bad/predicates/0000.lua"
"$kestrel" run --rules "$tmp/bad" --source ndjson:examples/demo-events.ndjson >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "a modified predicate must be refused (exit 1)"
grep -q "predicates/0000.lua: SHA-256" "$tmp/err" || fail "tamper message: $(cat "$tmp/err")"
rm -rf "$tmp/bad" && cp -r "$tmp/pkg-lua" "$tmp/bad"
sed -i 's/"host_api_version": 1/"host_api_version": 9/' "$tmp/bad/manifest.json"
"$kestrel" run --rules "$tmp/bad" --source ndjson:examples/demo-events.ndjson >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] || fail "a wrong Host API version must be refused"
grep -q "package needs 9, host implements 1" "$tmp/err" || fail "version message: $(cat "$tmp/err")"
"$kestrel" run --rules "$tmp/pkg-lua" --predicate-runtime wasm --source ndjson:examples/demo-events.ndjson \
  >/dev/null 2>&1
[ $? -eq 2 ] || fail "--predicate-runtime with a package must be a usage error"
"$kestrel" compile rules --target lua -o "$tmp/pkg-lua" >/dev/null 2>&1
[ $? -eq 2 ] || fail "compiling into a non-empty directory must be refused"
echo "rule packages: $targets"
