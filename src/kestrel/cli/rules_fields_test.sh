#!/usr/bin/env bash
# The default rule pack is written over the fields the live source fills (issue 10): every field
# a rule's query reads, and every field of every event in the rule test files, must be one the
# eBPF source produces. The reference set is what the benign logs (testdata/benign, recorded
# live with `kestrel record --source ebpf`) actually contain, plus the few fields of event kinds
# too rare to be in them (docs/collection.md: ptrace, memfd, module loads, chown, exit codes, iam).
# A rule over a field the source never fills would detect nothing in production.
# Usage: rules_fields_test.sh KESTREL_BINARY SOURCE_DIR
set -u
kestrel=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$kestrel" log cat "$src"/testdata/benign/*.klog >"$tmp/live.ndjson" 2>"$tmp/err" \
  || { echo "FAIL: log cat: $(cat "$tmp/err")"; exit 1; }
for rule in "$src"/rules/linux/*.eql; do
  echo "== $(basename "$rule" .eql)" >>"$tmp/ir"
  "$kestrel" compile --emit ir "$rule" >>"$tmp/ir" 2>>"$tmp/err" \
    || { echo "FAIL: $rule does not compile: $(cat "$tmp/err")"; exit 1; }
  echo >>"$tmp/ir"
done
python3 - "$tmp/live.ndjson" "$tmp/ir" "$src"/rules/linux/*.test.yaml <<'PY'
import json, re, sys, yaml

def flatten(prefix, value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out.add(prefix)

live = set()
with open(sys.argv[1]) as f:
    for line in f:
        flatten("", json.loads(line), live)
# Filled by the eBPF decoder (docs/collection.md) for events too rare to be in the benign logs.
live |= {"process.Ext.ptrace.request", "process.target.pid", "file.uid", "file.gid", "process.exit_code", "@timestamp",
         "process.Ext.load_module.name", "process.Ext.memfd.name", "process.Ext.ptrace.child_pid",
         "process.env_vars", "process.thread.capabilities.effective",
         "process.thread.capabilities.permitted", "process.entry_leader.entry_meta.type",
         # iam events of account database changes (docs/collection.md, "Account changes").
         "user.target.name", "user.target.id", "group.target.name", "group.target.id"}
# Fields of the process itself also exist under process.parent (the process table's entry).
failures = []
rule = None
for line in open(sys.argv[2]):
    if line.startswith("== "):
        rule = line[3:].strip()
        continue
    for field in re.findall(r"\(field ([^)\s]+)\)", line):
        field = re.sub(r"\[\d+\]$", "", field)  # an array element: the array's field
        if field not in live:
            failures.append(f"{rule}: the query reads '{field}', which the live source never fills")
for path in sys.argv[3:]:
    doc = yaml.safe_load(open(path))
    for case in doc.get("cases", []):
        for i, event in enumerate(case.get("events", [])):
            fields = set()
            flatten("", event, fields)
            for field in sorted(fields - live):
                failures.append(f"{path}: case '{case['name']}' event {i}: '{field}' is not a field of the live source")
if failures:
    print("\n".join(failures))
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print(f"rule fields: every field of {len(sys.argv) - 3} rules and their test events is filled by the live source ({len(live)} fields)")
PY
