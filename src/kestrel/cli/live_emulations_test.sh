#!/usr/bin/env bash
# Live emulations of attacker techniques (issue 21): `kestrel record --source ebpf` records this
# machine while harmless emulations run, and `kestrel run` with the default pack watches it too.
# Each emulation's recorded events must carry Elastic Defend's Linux fields (event.action,
# event.type, process.executable as the kernel sees it, env_vars, capabilities, leaders, the new
# ids of a uid/gid change) and, where the pack has a rule for it, that rule must alert.
# Harmless: a memfd copy of `true`, setgid/setuid to nobody in a child, setsid, a failed module
# load (ENOSYS without module support, ENOEXEC/EPERM otherwise: a zero-byte file), HISTFILE=
# in an environment, a #! script and a copy of `true` run from /dev/shm, a refused /dev/tcp
# connection to a closed loopback port. Everything it writes is under one private directory
# (and one file in /dev/shm), removed on exit; the machine is left as it was.
# Needs root and a kernel with BPF and BTF; exits 77 (skipped, reason printed) otherwise.
# Usage: live_emulations_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (loading BPF programs)"; exit 77; fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIPPED: no kernel BTF at /sys/kernel/btf/vmlinux"; exit 77; fi
py=$(command -v /usr/bin/python3 || command -v python3)
[ -n "$py" ] || { echo "SKIPPED: no python3 for the syscall emulations"; exit 77; }
tmp=$(mktemp -d /var/tmp/kestrel-emul.XXXXXX)
chmod 755 "$tmp"
marker="k$$e$RANDOM"
shm="/dev/shm/$marker-shm"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

"$kestrel" record --source ebpf --output "$tmp/events.klog" --duration 40s 2>"$tmp/rec.err" &
rec_pid=$!
"$kestrel" run --rules "$src/rules" --no-reload --duration 40s --output "$tmp/alerts.jsonl" \
  2>"$tmp/run.err" &
run_pid=$!
trap 'kill "$rec_pid" "$run_pid" 2>/dev/null; wait "$rec_pid" "$run_pid" 2>/dev/null; rm -rf "$tmp" "$shm"' EXIT
for _ in $(seq 1 150); do
  grep -qs "reading events from ebpf" "$tmp/run.err" && break
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -qs "reading events from ebpf" "$tmp/run.err"; then
  if grep -qs "missing\|not permitted\|BTF" "$tmp/run.err"; then
    echo "SKIPPED: live collection unavailable: $(head -3 "$tmp/run.err")"; exit 77
  fi
  echo "FAIL: kestrel run did not start: $(cat "$tmp/run.err")"; exit 1
fi
sleep 1  # both have read /proc

# 1. memfd execution (fileless): memfd_create, copy `true` in, fexecve.
"$py" - "$marker" <<'PY'
import os, sys
fd = os.memfd_create(sys.argv[1] + "-memfd", 0)
os.write(fd, open("/bin/true", "rb").read())
os.execve(fd, ["true", sys.argv[1] + "-memfd-exec"], {"PATH": "/bin"})  # this process
PY
# 2. setgid/setuid syscalls to nobody, and 3. setsid, in a child.
"$py" - "$marker" <<'PY'
import os, sys
pid = os.fork()
if pid == 0:
    os.setsid()
    os.setgid(65534)
    os.setuid(65534)
    os.execv("/bin/true", ["true", sys.argv[1] + "-ids"])
os.waitpid(pid, 0)
PY
setsid /bin/true "$marker-setsid"
# 4. A kernel module load attempt (a zero-byte file: refused by the kernel, harmless).
: >"$tmp/$marker.ko"
"$py" - "$tmp/$marker.ko" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(sys.argv[1], os.O_RDONLY)
libc.syscall(313, fd, b"", 0)  # finit_module
PY
# 5. History tampering through the environment.
HISTFILE=/dev/null bash -c ": $marker-hist"
# 6. A #! script and a program run from /dev/shm.
printf '#!/bin/sh\n: %s\n' "$marker-script" >"$tmp/$marker.sh" && chmod 755 "$tmp/$marker.sh"
"$tmp/$marker.sh"
cp /bin/true "$shm" && "$shm" "$marker-shm"
# 7. Reverse shell attempt to a closed loopback port.
bash -c "exec 3<>/dev/tcp/127.0.0.1/9 # $marker-rs" 2>/dev/null

sleep 2
kill -INT "$rec_pid" "$run_pid" 2>/dev/null
wait "$rec_pid"; wait "$run_pid"
"$kestrel" log cat "$tmp/events.klog" >"$tmp/events.ndjson" 2>"$tmp/cat.err" \
  || { echo "FAIL: log cat: $(cat "$tmp/cat.err")"; exit 1; }

"$py" - "$tmp/events.ndjson" "$tmp/alerts.jsonl" "$marker" "$shm" "$tmp" <<'PY' || failures=$((failures + 1))
import json, os, sys
events_path, alerts_path, marker, shm, tmp = sys.argv[1:6]
events = [json.loads(l) for l in open(events_path)]
alerts = [json.loads(l) for l in open(alerts_path)] if os.path.exists(alerts_path) else []
def get(e, dotted):
    if dotted in e: return e[dotted]
    cur = e
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur: return None
        cur = cur[part]
    return cur
def one(v): return v[0] if isinstance(v, list) and len(v) == 1 else v
failures = []
def find(desc, **want):
    pred = want.pop("pred", None)
    for e in events:
        if all(one(get(e, k.replace("__", "."))) == v for k, v in want.items()) and (pred is None or pred(e)):
            return e
    failures.append(f"no event: {desc}")
    return None
def check(e, desc, field, value):
    if e is None: return
    got = one(get(e, field))
    ok = value(got) if callable(value) else got == value
    print(("ok   " if ok else "FAIL ") + f"{desc}: {field} = {got!r}")
    if not ok: failures.append(f"{desc}: {field} = {got!r}")
args_have = lambda s: (lambda e: s in " ".join(get(e, "process.args") or []))
# already_running for processes found at start (init at least).
e = find("already_running of pid 1", event__action="already_running", process__pid=1)
check(e, "already_running", "event.type", "info")
# memfd
e = find("memfd_create", event__action="memfd_create", pred=lambda e: get(e, "process.Ext.memfd.name") == marker + "-memfd")
check(e, "memfd_create", "event.category", "process")
e = find("memfd exec", event__action="exec", pred=args_have(marker + "-memfd-exec"))
check(e, "memfd exec", "process.executable", "memfd:" + marker + "-memfd")
# uid/gid change, setsid
e = find("gid_change", event__action="gid_change", group__id="65534")
check(e, "gid_change", "event.type", "change")
e = find("uid_change", event__action="uid_change", user__id="65534")
check(e, "uid_change", "process.real_user.id", "65534")
check(e, "uid_change", "process.session_leader.same_as_process", True)
e = find("ids exec", event__action="exec", pred=args_have(marker + "-ids"))
check(e, "exec after setuid", "process.thread.capabilities.effective", None)
e = find("setsid", event__action="session_id_change", pred=lambda e: True)
check(e, "session_id_change", "event.type", "change")
e = find("setsid child exec", event__action="exec", process__name="true", pred=args_have(marker + "-setsid"))
check(e, "setsid exec", "process.session_leader.pid", get(e, "process.pid") if e else None)
# module load attempt
e = find("load_module", event__action="load_module", pred=lambda e: get(e, "process.Ext.load_module.name") == marker)
check(e, "load_module", "event.outcome", "failure")
# history tampering through the environment
e = find("HISTFILE exec", event__action="exec", pred=args_have(marker + "-hist"))
check(e, "HISTFILE", "process.env_vars", "HISTFILE=/dev/null")
# #! script: the interpreter is the executable, the script is in args
e = find("script exec", event__action="exec",
         pred=lambda e: (get(e, "process.args") or [""])[-1] == f"{tmp}/{marker}.sh" and get(e, "process.args")[0] == "/bin/sh")
check(e, "script", "process.executable", os.path.realpath("/bin/sh"))
check(e, "script", "process.args", lambda a: isinstance(a, list) and a[-1] == f"{tmp}/{marker}.sh")
# root: capabilities, user names, the entry leader
e = find("/dev/shm exec", event__action="exec", process__executable=shm)
check(e, "/dev/shm", "process.thread.capabilities.effective", lambda c: isinstance(c, list) and "CAP_SYS_ADMIN" in c)
check(e, "/dev/shm", "user.effective.id", "0")
check(e, "/dev/shm", "process.entry_leader.entry_meta.type", lambda t: isinstance(t, str) and t != "")
check(e, "/dev/shm", "process.parent.user.id", "0")
# Fork shape: Defend's (process / start / fork), the child with its parent.
e = find("fork", event__action="fork", pred=lambda e: True)
check(e, "fork", "event.type", "start")
# Rules of the default pack that fire on these emulations.
def alert(rule, needle):
    for a in alerts:
        if a.get("rule_id") == rule and needle in json.dumps(a):
            print(f"ok   rule {rule} fired"); return
    failures.append(f"rule {rule}: no alert containing {needle}")
alert("memfd_executed", marker + "-memfd-exec")
alert("memfd_created_then_executed", marker + "-memfd-exec")
alert("reverse_shell_dev_tcp_command_line", marker + "-rs")
if failures:
    print("\n".join("FAIL: " + f for f in failures)); sys.exit(1)
PY
grep -q "kernel drops: 0, user drops: 0" "$tmp/run.err" || echo "note: $(grep summary "$tmp/run.err")"
if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "live emulations: every event shape and rule checked"
