#!/usr/bin/env bash
# Live emulations of attacker techniques (issue 21): `kestrel record --source ebpf` records this
# machine while harmless emulations run, and `kestrel run` with the default pack watches it too.
# Each emulation's recorded events must carry Elastic Defend's Linux fields (event.action,
# event.type, process.executable as the kernel sees it, env_vars, capabilities, leaders, the new
# ids of a uid/gid change) and, where the pack has a rule for it, that rule must alert.
# Harmless: a memfd copy of `true`, setgid/setuid to nobody in a child, setsid, a failed module
# load (ENOSYS without module support, ENOEXEC/EPERM otherwise: a zero-byte file), HISTFILE=
# in an environment, a #! script and a copy of `true` run from /dev/shm, a refused /dev/tcp
# connection to a closed loopback port, a base64-decoded `true` piped to sh, copies of `true`
# run from /tmp and as a hidden file, a setuid bit on a private copy of `true`, a history file
# truncated and deleted, `history -c`, and comment-only persistence files. `kestrel run` reads
# its own config file (run.env_vars, run.env_value_max), checked on its alerts' process.env_vars.
# Writes: everything under one private directory, except (each named with this run's marker,
# removed at once and again by the EXIT trap, which also runs on SIGINT/SIGTERM/SIGHUP):
#   /dev/shm/MARKER-shm, /dev/shm/.MARKER-hidden, /tmp/kestrel-test-MARKER (copies of `true`);
#   /etc/cron.d/kestrel-test-MARKER, /etc/systemd/system/kestrel-test-MARKER.service,
#   /etc/profile.d/kestrel-test-MARKER.sh (one comment line each);
#   /etc/ld.so.preload: opened for appending with nothing written (created empty if absent, then
#   removed); its bytes are saved first and, should they differ at exit, written back. Never a
#   library path: a stale preload would break every exec on the machine.
# The machine is left as it was. Needs root and a kernel with BPF and BTF; exits 77 (skipped,
# reason printed) otherwise.
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
# Unique per run: mktemp's random suffix (unique among existing names), the pid and $RANDOM.
marker="k${tmp##*.}p$$r$RANDOM"
shm="/dev/shm/$marker-shm"
shm_hidden="/dev/shm/.$marker-hidden"
tmpbin="/tmp/kestrel-test-$marker"
cron="/etc/cron.d/kestrel-test-$marker"
unit="/etc/systemd/system/kestrel-test-$marker.service"
profile="/etc/profile.d/kestrel-test-$marker.sh"
preload=/etc/ld.so.preload
preload_state=untouched  # untouched, absent (we may create it) or saved (its bytes in $tmp)
rec_pid=
run_pid=
cleanup() {
  if [ -n "$rec_pid$run_pid" ]; then
    kill $rec_pid $run_pid 2>/dev/null
    wait $rec_pid $run_pid 2>/dev/null
  fi
  rm -f "$shm" "$shm_hidden" "$tmpbin" "$cron" "$unit" "$profile"
  if [ "$preload_state" = absent ]; then
    rm -f "$preload"
  elif [ "$preload_state" = saved ] && ! cmp -s "$tmp/ld.so.preload.saved" "$preload"; then
    cat "$tmp/ld.so.preload.saved" >"$preload"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
failures=0

"$kestrel" record --source ebpf --output "$tmp/events.klog" --duration 40s 2>"$tmp/rec.err" &
rec_pid=$!
# The run's own env_vars allow-list (run.env_vars, run.env_value_max): its alerts must carry
# KESTREL_EMUL_VAR cut to 8 bytes and not HISTSIZE; the recording keeps the default list.
printf 'run:\n  env_vars: [KESTREL_EMUL_VAR, LD_PRELOAD]\n  env_value_max: 8\n' >"$tmp/kestrel.yaml"
"$kestrel" --config "$tmp/kestrel.yaml" run --rules "$src/rules" --no-reload --duration 40s \
  --output "$tmp/alerts.jsonl" 2>"$tmp/run.err" &
run_pid=$!
for _ in $(seq 1 150); do  # both started (the recorder too: an emulation must not precede it)
  grep -qs "reading events from ebpf" "$tmp/run.err" && grep -qs "recording this machine" \
    "$tmp/rec.err" && break
  kill -0 "$run_pid" 2>/dev/null && kill -0 "$rec_pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -qs "reading events from ebpf" "$tmp/run.err"; then
  if grep -qs "missing\|not permitted\|BTF" "$tmp/run.err"; then
    echo "SKIPPED: live collection unavailable: $(head -3 "$tmp/run.err")"; exit 77
  fi
  echo "FAIL: kestrel run did not start: $(cat "$tmp/run.err")"; exit 1
fi
if ! grep -qs "recording this machine" "$tmp/rec.err"; then
  echo "FAIL: kestrel record did not start: $(cat "$tmp/rec.err")"; exit 1
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
# 8. A base64-encoded command decoded and piped to a shell (the payload runs `true`).
b64=$(printf '/bin/true %s\n' "$marker-b64" | base64 -w0)
sh -c "echo $b64 | base64 -d | sh"
# 9. A copy of a binary made executable in /tmp and run from there.
cp /bin/true "$tmpbin" && chmod 755 "$tmpbin" && "$tmpbin" "$marker-tmp"
rm -f "$tmpbin"
# 10. Hidden files: one run from the private directory, one created in /dev/shm.
cp /bin/true "$tmp/.$marker-hidden" && "$tmp/.$marker-hidden" "$marker-hidden"
cp /bin/true "$shm_hidden"
rm -f "$shm_hidden"
# 11. Persistence files without a useful payload, each removed at once: cron (no extension),
# a systemd unit, a shell profile script.
printf '# kestrel live test %s: comment only\n' "$marker" >"$cron"
rm -f "$cron"
printf '# kestrel live test %s: comment only\n' "$marker" >"$unit"
rm -f "$unit"
printf '# kestrel live test %s: comment only\n' "$marker" >"$profile"
rm -f "$profile"
# 12. The setuid bit set on a private copy of `true`.
cp /bin/true "$tmp/$marker-suid" && chmod u+s "$tmp/$marker-suid"
# 13. /etc/ld.so.preload opened for writing, nothing written (state saved first, see the header).
if [ -e "$preload" ]; then
  cp "$preload" "$tmp/ld.so.preload.saved" && preload_state=saved
else
  preload_state=absent
fi
if [ "$preload_state" != untouched ]; then
  bash -c ": >>$preload # $marker-preload"
  [ "$preload_state" = absent ] && rm -f "$preload"
fi
# 14. History tampering: a private .bash_history truncated then deleted, and `history -c`.
mkdir -p "$tmp/home" && printf 'ls\n' >"$tmp/home/.bash_history"
: >"$tmp/home/.bash_history"
rm "$tmp/home/.bash_history"
KESTREL_EMUL_VAR=0123456789abcdef HISTSIZE=5 bash -c "history -c # $marker-histc"

sleep 2
kill -INT "$rec_pid" "$run_pid" 2>/dev/null
wait "$rec_pid"; wait "$run_pid"
"$kestrel" log cat "$tmp/events.klog" >"$tmp/events.ndjson" 2>"$tmp/cat.err" \
  || { echo "FAIL: log cat: $(cat "$tmp/cat.err")"; exit 1; }

"$py" - "$tmp/events.ndjson" "$tmp/alerts.jsonl" "$marker" "$shm" "$tmp" "$b64" "$tmpbin" \
  "$shm_hidden" "$cron" "$unit" "$profile" <<'PY' || failures=$((failures + 1))
import json, os, sys
(events_path, alerts_path, marker, shm, tmp, b64, tmpbin, shm_hidden, cron, unit,
 profile) = sys.argv[1:12]
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
alert("execution_from_dev_shm", shm)
# base64 payload to a shell
e = find("base64 pipeline", event__action="exec",
         pred=lambda e: b64 in (get(e, "process.command_line") or ""))
check(e, "base64", "process.name", lambda n: n in ("sh", "dash", "bash"))
e = find("base64 payload", event__action="exec", pred=args_have(marker + "-b64"))
check(e, "base64 payload", "process.parent.name", lambda n: n in ("sh", "dash", "bash"))
alert("base64_decoded_into_shell", b64)
# a copy of `true` made executable in /tmp and run from there
e = find("/tmp copy", event__action="creation", file__path=tmpbin)
check(e, "/tmp copy", "process.name", "cp")
e = find("/tmp chmod", event__action="attributes_modified", file__path=tmpbin)
check(e, "/tmp chmod", "file.mode", "755")
e = find("/tmp exec", event__action="exec", process__executable=tmpbin)
check(e, "/tmp exec", "process.parent.name", "bash")
alert("tmp_file_executed_by_shell", tmpbin)
alert("executable_made_in_tmp_then_run", tmpbin)
# hidden files
hidden = os.path.realpath(f"{tmp}/.{marker}-hidden")
e = find("hidden exec", event__action="exec", process__executable=hidden)
check(e, "hidden exec", "process.name", lambda n: isinstance(n, str) and n.startswith("."))
alert("hidden_executable_in_temporary_directory", hidden)
e = find("hidden /dev/shm file", event__action="creation", file__path=shm_hidden)
check(e, "hidden /dev/shm file", "file.name", "." + marker + "-hidden")
alert("hidden_file_in_shared_memory", shm_hidden)
# persistence files: created (by the shell's redirection), then deleted
for path, rule, ext in ((cron, "cron_job_written", None), (unit, "systemd_unit_written", "service"),
                        (profile, "shell_profile_modified", "sh")):
    e = find(path + " created", event__action="creation", file__path=path)
    check(e, path, "file.extension", ext)
    check(e, path, "event.category", "file")
    check(e, path, "process.name", "bash")
    find(path + " deleted", event__action="deletion", file__path=path)
    alert(rule, path)
# setuid bit on a private copy
suid = f"{tmp}/{marker}-suid"
e = find("chmod u+s", event__action="attributes_modified", file__path=suid)
check(e, "chmod u+s", "file.mode", "4755")
check(e, "chmod u+s", "process.name", "chmod")
alert("setuid_bit_set", suid)
# /etc/ld.so.preload opened for writing (created when absent)
e = find("ld.so.preload", file__path="/etc/ld.so.preload", pred=args_have(marker + "-preload"))
check(e, "ld.so.preload", "event.action", lambda a: a in ("creation", "modification"))
alert("ld_so_preload_modified", marker + "-preload")
# history tampering: truncation (no pack rule: fields only), deletion, `history -c`
hist = f"{tmp}/home/.bash_history"
e = find("history truncated", event__action="modification", file__path=hist)
check(e, "history truncated", "file.name", ".bash_history")
e = find("history deleted", event__action="deletion", file__path=hist)
check(e, "history deleted", "process.name", "rm")
alert("shell_history_deleted", hist)
e = find("history -c", event__action="exec", pred=args_have(marker + "-histc"))
check(e, "history -c", "process.command_line", lambda c: isinstance(c, str) and "history -c" in c)
check(e, "history -c (recorded: default allow-list)", "process.env_vars",
      lambda v: "HISTSIZE=5" in (v if isinstance(v, list) else [v])
      and "KESTREL_EMUL_VAR" not in str(v))
alert("shell_history_disabled", marker + "-histc")
def alert_env(rule, needle):  # process.env_vars of the alert's event, per the run's config
    for a in alerts:
        if a.get("rule_id") == rule and needle in json.dumps(a):
            return get(a["events"][-1]["fields"], "process.env_vars")
    return None
v = alert_env("shell_history_disabled", marker + "-histc")
v = v if isinstance(v, list) else [v]
ok = "KESTREL_EMUL_VAR=01234567" in v and not any(str(x).startswith("HISTSIZE=") for x in v)
print(("ok   " if ok else "FAIL ") + f"run.env_vars in the alert: process.env_vars = {v!r}")
if not ok: failures.append(f"run.env_vars: the alert's process.env_vars = {v!r}")
# No pack rule (fields only): HISTFILE= in the environment (process.env_vars above), memfd_create
# alone, setuid/setgid to nobody, setsid, the failed module load (kernel_module_loaded needs
# event.outcome success), the truncated history file.
if failures:
    print("\n".join("FAIL: " + f for f in failures)); sys.exit(1)
PY
grep -q "kernel drops: 0, user drops: 0" "$tmp/run.err" || echo "note: $(grep summary "$tmp/run.err")"
if [ "$failures" -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "live emulations: every event shape and rule checked"
