#!/usr/bin/env bash
# The binary event log is the same on every architecture: a log written by the build machine's
# kestrel (x86-64) replays under the cross-built kestrel (aarch64, through qemu-user) to the same
# alert digest, and the other way round; both builds write byte-identical logs from the same input.
# Inputs: the demo events with the bundled rules, and 20,000 events of the shared Endgame workload
# (gen_events.py --seed 1) with its 25 rules (thousands of alerts, sequences included).
# Usage: cross_arch_replay_test.sh HOST_KESTREL TARGET_KESTREL SOURCE_DIR SHARED_DIR
# Exits 77 (skipped, reason printed) when HOST_KESTREL was not built, unless
# KESTREL_REQUIRE_HOST_KESTREL=1 (scripts/test.sh sets it), which makes that a failure; and 77,
# with a loud message, when SHARED_DIR has no Endgame workload (after the demo check passed).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/shared_data.sh" || exit 1
host=$1
target=$2
src=$3
shared=$4
if [ ! -x "$host" ]; then
  if [ "${KESTREL_REQUIRE_HOST_KESTREL:-0}" = 1 ]; then
    echo "FAIL: the build machine's kestrel $host is missing (build the release preset first)"
    exit 1
  fi
  echo "SKIP: the build machine's kestrel $host is missing (build the release preset first)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
cd "$src" || exit 1

# check NAME NDJSON RULES DIALECT: record on both, compare the logs, replay each on both.
check() {
  local name=$1 events=$2 rules=$3 dialect=$4 digest=""
  "$host" record --dialect "$dialect" --source "ndjson:$events" --output "$tmp/$name.host.klog" \
    2>"$tmp/err" || { fail "$name: host record: $(cat "$tmp/err")"; return; }
  "$target" record --dialect "$dialect" --source "ndjson:$events" \
    --output "$tmp/$name.target.klog" 2>"$tmp/err" ||
    { fail "$name: target record: $(cat "$tmp/err")"; return; }
  cmp "$tmp/$name.host.klog" "$tmp/$name.target.klog" ||
    fail "$name: the two architectures wrote different logs from the same events"
  local who log workers out
  for who in host target; do
    for log in host target; do
      for workers in 1 2; do
        out=$("${!who}" replay --dialect "$dialect" --rules "$rules" --workers "$workers" --digest \
                "$tmp/$name.$log.klog" 2>"$tmp/err") ||
          { fail "$name: $who replay of the $log log: $(cat "$tmp/err")"; continue; }
        echo "$name: $who build, log written by $log, --workers $workers: $out"
        if [ -z "$digest" ]; then
          digest=$out
        elif [ "$out" != "$digest" ]; then
          fail "$name: $who replay of the $log log gives '$out', expected '$digest'"
        fi
      done
    done
  done
  case "$digest" in
    sha256:*" alerts:0 "*|"") fail "$name: no alerts, the comparison proves nothing ($digest)" ;;
    sha256:*) ;;
    *) fail "$name: not a digest: $digest" ;;
  esac
}

check demo examples/demo-events.ndjson rules elasticsearch

# The Endgame workload: its TOML rule lists become a Kestrel `rules:` JSON file each. Without
# ../shared the demo result stands alone: a failure fails, a pass is reported as a skip.
if ! have_shared_data "$shared/bench/endgame-workload/gen_events.py" \
    "the Endgame workload comparison (20,000 events)"; then
  [ "$failures" -gt 0 ] && { echo "$failures failure(s)"; exit 1; }
  echo "SKIP: only the demo events were compared; the Endgame workload needs $shared"
  exit 77
fi
python3 "$shared/bench/endgame-workload/gen_events.py" --n 20000 --seed 1 \
  -o "$tmp/endgame.ndjson" >/dev/null 2>"$tmp/err" || fail "gen_events.py: $(cat "$tmp/err")"
mkdir -p "$tmp/endgame-rules"
python3 - "$shared/bench/endgame-workload" "$tmp/endgame-rules" <<'PY' || fail "rule conversion"
import json, sys, tomllib
for name in ("single", "sequence"):
    with open(f"{sys.argv[1]}/{name}.toml", "rb") as f:
        rules = tomllib.load(f)["rule"]
    with open(f"{sys.argv[2]}/{name}.json", "w") as f:
        json.dump({"rules": [{"id": r["id"], "query": r["query"]} for r in rules]}, f)
PY
check endgame "$tmp/endgame.ndjson" "$tmp/endgame-rules" endgame

if [ "$failures" -gt 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "cross-architecture replay: all digests equal"
