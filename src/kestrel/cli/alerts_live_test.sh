#!/usr/bin/env bash
# A live alert carries what an analyst needs (issue 22's acceptance), in both formats: host.name,
# host.id, the rule's description and ATT&CK ids, the message from the rule's template, the named
# ancestry (process_tree / process.parent), @timestamp, and the executable's SHA-256 (live only).
# The ECS document (`--format ecs`) has the alerts-as-data shape (process, host at the top,
# kibana.alert.*, threat). Needs root and a kernel with BPF and BTF; exits 77 (skipped, reason
# printed) otherwise. Usage: alerts_live_test.sh KESTREL_BINARY
set -u
kestrel=$1
if [ "$(id -u)" -ne 0 ]; then echo "SKIPPED: needs root (loading BPF programs)"; exit 77; fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "SKIPPED: no kernel BTF at /sys/kernel/btf/vmlinux"; exit 77; fi
tmp=$(mktemp -d /tmp/kestrel-alerts-live.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

mkdir -p "$tmp/rules"
cat >"$tmp/rules/marked_shell.eql" <<'RULE'
// name: Marked shell
// description: A shell whose command line carries the test marker.
// severity: high
// version: 2
// tactic: TA0002 Execution
// technique: T1059 Command and Scripting Interpreter, T1059.004 Unix Shell
// references: https://attack.mitre.org/techniques/T1059/004/
// message: {process.name} spawned by {process.parent.executable} ran {process.command_line}
process where event.action == "exec" and process.command_line : "sh -c echo kestrel-alerts-live-marker*"
RULE

run_live() {  # FORMAT OUTPUT
  "$kestrel" run --rules "$tmp/rules" --duration 5s --format "$1" --output "$2" 2>"$2.err" &
  local pid=$!
  for _ in $(seq 1 100); do
    grep -qs "reading events from ebpf" "$2.err" && break
    sleep 0.1
  done
  grep -q "reading events from ebpf" "$2.err" || fail "kestrel run did not start: $(cat "$2.err")"
  bash -c 'sh -c "echo kestrel-alerts-live-marker >/dev/null"; true'
  wait $pid || fail "kestrel run --format $1 exited $?: $(cat "$2.err")"
}

run_live kestrel "$tmp/kestrel.jsonl"
run_live ecs "$tmp/ecs.jsonl"
[ -s "$tmp/kestrel.jsonl" ] || fail "no kestrel-format alert: $(cat "$tmp/kestrel.jsonl.err")"
[ -s "$tmp/ecs.jsonl" ] || fail "no ECS alert: $(cat "$tmp/ecs.jsonl.err")"
python3 - "$tmp/kestrel.jsonl" "$tmp/ecs.jsonl" <<'PY' || fail "alert content (above)"
import hashlib, json, sys
ks = [json.loads(l) for l in open(sys.argv[1])]
es = [json.loads(l) for l in open(sys.argv[2])]
assert len(ks) == 1, ks
assert len(es) == 1, es
k, e = ks[0], es[0]
def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()
# The Kestrel format.
assert k["host"]["name"] and k["host"]["id"], k.get("host")
assert k["agent"]["id"], k.get("agent")
assert k["rule"]["description"] == "A shell whose command line carries the test marker.", k["rule"]
assert k["rule"]["version"] == "2" and k["rule"]["file"].endswith("marked_shell.eql"), k["rule"]
t = k["rule"]["threat"][0]
assert t["tactic"]["id"] == "TA0002", t
assert t["technique"][0]["id"] == "T1059" and t["technique"][0]["subtechnique"][0]["id"] == "T1059.004", t
name = k["events"][0]["fields"]["process"]["name"]  # sh, or what it links to (dash)
assert k["message"].startswith(name + " spawned by /usr/bin/bash ran sh -c") and "kestrel-alerts-live-marker" in k["message"], k["message"]
assert "<" not in k["message"].split(" ran ")[0], k["message"]  # every field was found
assert k["@timestamp"].endswith("Z") and k["events"][0]["@timestamp"].endswith("Z"), k["@timestamp"]
tree = k["process_tree"][0]
assert tree["process"]["name"] == name, tree
anc = tree["ancestors"]
assert anc and anc[0]["name"] == "bash" and anc[0]["pid"] > 0, anc
assert anc[0]["executable"].endswith("bash") and "kestrel-alerts-live-marker" in anc[0]["command_line"], anc
exe = tree["process"]["executable"]
assert tree["sha256"] == sha(exe), (tree.get("sha256"), exe)
# The ECS document.
assert e["host"]["name"] == k["host"]["name"] and e["host"]["id"] == k["host"]["id"], e["host"]
assert e["process"]["name"] == name and e["process"]["parent"]["name"] == "bash", e["process"]
assert e["process"]["hash"]["sha256"] == sha(e["process"]["executable"]), e["process"]
assert e["event"]["kind"] == "signal", e["event"]
assert e["message"] == e["kibana"]["alert"]["reason"] and e["message"].startswith(name + " spawned by "), e["message"]
assert e["rule"]["description"] == k["rule"]["description"], e["rule"]
assert e["kibana"]["alert"]["rule"]["description"] == k["rule"]["description"]
assert e["threat"][0]["tactic"]["id"] == "TA0002", e["threat"]
assert e["threat"][0]["technique"][0]["subtechnique"][0]["id"] == "T1059.004", e["threat"]
assert e["kestrel"]["process_tree"][0]["ancestors"][0]["name"] == "bash", e["kestrel"]
assert e["agent"]["id"], e.get("agent")
print("live alert:", k["message"], "| host", k["host"]["name"], "| ancestors",
      [a["name"] for a in anc])
PY
if [ "$failures" -ne 0 ]; then
  echo "--- kestrel"; cat "$tmp/kestrel.jsonl"; echo "--- ecs"; cat "$tmp/ecs.jsonl"
  exit 1
fi
echo "PASS"
