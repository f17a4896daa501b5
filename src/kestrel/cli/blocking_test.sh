#!/usr/bin/env bash
# `kestrel run --enforce` end to end (root): block rules on the exec of a marker binary and on
# the opening of a marker file, in enforce and dry-run mode, the loader bypass, the verdict
# alerts and the summary. Everything the guard marks is a tmpfs of this test's own, mounted in a
# private mount namespace (it disappears with the test, even if the test is killed), never `/`.
# Skipped (exit 77) with the reason when fanotify permission events are unavailable.
# Usage: blocking_test.sh KESTREL_BINARY SOURCE_DIR
set -u
KESTREL=$(realpath "$1")

if [ "${KESTREL_BLOCKING_TEST_INNER:-}" != 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (fanotify permission events)"; exit 77; fi
  probe=$("$KESTREL" doctor 2>&1 | grep 'fanotify permission events')
  case "$probe" in
    ok*) ;;
    *) echo "SKIPPED: the kernel lacks fanotify permission events: $probe"; exit 77 ;;
  esac
  KESTREL_BLOCKING_TEST_INNER=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

fail=0
check() {  # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}

T=$(mktemp -d /tmp/kestrel-blocking-test.XXXXXX)
FS=$T/fs
mkdir -p "$FS" "$T/rules"
mount -t tmpfs -o size=16m,mode=0755 tmpfs "$FS" || { echo "FAIL mount tmpfs"; exit 1; }
cleanup() {
  [ -n "${KPID:-}" ] && kill -KILL "$KPID" 2>/dev/null
  umount -l "$FS" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
cp /bin/true "$FS/marker"
cp /bin/true "$FS/other"
echo secret > "$FS/secret.txt"
echo public > "$FS/public.txt"
cat > "$T/rules/exec.eql" <<EQL
// name: Marker binary run
// action: block
process where process.executable == "$FS/marker"
EQL
cat > "$T/rules/open.eql" <<EQL
// name: Marker file read
// action: block
file where file.name == "secret.txt"
EQL
cat > "$T/rules/alert.eql" <<EQL
// action: alert
process where process.name == "never-seen"
EQL

# start MODE: runs kestrel over an empty event stream (a FIFO held open) with the guard on $FS.
start() {
  rm -f "$T/events" "$T/alerts.jsonl"
  mkfifo "$T/events"
  timeout -s KILL 60 "$KESTREL" run --rules "$T/rules" --source "ndjson:$T/events" \
    --enforce "$1" --guard-mark "$FS" --output "$T/alerts.jsonl" --no-reload 2> "$T/err" &
  KPID=$!
  exec 3> "$T/events"
  for _ in $(seq 100); do
    grep -q "blocking guard" "$T/err" && return 0
    sleep 0.1
  done
  echo "FAIL the guard did not start:"; cat "$T/err"; exit 1
}
stop() {
  exec 3>&-
  wait "$KPID"
  local rc=$?
  KPID=
  [ $rc -eq 0 ] || { echo "FAIL kestrel exited $rc"; cat "$T/err"; fail=1; }
}

# Enforce: denied with EPERM ("Operation not permitted", exit 126), everything else runs.
start on
"$FS/marker" 2> "$T/exec.err"; rc=$?
check "enforce: the marker's exec fails (exit 126)" test $rc -eq 126
check "enforce: ... with 'Operation not permitted' (EPERM)" grep -q "Operation not permitted" "$T/exec.err"
check "enforce: another binary on the same filesystem runs" "$FS/other"
check "enforce: binaries elsewhere run" /bin/true
check "enforce: opening the marker file is denied" bash -c "! cat '$FS/secret.txt' 2>/dev/null"
check "enforce: other files open" grep -q public "$FS/public.txt"
if [ -e /lib64/ld-linux-x86-64.so.2 ]; then
  check "enforce: the loader bypass is refused" \
    bash -c "! /lib64/ld-linux-x86-64.so.2 '$FS/marker' 2>/dev/null"
  check "enforce: the loader runs other programs" /lib64/ld-linux-x86-64.so.2 "$FS/other"
fi
stop
check "enforce: a deny alert for the exec" \
  grep -q '"rule_id":"exec".*"event":{"action":"deny","outcome":"success"}' "$T/alerts.jsonl"
check "enforce: a deny alert for the open" \
  grep -q '"rule_id":"open".*"file":{.*"path":"'"$FS"'/secret.txt".*"event":{"action":"deny"' \
  "$T/alerts.jsonl"
check "enforce: the summary counts the denials" grep -q "guard (on): held .*, denied [3-9]" "$T/err"
check "enforce: no alert for the other binary" bash -c "! grep -q '$FS/other' '$T/alerts.jsonl'"

# Dry run: everything runs, the verdicts are recorded.
start dry-run
check "dry-run: the marker runs" "$FS/marker"
check "dry-run: the marker file opens" grep -q secret "$FS/secret.txt"
stop
check "dry-run: would-deny alerts" \
  grep -q '"rule_id":"exec".*"event":{"action":"would-deny","outcome":"success"}' "$T/alerts.jsonl"
check "dry-run: no deny" bash -c "! grep -q '\"action\":\"deny\"' '$T/alerts.jsonl'"
check "dry-run: the summary" grep -q "guard (dry-run): .*would deny [1-9]" "$T/err"

# The guard never outlives Kestrel: the marker runs again.
check "after: the marker runs" "$FS/marker"

# --enforce on that cannot start is an error (exit 1), not a silent detection-only run.
"$KESTREL" run --rules "$T/rules" --source ndjson:/dev/null --enforce on \
  --guard-mark "$T/no-such-dir" > /dev/null 2> "$T/err"; rc=$?
check "enforce on, bad mark: exit 1" test $rc -eq 1
check "enforce on, bad mark: says why" grep -q "cannot block: fanotify_mark" "$T/err"
"$KESTREL" run --rules "$T/rules" --source ndjson:/dev/null --enforce maybe > /dev/null 2>&1
check "bad --enforce: usage error" test $? -eq 2

exit $fail
