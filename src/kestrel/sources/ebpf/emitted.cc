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
    "process.start",
    "process.user.id",
    "process.user.name",
    "process.group.id",
    "process.group.name",
    "process.real_user.id",
    "process.real_user.name",
    "process.real_group.id",
    "process.real_group.name",
    "process.interactive",
    "process.tty.char_device.major",
    "process.tty.char_device.minor",
    "process.ppid",
    "process.pgid",
    "process.session_leader.pid",
    "process.session_leader.entity_id",
    "process.group_leader.pid",
    "process.group_leader.entity_id",
    "process.entry_leader.pid",
    "process.entry_leader.entity_id",
    "process.parent.pid",
    "process.parent.entity_id",
    "process.parent.name",
    "process.parent.executable",
    "process.parent.args",
    "process.parent.args_count",
    "process.parent.working_directory",
    "process.parent.start",
    "process.parent.interactive",
    "process.parent.tty.char_device.major",
    "process.parent.tty.char_device.minor",
    "process.parent.user.id",
    "process.parent.user.name",
    "process.parent.group.id",
    "process.parent.group.name",
    "process.parent.real_user.id",
    "process.parent.real_user.name",
    "process.parent.real_group.id",
    "process.parent.real_group.name",
    "process.parent.command_line",
    "process.Ext.ancestry",
    // The acting process's user and group: last, so that kinds about an account (iam) can
    // declare the list without them (kProcessNoActor).
    "user.id",
    "user.name",
    "user.effective.id",
    "user.effective.name",
    "user.Ext.real.id",
    "user.Ext.real.name",
    "group.id",
    "group.name",
    "group.Ext.real.id",
    "group.Ext.real.name",
};

// Process events: the environment, the capabilities and the leaders in full (decoder.cc
// SetRelative).
constexpr std::string_view kProcessFull[] = {
    "process.env_vars",
    "process.thread.capabilities.effective",
    "process.thread.capabilities.permitted",
    "process.session_leader.name",
    "process.session_leader.executable",
    "process.session_leader.args",
    "process.session_leader.args_count",
    "process.session_leader.working_directory",
    "process.session_leader.start",
    "process.session_leader.interactive",
    "process.session_leader.tty.char_device.major",
    "process.session_leader.tty.char_device.minor",
    "process.session_leader.user.id",
    "process.session_leader.user.name",
    "process.session_leader.group.id",
    "process.session_leader.group.name",
    "process.session_leader.real_user.id",
    "process.session_leader.real_user.name",
    "process.session_leader.real_group.id",
    "process.session_leader.real_group.name",
    "process.session_leader.same_as_process",
    "process.group_leader.name",
    "process.group_leader.executable",
    "process.group_leader.args",
    "process.group_leader.args_count",
    "process.group_leader.working_directory",
    "process.group_leader.start",
    "process.group_leader.interactive",
    "process.group_leader.tty.char_device.major",
    "process.group_leader.tty.char_device.minor",
    "process.group_leader.user.id",
    "process.group_leader.user.name",
    "process.group_leader.group.id",
    "process.group_leader.group.name",
    "process.group_leader.real_user.id",
    "process.group_leader.real_user.name",
    "process.group_leader.real_group.id",
    "process.group_leader.real_group.name",
    "process.group_leader.same_as_process",
    "process.entry_leader.name",
    "process.entry_leader.executable",
    "process.entry_leader.args",
    "process.entry_leader.args_count",
    "process.entry_leader.working_directory",
    "process.entry_leader.start",
    "process.entry_leader.interactive",
    "process.entry_leader.tty.char_device.major",
    "process.entry_leader.tty.char_device.minor",
    "process.entry_leader.user.id",
    "process.entry_leader.user.name",
    "process.entry_leader.group.id",
    "process.entry_leader.group.name",
    "process.entry_leader.real_user.id",
    "process.entry_leader.real_user.name",
    "process.entry_leader.real_group.id",
    "process.entry_leader.real_group.name",
    "process.entry_leader.same_as_process",
    "process.entry_leader.entry_meta.type",
    "process.entry_leader.entry_meta.source.ip",
    "process.entry_leader.parent.pid",
    "process.entry_leader.parent.entity_id",
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
constexpr std::string_view kPtraceFields[] = {
    "process.Ext.ptrace.request", "process.Ext.ptrace.child_pid", "process.Ext.ptrace.addr",
    "process.Ext.ptrace.data",    "process.target.pid",           "event.outcome"};
constexpr std::string_view kMemfdFields[] = {
    "process.Ext.memfd.name",         "process.Ext.memfd.flags",
    "process.Ext.memfd.flag_cloexec", "process.Ext.memfd.flag_allow_seal",
    "process.Ext.memfd.flag_hugetlb", "process.Ext.memfd.flag_noexec_seal",
    "process.Ext.memfd.flag_exec",    "event.outcome"};
constexpr std::string_view kModuleFields[] = {"process.Ext.load_module.name", "file.name",
                                              "event.outcome"};
constexpr std::string_view kOutcome[] = {"event.outcome"};
// iam: the account, where Elastic's `system` integration puts it (user.name/id, and the primary
// group's group.id/name for a user; group.name/id for a group), also as ECS's *.target.
constexpr std::string_view kUserAccount[] = {"user.name",      "user.id",  "user.target.name",
                                             "user.target.id", "group.id", "group.name",
                                             "event.outcome"};
constexpr std::string_view kGroupAccount[] = {"group.name", "group.id", "group.target.name",
                                              "group.target.id", "event.outcome"};
constexpr std::string_view kDns[] = {
    "dns.question.name", "dns.question.type", "dns.id",           "dns.type",
    "source.ip",         "source.port",       "destination.ip",   "destination.port",
    "network.type",      "network.transport", "network.protocol", "network.iana_number",
    "network.direction", "event.outcome"};
constexpr size_t kActorFields = 10;  // the last fields of kProcess
// auditd_manager's syscall fields (auditd_compat.h cites where each value comes from).
constexpr std::string_view kAuditd[] = {"auditd.data.syscall", "auditd.data.arch", "auditd.data.a0",
                                        "auditd.data.a1",      "auditd.data.a2",   "auditd.data.a3",
                                        "auditd.data.exit",    "auditd.result",    "event.outcome"};
constexpr std::string_view kAuditdFile[] = {"file.path"};

// The kernel filters (kestrel_auditd.bpf.h) make prctl's a0 PR_SET_NAME and open's a2 0666.
constexpr ConstantField kPrctlConst[] = {
    {"auditd.data.syscall", "prctl"}, {"auditd.data.arch", "x86_64"}, {"auditd.data.a0", "f"}};
constexpr ConstantField kKillConst[] = {{"auditd.data.syscall", "kill"},
                                        {"auditd.data.arch", "x86_64"}};
constexpr ConstantField kTkillConst[] = {{"auditd.data.syscall", "tkill"},
                                         {"auditd.data.arch", "x86_64"}};
constexpr ConstantField kTgkillConst[] = {{"auditd.data.syscall", "tgkill"},
                                          {"auditd.data.arch", "x86_64"}};
constexpr ConstantField kMprotectConst[] = {{"auditd.data.syscall", "mprotect"},
                                            {"auditd.data.arch", "x86_64"}};
constexpr ConstantField kOpenConst[] = {
    {"auditd.data.syscall", "open"}, {"auditd.data.arch", "x86_64"}, {"auditd.data.a2", "1b6"}};
constexpr ConstantField kInitModuleConst[] = {{"auditd.data.syscall", "init_module"},
                                              {"auditd.data.arch", "x86_64"}};
constexpr ConstantField kFinitModuleConst[] = {{"auditd.data.syscall", "finit_module"},
                                               {"auditd.data.arch", "x86_64"}};

constexpr std::string_view kStart[] = {"start"};
constexpr std::string_view kEnd[] = {"end"};
constexpr std::string_view kCreation[] = {"creation"};
constexpr std::string_view kChange[] = {"change"};
constexpr std::string_view kAccess[] = {"access"};
constexpr std::string_view kDeletion[] = {"deletion"};
constexpr std::string_view kInfo[] = {"info"};
constexpr std::string_view kProtocol[] = {"protocol"};
constexpr std::string_view kUserCreation[] = {"user", "creation"};
constexpr std::string_view kUserDeletion[] = {"user", "deletion"};
constexpr std::string_view kUserChange[] = {"user", "change"};
constexpr std::string_view kGroupCreation[] = {"group", "creation"};
constexpr std::string_view kGroupDeletion[] = {"group", "deletion"};
constexpr std::string_view kGroupChange[] = {"group", "change"};
constexpr std::string_view kNone = "";  // no event.action (auditd_manager sends none)

constexpr FieldList P{kProcess};
constexpr FieldList F{kProcessFull};
constexpr FieldList PA{kProcess, std::size(kProcess) - kActorFields};  // no actor user/group

constexpr EmittedKind kKinds[] = {
    {K::kExec, "exec", "process", kStart, "exec", {P, F}},
    {K::kFork, "fork", "process", kStart, "fork", {P, F}},
    {K::kExit, "exit", "process", kEnd, "end", {P, F, kExit}},
    {K::kAlreadyRunning, "already running", "process", kInfo, "already_running", {P, F}},
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
    {K::kPtrace, "ptrace", "process", kStart, "ptrace", {P, F, kPtraceFields}},
    {K::kMemfdCreate, "memfd", "process", kStart, "memfd_create", {P, F, kMemfdFields}},
    {K::kLoadModule, "module load", "process", kStart, "load_module", {P, F, kModuleFields}},
    {K::kUidChange, "uid change", "process", kChange, "uid_change", {P, F, kOutcome}},
    {K::kGidChange, "gid change", "process", kChange, "gid_change", {P, F, kOutcome}},
    {K::kSessionIdChange,
     "session change",
     "process",
     kChange,
     "session_id_change",
     {P, F, kOutcome}},
    // Auditbeat's system/user dataset names its actions user_added/user_removed/user_changed;
    // the group ones follow the same pattern (Kestrel's).
    {K::kUserAdded, "user added", "iam", kUserCreation, "user_added", {PA, kUserAccount}},
    {K::kUserRemoved, "user removed", "iam", kUserDeletion, "user_removed", {PA, kUserAccount}},
    {K::kUserChanged, "user changed", "iam", kUserChange, "user_changed", {PA, kUserAccount}},
    {K::kGroupAdded, "group added", "iam", kGroupCreation, "group_added", {PA, kGroupAccount}},
    {K::kGroupRemoved,
     "group removed",
     "iam",
     kGroupDeletion,
     "group_removed",
     {PA, kGroupAccount}},
    {K::kGroupChanged, "group changed", "iam", kGroupChange, "group_changed", {PA, kGroupAccount}},
    {K::kDnsLookup, "dns lookup", "network", kProtocol, "lookup_requested", {P, kDns}},
    // auditd-compatible: go-libaudit's normalizations (auditd_compat.h).
    {K::kAuditdPrctl, "auditd prctl", "process", kInfo, kNone, {P, kAuditd}, kPrctlConst},
    {K::kAuditdKill, "auditd kill", "process", kEnd, "killed-pid", {P, kAuditd}, kKillConst},
    {K::kAuditdTkill, "auditd tkill", "process", kEnd, "killed-pid", {P, kAuditd}, kTkillConst},
    {K::kAuditdTgkill, "auditd tgkill", "process", kEnd, "killed-pid", {P, kAuditd}, kTgkillConst},
    {K::kAuditdMprotect, "auditd mprotect", "process", kInfo, kNone, {P, kAuditd}, kMprotectConst},
    {K::kAuditdOpen,
     "auditd open",
     "file",
     kInfo,
     "opened-file",
     {P, kAuditd, kAuditdFile},
     kOpenConst},
    {K::kAuditdInitModule,
     "auditd init_module",
     "driver",
     kStart,
     "loaded-kernel-module",
     {P, kAuditd},
     kInitModuleConst},
    {K::kAuditdFinitModule,
     "auditd finit_module",
     "driver",
     kStart,
     "loaded-kernel-module",
     {P, kAuditd},
     kFinitModuleConst},
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
const FieldList kProcessFullFields{kProcessFull};
const FieldList kProcessNoActorFields{PA};
const std::span<const EmittedKind> kEmittedKinds{kKinds};

bool CarriesFullProcess(const EmittedKind& kind) {
  for (FieldList list : kind.fields) {
    if (list.data() == kProcessFull) return true;
  }
  return false;
}

bool CarriesActorUser(const EmittedKind& kind) {
  for (FieldList list : kind.fields) {
    if (list.data() == kProcess && list.size() == std::size(kProcess)) return true;
  }
  return false;
}

std::vector<std::string_view> KindFields(const EmittedKind& kind) {
  std::vector<std::string_view> out;
  for (std::string_view f : kCommon) {
    if (f != "event.action" || !kind.action.empty()) out.push_back(f);
  }
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
  out += fmt::format(
      "Process fields (every kind below; kinds marked *no actor user* carry them without the "
      "last {}, the acting process's `user.*` and `group.*`: there those fields name the "
      "account the event is about): {}.\n\n",
      kActorFields, Codes(kProcess));
  out += fmt::format(
      "Process events (kinds marked *full*) also carry the environment, the capabilities and "
      "the leaders in full: {}.\n\n",
      Codes(kProcessFull));
  out += "| event | `event.category` | `event.type` | `event.action` | more fields |\n";
  out += "|---|---|---|---|---|\n";
  for (const EmittedKind& k : kKinds) {
    std::vector<std::string_view> more;
    for (FieldList list : k.fields) {
      if (list.data() == kProcess || list.data() == kProcessFull) continue;
      for (std::string_view f : list) more.push_back(f);
    }
    std::string cell = CarriesFullProcess(k)  ? "*full*"
                       : !CarriesActorUser(k) ? "*no actor user*"
                                              : "";
    if (!more.empty()) cell += (cell.empty() ? "" : ", ") + Codes(more);
    for (const ConstantField& c : k.constants) {
      cell += fmt::format("{}`{}: {}`", cell.empty() ? "" : ", ", c.name, c.value);
    }
    out += fmt::format("| {} | `{}` | {} | {} | {} |\n", k.name, k.category, Codes(k.types),
                       k.action.empty() ? std::string("(none)") : fmt::format("`{}`", k.action),
                       cell.empty() ? std::string("—") : cell);
  }
  return out;
}

}  // namespace kestrel::sources::ebpf
