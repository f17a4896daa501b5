// The declaration of the live collector's events; see emitted.h.
#include "kestrel/sources/ebpf/emitted.h"

#include <algorithm>

#include <fmt/format.h>

namespace kestrel::sources::ebpf {
namespace {

using K = EmittedKindId;

constexpr ConstantField kConstants[] = {
    {"event.kind", "event"},
    {"event.module", "kestrel"},
    {"event.dataset", "kestrel.ebpf"},
    {"host.os.type", "linux"},
};

constexpr std::string_view kCommon[] = {
    "event.category", "event.type",        "event.action",     "event.kind",    "event.module",
    "event.dataset",  "host.id",           "host.name",        "host.hostname", "host.ip",
    "host.mac",       "host.architecture", "host.os.type",     "host.os.name",  "host.os.version",
    "host.os.kernel", "host.os.family",    "host.os.platform", "host.os.full",  "agent.id",
    "agent.type",     "agent.version",
};

constexpr std::string_view kProcess[] = {
    "process.pid",
    "process.thread.id",
    "process.entity_id",
    "process.name",
    "process.executable",
    "process.args",
    "process.command_line",
    "process.args_count",
    "process.working_directory",
    "process.user.id",
    "process.user.name",
    "process.group.id",
    "process.real_user.id",
    "process.real_group.id",
    "user.id",
    "user.name",
    "group.id",
    "user.Ext.real.id",
    "group.Ext.real.id",
    "process.interactive",
    "process.tty.char_device.major",
    "process.tty.char_device.minor",
    "process.ppid",
    "process.pgid",
    "process.session_leader.pid",
    "process.session_leader.entity_id",
    "process.session_leader.name",
    "process.group_leader.pid",
    "process.group_leader.entity_id",
    "process.group_leader.name",
    "process.parent.pid",
    "process.parent.entity_id",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.args",
    "process.parent.command_line",
    "process.parent.args_count",
    "process.parent.working_directory",
    "process.parent.interactive",
    "process.parent.user.id",
    "process.parent.group.id",
    "process.Ext.ancestry",
};

constexpr std::string_view kExit[] = {"process.exit_code"};
constexpr std::string_view kFile[] = {"file.path", "file.name", "file.directory", "file.extension",
                                      "event.outcome"};
constexpr std::string_view kRename[] = {"file.Ext.original.path", "file.Ext.original.name",
                                        "file.Ext.original.directory",
                                        "file.Ext.original.extension"};
constexpr std::string_view kChmod[] = {"file.mode"};
constexpr std::string_view kChown[] = {"file.uid", "file.gid"};
constexpr std::string_view kConnection[] = {
    "source.ip",           "source.port",       "destination.ip",
    "destination.port",    "network.type",      "network.transport",
    "network.iana_number", "network.direction", "event.outcome"};
constexpr std::string_view kBindFields[] = {"source.ip",           "source.port",
                                            "network.type",        "network.transport",
                                            "network.iana_number", "event.outcome"};
constexpr std::string_view kPtraceFields[] = {"process.Ext.ptrace.request", "process.target.pid",
                                              "event.outcome"};
constexpr std::string_view kUserChange[] = {"user.target.id", "event.outcome"};
constexpr std::string_view kGroupChange[] = {"group.target.id", "event.outcome"};
constexpr std::string_view kNamed[] = {"file.name", "event.outcome"};

constexpr std::string_view kStart[] = {"start"};
constexpr std::string_view kEnd[] = {"end"};
constexpr std::string_view kCreation[] = {"creation"};
constexpr std::string_view kChange[] = {"change"};
constexpr std::string_view kAccess[] = {"access"};
constexpr std::string_view kDeletion[] = {"deletion"};
constexpr std::string_view kInfo[] = {"info"};

constexpr FieldList P{kProcess};

constexpr EmittedKind kKinds[] = {
    {K::kExec, "exec", "process", kStart, "exec", {P}},
    {K::kFork, "fork", "process", kStart, "fork", {P}},
    {K::kExit, "exit", "process", kEnd, "end", {P, kExit}},
    {K::kFileCreate, "file created", "file", kCreation, "creation", {P, kFile}},
    {K::kFileModify, "file opened for writing", "file", kChange, "modification", {P, kFile}},
    {K::kFileOpen, "sensitive file read", "file", kAccess, "open", {P, kFile}},
    {K::kFileDelete, "delete", "file", kDeletion, "deletion", {P, kFile}},
    {K::kFileRename, "rename", "file", kChange, "rename", {P, kFile, kRename}},
    {K::kFileChmod, "chmod", "file", kChange, "attributes_modified", {P, kFile, kChmod}},
    {K::kFileChown, "chown", "file", kChange, "attributes_modified", {P, kFile, kChown}},
    {K::kConnect,
     "outgoing connection",
     "network",
     kStart,
     "connection_attempted",
     {P, kConnection}},
    {K::kAccept, "accepted connection", "network", kStart, "connection_accepted", {P, kConnection}},
    {K::kBind, "bind", "network", kInfo, "bind", {P, kBindFields}},
    {K::kPtrace, "ptrace", "process", kAccess, "ptrace", {P, kPtraceFields}},
    {K::kSetuid, "setuid", "iam", kChange, "setuid", {P, kUserChange}},
    {K::kSetgid, "setgid", "iam", kChange, "setgid", {P, kGroupChange}},
    {K::kSetreuid, "setreuid", "iam", kChange, "setreuid", {P, kUserChange}},
    {K::kSetregid, "setregid", "iam", kChange, "setregid", {P, kGroupChange}},
    {K::kSetresuid, "setresuid", "iam", kChange, "setresuid", {P, kUserChange}},
    {K::kSetresgid, "setresgid", "iam", kChange, "setresgid", {P, kGroupChange}},
    {K::kMemfdCreate, "memfd", "file", kCreation, "memfd_create", {P, kNamed}},
    {K::kModuleLoad, "module load", "driver", kStart, "load", {P, kNamed}},
};

constexpr bool InOrder() {
  for (size_t i = 0; i < std::size(kKinds); ++i) {
    if (static_cast<size_t>(kKinds[i].id) != i) return false;
  }
  return std::size(kKinds) == static_cast<size_t>(K::kCount);
}
static_assert(InOrder(), "kKinds must list every EmittedKindId once, in enum order");

std::string Codes(std::span<const std::string_view> names, std::string_view sep = ", ") {
  std::string out;
  for (std::string_view n : names) out += fmt::format("{}`{}`", out.empty() ? "" : sep, n);
  return out;
}

}  // namespace

const FieldList kCommonFields{kCommon};
const std::span<const ConstantField> kConstantFields{kConstants};
const FieldList kProcessFields{kProcess};
const std::span<const EmittedKind> kEmittedKinds{kKinds};

std::vector<std::string_view> KindFields(const EmittedKind& kind) {
  std::vector<std::string_view> out(kCommon, kCommon + std::size(kCommon));
  for (FieldList list : kind.fields) {
    for (std::string_view f : list) {
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    }
  }
  return out;
}

std::string EmittedEventsMarkdown() {
  std::string out;
  out += fmt::format("Every live event: {}.\n\n", Codes(kCommon));
  out += "Constant values: ";
  for (size_t i = 0; i < std::size(kConstants); ++i) {
    out += fmt::format("{}`{}: {}`", i == 0 ? "" : ", ", kConstants[i].name, kConstants[i].value);
  }
  out += ".\n\n";
  out += fmt::format("Process fields (every kind below): {}.\n\n", Codes(kProcess));
  out += "| event | `event.category` | `event.type` | `event.action` | more fields |\n";
  out += "|---|---|---|---|---|\n";
  for (const EmittedKind& k : kKinds) {
    std::vector<std::string_view> more;
    for (FieldList list : k.fields) {
      if (list.data() == kProcess) continue;
      for (std::string_view f : list) more.push_back(f);
    }
    out += fmt::format("| {} | `{}` | {} | `{}` | {} |\n", k.name, k.category, Codes(k.types),
                       k.action, more.empty() ? std::string("—") : Codes(more));
  }
  return out;
}

}  // namespace kestrel::sources::ebpf
