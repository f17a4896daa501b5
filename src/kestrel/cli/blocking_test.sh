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
    --enforce "$1" --guard-mark "$FS" --guard-budget 2s --output "$T/alerts.jsonl" --no-reload \
    2> "$T/err" &
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

# Sequence-aware blocking with the live source: a file created on $FS and then exec'd by the same
# user within 10 s is denied; the exec of a file that was not just created runs.
live=$("$KESTREL" doctor 2>&1 | grep 'live collection')
if [[ "$live" == *yes* ]]; then
  mkdir -p "$T/seqrules"
  cat > "$T/seqrules/dropped.eql" <<EQL
// name: Dropped and run
// action: block
sequence by user.id with maxspan=10s
  [file where event.type == "creation" and file.path : "$FS/drop*"] by file.path
  [process where process.executable : "$FS/drop*"] by process.executable
EQL
  cp /bin/true "$FS/drop-old"
  timeout -s KILL 60 "$KESTREL" run --rules "$T/seqrules" --source ebpf --enforce on \
    --guard-mark "$FS" --guard-budget 2s --output "$T/alerts.jsonl" --no-reload 2> "$T/err" &
  KPID=$!
  for _ in $(seq 200); do grep -q "reading events from ebpf" "$T/err" && break; sleep 0.1; done
  sleep 0.3
  # At once: the creation is still in the ring buffer when the exec is held; the guard has the
  # source drain it before judging.
  cp /bin/true "$FS/drop-new" && "$FS/drop-new" 2> /dev/null; rc=$?
  check "sequence block: the dropped file's exec right after is denied (exit 126, EPERM)" \
    test $rc -eq 126
  cp /bin/true "$FS/drop-new2"
  sleep 0.3
  "$FS/drop-new2" 2> /dev/null; rc=$?
  check "sequence block: ... and a while after (exit 126)" test $rc -eq 126
  check "sequence block: a file not just created runs" "$FS/drop-old"
  kill -INT "$KPID"; wait "$KPID"; KPID=
  check "sequence block: a deny alert with both stages" \
    grep -q '"rule_id":"dropped".*"event_type_id".*"event_type_id".*"event":{"action":"deny"' \
    "$T/alerts.jsonl"
else
  echo "skip sequence block with the live source: $live"
fi

# Hot reload re-arms the guard: a block rule added while Kestrel runs blocks, a removed one no
# longer does, and the set in between is swapped without a window (make before break).
mkdir -p "$T/hrules"
cp "$T/rules/alert.eql" "$T/hrules/"
rm -f "$T/events"; mkfifo "$T/events"
timeout -s KILL 60 "$KESTREL" run --rules "$T/hrules" --source "ndjson:$T/events" --enforce on \
  --guard-mark "$FS" --guard-budget 2s --output "$T/alerts.jsonl" 2> "$T/err" &
KPID=$!
exec 3> "$T/events"
n=0
ev() {  # one event: a reload is applied between two events
  n=$((n + 1))
  printf '{"@timestamp":"2026-01-01T00:00:%02dZ","event":{"category":["process"]},"process":{"name":"x"}}\n' "$n" >&3
}
wait_for() {  # wait_for PATTERN: kestrel's log shows it within 10 s
  for _ in $(seq 100); do grep -q "$1" "$T/err" && return 0; ev; sleep 0.1; done
  return 1
}
check "reload: running, nothing armed" wait_for "reading events"
check "reload: the marker runs before any block rule" "$FS/marker"
cp "$T/rules/exec.eql" "$T/hrules/"
check "reload: the added block rule is armed" wait_for "blocking guard reloaded: 1 block rule"
"$FS/marker" 2> /dev/null; rc=$?
check "reload: ... and denies the marker (exit 126)" test $rc -eq 126
check "reload: other binaries run" "$FS/other"
sed -i "s|$FS/marker|$FS/other|" "$T/hrules/exec.eql"
check "reload: the changed rule is re-armed" wait_for "blocking guard reloaded: 1 block rule (was 1)"
"$FS/other" 2> /dev/null; rc=$?
check "reload: the changed rule denies its new target (exit 126)" test $rc -eq 126
check "reload: the old target runs again" "$FS/marker"
rm "$T/hrules/exec.eql"
check "reload: the removed rule is disarmed" wait_for "nothing is held any more"
check "reload: everything runs again" "$FS/other"
exec 3>&-
wait "$KPID"; rc=$?; KPID=
check "reload: kestrel exits 0" test $rc -eq 0
check "reload: the summary sums the guards" grep -q "guard (on): held .*, denied 2," "$T/err"

# --enforce on that cannot start is an error (exit 1), not a silent detection-only run.
"$KESTREL" run --rules "$T/rules" --source ndjson:/dev/null --enforce on \
  --guard-mark "$T/no-such-dir" > /dev/null 2> "$T/err"; rc=$?
check "enforce on, bad mark: exit 1" test $rc -eq 1
check "enforce on, bad mark: says why" grep -q "cannot block: fanotify_mark" "$T/err"
"$KESTREL" run --rules "$T/rules" --source ndjson:/dev/null --enforce maybe > /dev/null 2>&1
check "bad --enforce: usage error" test $? -eq 2

exit $fail
