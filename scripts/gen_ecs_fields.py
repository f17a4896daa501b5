#!/usr/bin/env python3
"""Generates src/kestrel/schema/ecs_fields.inc, the ECS field catalogue compiled into Kestrel.

Run from the repository root after editing the tables below:
    python3 scripts/gen_ecs_fields.py > src/kestrel/schema/ecs_fields.inc
The order of the output is the order of FieldIds; append new fields (ids are not persisted across
versions, but a stable order keeps diffs small). Sources: Elastic Common Schema 8.x and
../shared/ECS-FIELDS.md (the fields real Linux detection rules read).
"""

K, L, U, B, IP, D, F = "kKeyword", "kLong", "kUnsigned", "kBoolean", "kIp", "kDate", "kDouble"

fields = []  # (name, type, is_array)


def add(name, t=K, array=False):
    fields.append((name, t, array))


add("@timestamp", D)
for f in ["category", "type"]:
    add("event." + f, K, True)
for f in ["action", "kind", "outcome", "module", "dataset", "id", "code", "provider", "created",
          "ingested", "sequence", "reason"]:
    add("event." + f, D if f in ("created", "ingested") else (L if f == "sequence" else K))
add("message")
add("tags", K, True)
add("labels")


def user_fields(prefix):
    for f in ["id", "name", "domain", "full_name", "email"]:
        add(f"{prefix}.{f}")


def group_fields(prefix):
    for f in ["id", "name", "domain"]:
        add(f"{prefix}.{f}")


def process_fields(prefix, full):
    add(f"{prefix}.pid", L)
    add(f"{prefix}.entity_id")
    add(f"{prefix}.name")
    add(f"{prefix}.executable")
    add(f"{prefix}.args", K, True)
    add(f"{prefix}.args_count", L)
    add(f"{prefix}.command_line")
    add(f"{prefix}.working_directory")
    add(f"{prefix}.title")
    add(f"{prefix}.exit_code", L)
    add(f"{prefix}.start", D)
    add(f"{prefix}.end", D)
    add(f"{prefix}.interactive", B)
    add(f"{prefix}.same_as_process", B)
    add(f"{prefix}.vpid", L)
    add(f"{prefix}.tty.char_device.major", L)
    add(f"{prefix}.tty.char_device.minor", L)
    for u in ["user", "real_user", "saved_user"]:
        add(f"{prefix}.{u}.id")
        add(f"{prefix}.{u}.name")
    for g in ["group", "real_group", "saved_group"]:
        add(f"{prefix}.{g}.id")
        add(f"{prefix}.{g}.name")
    if full:
        add(f"{prefix}.thread.id", L)
        add(f"{prefix}.thread.capabilities.effective", K, True)
        add(f"{prefix}.thread.capabilities.permitted", K, True)
        add(f"{prefix}.hash.md5")
        add(f"{prefix}.hash.sha1")
        add(f"{prefix}.hash.sha256")
        add(f"{prefix}.code_signature.exists", B)
        add(f"{prefix}.code_signature.trusted", B)


process_fields("process", True)
add("process.env_vars", K, True)
add("process.ppid", L)
add("process.pgid", L)
add("process.Ext.ancestry", K, True)
add("process.io.text")
add("process.entry_leader.entry_meta.type")
add("process.entry_leader.entry_meta.source.ip", IP)
for sub in ["parent", "session_leader", "group_leader", "entry_leader", "previous",
            "parent.group_leader", "parent.session_leader", "parent.parent"]:
    process_fields(f"process.{sub}", sub == "parent")
add("process.parent.Ext.real.pid", L)

user_fields("user")
add("user.roles", K, True)
add("user.Ext.real.id")
add("user.Ext.real.name")
user_fields("user.effective")
user_fields("user.target")
user_fields("user.changes")
group_fields("group")
add("group.Ext.real.id")
add("group.Ext.real.name")

for f in ["path", "name", "extension", "directory", "target_path", "type", "inode", "device",
          "owner", "group", "uid", "gid", "mode", "mime_type"]:
    add("file." + f)
add("file.size", L)
add("file.created", D)
add("file.mtime", D)
add("file.ctime", D)
add("file.accessed", D)
add("file.hash.md5")
add("file.hash.sha1")
add("file.hash.sha256")
add("file.Ext.header_bytes")
add("file.Ext.entropy", F)
for f in ["path", "name", "extension"]:
    add("file.Ext.original." + f)
add("file.Ext.original.directory")

for side in ["source", "destination", "client", "server"]:
    add(f"{side}.ip", IP)
    add(f"{side}.port", L)
    add(f"{side}.address")
    add(f"{side}.domain")
    add(f"{side}.bytes", L)
    add(f"{side}.packets", L)
    add(f"{side}.mac")
    add(f"{side}.geo.country_iso_code")
for f in ["transport", "direction", "protocol", "type", "iana_number", "community_id",
          "application"]:
    add("network." + f)
add("network.bytes", L)
add("network.packets", L)

add("dns.question.name")
add("dns.question.type")
add("dns.question.class")
add("dns.question.registered_domain")
add("dns.answers.data", K, True)
add("dns.answers.name", K, True)
add("dns.answers.type", K, True)
add("dns.resolved_ip", IP, True)
add("dns.response_code")
add("dns.type")
add("dns.id")

add("host.name")
add("host.hostname")
add("host.id")
add("host.ip", IP, True)
add("host.mac", K, True)
add("host.architecture")
for f in ["type", "platform", "name", "family", "version", "kernel", "full"]:
    add("host.os." + f)

add("container.id")
add("container.name")
add("container.image.name")
add("container.runtime")
add("orchestrator.namespace")
add("orchestrator.resource.name")
add("cloud.provider")
add("cloud.instance.id")

add("agent.id")
add("agent.type")
add("agent.version")
add("ecs.version")
add("data_stream.dataset")
add("data_stream.namespace")
add("data_stream.type")
add("url.full")
add("url.original")
add("url.domain")
add("url.path")
add("http.request.method")
add("http.response.status_code", L)
add("user_agent.original")
add("service.name")
add("rule.name")
add("rule.id")
add("threat.tactic.id", K, True)
add("threat.technique.id", K, True)
add("related.ip", IP, True)
add("related.user", K, True)
add("related.hosts", K, True)
add("related.hash", K, True)
add("dll.name")
add("dll.path")
add("registry.path")
add("registry.key")
add("registry.value")
add("registry.data.strings", K, True)

# Not ECS: the Auditd Manager / Auditbeat integration's raw syscall record, which Elastic's
# auditd-based Linux rules read (`auditd.data.syscall == "socket" and auditd.data.a1 == "2"`).
add("auditd.data.syscall")
for f in ["a0", "a1", "a2", "a3", "exit"]:
    add("auditd.data." + f)

# ECS observer.* (network sensors, also read by Elastic's cross-platform rules).
add("observer.ip", IP, True)
add("observer.hostname")
add("observer.name")
add("observer.type")
add("observer.vendor")
add("observer.product")
add("observer.version")
add("auditd.data.terminal")
add("auditd.data.addr")

# ECS rule.* and threat.* beyond the ids, and agent.name: what an alert document sets (issue 22;
# the alert schema check in actions/alert_document_test.cc reads these types).
for f in ["description", "version", "reference", "uuid", "ruleset", "category", "license"]:
    add("rule." + f)
add("rule.author", K, True)
add("threat.framework")
for f in ["tactic.name", "tactic.reference", "technique.name", "technique.reference",
          "technique.subtechnique.id", "technique.subtechnique.name",
          "technique.subtechnique.reference"]:
    add("threat." + f, K, True)
add("agent.name")
add("event.severity", L)
add("event.risk_score", F)

names = [f[0] for f in fields]
dups = {n for n in names if names.count(n) > 1}
assert not dups, dups

print("// Generated by scripts/gen_ecs_fields.py; do not edit by hand.")
print("// One row per catalogue field, in FieldId order: {name, type, is_array}.")
for name, t, array in fields:
    print(f'{{"{name}", FieldType::{t}, {"true" if array else "false"}}},')
