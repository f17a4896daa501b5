#!/usr/bin/env bash
# `--predicate-runtime`: run and query give byte-identical output with native, lua and wasm
# predicates, and an unknown runtime is a usage error (exit 2).
# Usage: predicate_runtime_test.sh KESTREL_BINARY SOURCE_DIR
set -u
. "$(dirname "${BASH_SOURCE[0]}")/shared_data.sh" || exit 1
kestrel=$1
src=$2
cd "$src" || exit 1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

runtimes="native lua"
if "$kestrel" query --predicate-runtime wasm --input /dev/null 'any where true' >/dev/null 2>&1; then
  runtimes="$runtimes wasm"
fi

for r in $runtimes; do
  "$kestrel" --log-level error run --predicate-runtime "$r" \
    --source ndjson:examples/demo-events.ndjson >"$tmp/run.$r" 2>"$tmp/err" ||
    fail "run with $r: $(cat "$tmp/err")"
  [ -s "$tmp/run.$r" ] || fail "run with $r raised no alert"
  cmp -s "$tmp/run.native" "$tmp/run.$r" || fail "run: $r differs from native"
  # The bus: one runtime per worker.
  "$kestrel" --log-level error run --workers 2 --predicate-runtime "$r" \
    --source ndjson:examples/demo-events.ndjson >"$tmp/run2.$r" 2>"$tmp/err" ||
    fail "run with $r and 2 workers: $(cat "$tmp/err")"
  cmp -s "$tmp/run.native" "$tmp/run2.$r" || fail "run: $r with 2 workers differs from native"
done

# replay: one runtime per worker; the same alerts as native, with 1 and 3 workers.
"$kestrel" record --source ndjson:examples/demo-events.ndjson --output "$tmp/demo.klog" 2>/dev/null ||
  fail "record"
for r in $runtimes; do
  for w in 1 3; do
    "$kestrel" replay "$tmp/demo.klog" --predicate-runtime "$r" --workers "$w" \
      >"$tmp/replay.$r.$w" 2>"$tmp/err" || fail "replay with $r, $w workers: $(cat "$tmp/err")"
    [ -s "$tmp/replay.$r.$w" ] || fail "replay with $r raised no alert"
    cmp -s "$tmp/replay.native.1" "$tmp/replay.$r.$w" || fail "replay: $r/$w differs from native"
  done
done

# replay of rule packages: their own predicates, one runtime per worker.
for t in ir lua $(echo "$runtimes" | grep -o wasm); do
  "$kestrel" compile rules --target "$t" -o "$tmp/pkg-$t" 2>/dev/null || fail "compile a $t package"
  for w in 1 3; do
    "$kestrel" replay "$tmp/demo.klog" --rules "$tmp/pkg-$t" --workers "$w" >"$tmp/replay.pkg" \
      2>"$tmp/err" || fail "replay of a $t package, $w workers: $(cat "$tmp/err")"
    # The alerts name the rule file they came from: the package's copy (rule.file) differs.
    sed -i 's/,"file":"[^"]*"//' "$tmp/replay.pkg"
    sed 's/,"file":"[^"]*"//' "$tmp/replay.native.1" | cmp -s - "$tmp/replay.pkg" ||
      fail "replay of a $t package differs ($w)"
  done
done
"$kestrel" replay "$tmp/demo.klog" --rules "$tmp/pkg-lua" --predicate-runtime wasm >/dev/null \
  2>"$tmp/err"
[ $? -eq 2 ] || fail "--predicate-runtime with a package must be a usage error in replay too"

data="$src/../shared/conformance/eql/endgame/test_data.json"
if have_shared_data "$data" "the query check over the conformance data"; then
  q='process where process_name : ("cmd*", "power*") and not (user_name == "SYSTEM" or pid in (4, 8)) or descendant of [process where process_name == "explorer.exe"]'
  for r in $runtimes; do
    "$kestrel" query --predicate-runtime "$r" --dialect endgame --input "$data" "$q" \
      >"$tmp/query.$r" 2>"$tmp/err" || fail "query with $r: $(cat "$tmp/err")"
    [ -s "$tmp/query.$r" ] || fail "query with $r found nothing"
    cmp -s "$tmp/query.native" "$tmp/query.$r" || fail "query: $r differs from native"
  done
fi

"$kestrel" query --predicate-runtime jvm --input /dev/null 'any where true' >/dev/null 2>"$tmp/err"
[ $? -eq 2 ] || fail "unknown runtime should exit 2"
grep -q "expected native, lua or wasm" "$tmp/err" || fail "unknown runtime message: $(cat "$tmp/err")"
echo "predicate runtimes agree: $runtimes"
