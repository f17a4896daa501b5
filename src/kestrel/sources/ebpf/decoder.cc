// RecordDecoder; see decoder.h. One pass over a fixed-size record; cost is linear in the bytes
// of its strings. Tested by decoder_test.cc.
#include "kestrel/sources/ebpf/decoder.h"

#include <grp.h>
#include <pwd.h>

#include <charconv>
#include <cstddef>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "kestrel/sources/ebpf/static_values.h"
#include "kestrel_records.h"

namespace kestrel::sources::ebpf {
namespace {

using event::Value;
using schema::ecs::Field;

constexpr int kAfInet = 2;
constexpr int kEinprogress = 115;
constexpr size_t kMaxAncestry = 8;

std::string_view CString(const char* p, size_t max) {
  size_t n = strnlen(p, max);
  return std::string_view(p, n);
}

template <typename T>
bool Load(std::span<const uint8_t> record, T* out) {
  if (record.size() < sizeof(T)) return false;
  std::memcpy(out, record.data(), sizeof(T));
  return true;
}

// `scratch` is reused from event to event (no allocation once it has grown).
void SetStrings(event::Event* out, schema::FieldId id, const std::vector<std::string>& v,
                std::vector<Value>* scratch) {
  scratch->clear();
  for (const std::string& s : v) scratch->push_back(Value::String(s));
  out->SetArray(id, *scratch);
}

std::string_view Extension(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
  return name.substr(dot + 1);
}

// `record` as a T: in place when it is complete, else copied into `*buf` and zero-padded.
template <typename T>
const T* Padded(std::span<const uint8_t> record, std::vector<uint8_t>* buf) {
  if (record.size() >= sizeof(T)) return reinterpret_cast<const T*>(record.data());
  buf->assign(sizeof(T), 0);
  std::memcpy(buf->data(), record.data(), record.size());
  return reinterpret_cast<const T*>(buf->data());
}

}  // namespace

event::IpAddress KernelAddress(uint16_t family, const uint8_t* bytes) {
  event::IpAddress addr;
  if (family == kAfInet) {
    addr.is_v4 = true;
    addr.bytes[10] = addr.bytes[11] = 0xff;
    std::memcpy(&addr.bytes[12], bytes, 4);
  } else {
    std::memcpy(addr.bytes.data(), bytes, 16);
  }
  return addr;
}

ExecParts ExecPartsOf(std::span<const uint8_t> record) {
  ExecParts out;
  if (record.size() < offsetof(kestrel_exec, data)) return out;
  auto u32_at = [&](size_t offset) {  // the lengths, in the fixed part
    uint32_t v;
    std::memcpy(&v, record.data() + offset, sizeof(v));
    return v;
  };
  size_t off = offsetof(kestrel_exec, data);
  // Each part starts where the one before it ends (its length clamped to its maximum, as the
  // BPF side clamps it) and is cut at the record's end.
  auto take = [&](size_t offset_of_len, size_t max) {
    size_t len = std::min<size_t>(u32_at(offset_of_len), max);
    std::string_view part;
    if (off < record.size()) {
      part = std::string_view(reinterpret_cast<const char*>(record.data()) + off,
                              std::min(len, record.size() - off));
    }
    off += len;
    return part;
  };
  out.filename = take(offsetof(kestrel_exec, filename_len), KESTREL_FILENAME_MAX - 1);
  out.cwd = take(offsetof(kestrel_exec, cwd_len), KESTREL_PATH_MAX);
  out.exe = take(offsetof(kestrel_exec, exe_len), KESTREL_PATH_MAX);
  out.args = take(offsetof(kestrel_exec, args_len), KESTREL_ARGS_MAX);
  out.env = take(offsetof(kestrel_exec, env_len), KESTREL_ENV_MAX);
  out.end = off;
  return out;
}

size_t CompactRecordSize(std::span<const uint8_t> record) {
  if (record.size() < sizeof(kestrel_header)) return record.size();
  uint32_t kind;
  std::memcpy(&kind, record.data(), sizeof(kind));
  if (kind == KESTREL_EXEC && record.size() >= offsetof(kestrel_exec, data)) {
    ExecParts parts = ExecPartsOf(record);
    return std::min(record.size(), parts.end);
  }
  if (kind == KESTREL_DNS && record.size() >= sizeof(kestrel_dns)) {
    const auto* d = reinterpret_cast<const kestrel_dns*>(record.data());
    return offsetof(kestrel_dns, payload) +
           std::min<size_t>(d->payload_len, KESTREL_DNS_PAYLOAD_MAX);
  }
  if (kind == KESTREL_FILE && record.size() >= sizeof(kestrel_file)) {
    const auto* f = reinterpret_cast<const kestrel_file*>(record.data());
    if (f->path2_len > 0) {
      return offsetof(kestrel_file, path2) + std::min<size_t>(f->path2_len, KESTREL_PATH_MAX);
    }
    return offsetof(kestrel_file, path) + std::min<size_t>(f->path_len, KESTREL_PATH_MAX);
  }
  return record.size();
}

RecordDecoder::RecordDecoder(schema::Schema& schema, ProcessTable* table, DecoderOptions options)
    : schema_(schema), table_(table), options_(std::move(options)) {
  for (const EmittedKind& k : kEmittedKinds) {
    kind_category_[static_cast<size_t>(k.id)] = schema_.InternCategory(k.category);
    kind_full_[static_cast<size_t>(k.id)] = CarriesFullProcess(k);
    kind_actor_[static_cast<size_t>(k.id)] = CarriesActorUser(k);
  }
  for (const ConstantField& c : kConstantFields) {
    constant_ids_.push_back(
        schema_.Intern(c.name, schema::FieldType::kKeyword, false).value_or(schema::FieldId{0}));
  }
  auto id = [&](std::string_view name, schema::FieldType type) {
    return schema_.Intern(name, type, false).value_or(schema::FieldId{0});
  };
  for (const EmittedKind& k : kEmittedKinds) {
    for (const ConstantField& c : k.constants) {
      kind_constants_[static_cast<size_t>(k.id)].emplace_back(
          id(c.name, schema::FieldType::kKeyword), c.value);
    }
  }
  auditd_ = AuditdFields::For(schema_);
  using schema::FieldType;
  ptrace_request_ = id("process.Ext.ptrace.request", FieldType::kLong);
  ptrace_child_pid_ = id("process.Ext.ptrace.child_pid", FieldType::kLong);
  ptrace_addr_ = id("process.Ext.ptrace.addr", FieldType::kLong);
  ptrace_data_ = id("process.Ext.ptrace.data", FieldType::kLong);
  target_pid_ = id("process.target.pid", FieldType::kLong);
  memfd_name_ = id("process.Ext.memfd.name", FieldType::kKeyword);
  memfd_flags_ = id("process.Ext.memfd.flags", FieldType::kLong);
  memfd_cloexec_ = id("process.Ext.memfd.flag_cloexec", FieldType::kBoolean);
  memfd_allow_seal_ = id("process.Ext.memfd.flag_allow_seal", FieldType::kBoolean);
  memfd_hugetlb_ = id("process.Ext.memfd.flag_hugetlb", FieldType::kBoolean);
  memfd_noexec_seal_ = id("process.Ext.memfd.flag_noexec_seal", FieldType::kBoolean);
  memfd_exec_ = id("process.Ext.memfd.flag_exec", FieldType::kBoolean);
  module_name_ = id("process.Ext.load_module.name", FieldType::kKeyword);
  entry_parent_pid_ = id("process.entry_leader.parent.pid", FieldType::kLong);
  entry_parent_entity_id_ = id("process.entry_leader.parent.entity_id", FieldType::kKeyword);
  parent_ = RelativeFields::For(schema_, "process.parent", 0, true);
  session_leader_ = RelativeFields::For(schema_, "process.session_leader", 1);
  group_leader_ = RelativeFields::For(schema_, "process.group_leader", 2);
  entry_leader_ = RelativeFields::For(schema_, "process.entry_leader", 3);
  SetHost(options_.host);
}

void RecordDecoder::SetHost(const HostIdentity& host) {
  host_strings_.clear();
  host_values_.clear();
  auto add = [&](schema::FieldId id, const std::string& v) {
    if (v.empty()) return;
    if (auto kept = RetainForever(v)) {
      host_values_.emplace_back(id, Value::StaticString(*kept));
    } else {
      host_strings_.emplace_back(id, v);
    }
  };
  add(Field("host.id"), host.id);
  add(Field("host.name"), host.name);
  add(Field("host.hostname"), host.hostname);
  add(Field("host.architecture"), host.architecture);
  add(Field("host.os.name"), host.os_name);
  add(Field("host.os.version"), host.os_version);
  add(Field("host.os.kernel"), host.os_kernel);
  add(Field("host.os.family"), host.os_family);
  add(Field("host.os.platform"), host.os_platform);
  add(Field("host.os.full"), host.os_full);
  add(Field("agent.id"), host.agent_id);
  add(Field("agent.type"), host.agent_type);
  add(Field("agent.version"), host.agent_version);
  // host.os.type is a constant field of the declaration (kConstantFields).
  host_ip_values_.clear();
  for (const std::string& a : host.ip) {
    if (auto ip = event::IpAddress::Parse(a)) host_ip_values_.push_back(Value::Ip(*ip));
  }
  host_macs_ = host.mac;
  host_mac_values_.clear();
  for (const std::string& m : host_macs_) {
    auto kept = RetainForever(m);
    host_mac_values_.push_back(kept ? Value::StaticString(*kept) : Value::String(m));
  }
}

const std::string& RecordDecoder::GroupName(uint32_t gid) {
  auto it = group_names_.find(gid);
  if (it != group_names_.end()) return it->second;
  std::string name;
  if (options_.resolve_user_names) {
    struct group gr;
    struct group* result = nullptr;
    char buf[4096];
    if (getgrgid_r(gid, &gr, buf, sizeof(buf), &result) == 0 && result != nullptr) {
      name = result->gr_name;
    }
  }
  return group_names_.emplace(gid, std::move(name)).first->second;
}

const std::string& RecordDecoder::UserName(uint32_t uid) {
  auto it = user_names_.find(uid);
  if (it != user_names_.end()) return it->second;
  std::string name;
  if (options_.resolve_user_names) {
    struct passwd pw;
    struct passwd* result = nullptr;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) == 0 && result != nullptr) {
      name = result->pw_name;
    }
  }
  return user_names_.emplace(uid, std::move(name)).first->second;
}

void RecordDecoder::SetCommon(EmittedKindId id, int64_t time_ns, event::Event* out) {
  const EmittedKind& kind = Kind(id);
  kind_ = static_cast<size_t>(id);
  full_ = kind_full_[static_cast<size_t>(id)];
  actor_ = kind_actor_[static_cast<size_t>(id)];
  out->set_time_ns(time_ns);
  out->set_wall_ns(time_ns);
  out->AddCategory(kind_category_[static_cast<size_t>(id)]);
  // The declaration's strings are static data: borrowed, by this event and by its copies.
  const KindValues& kv = StaticKindValues(id);
  out->SetUnowned(Field("event.category"), kv.category);
  // event.type: the elements are static, the array (at most 4 values) goes to the arena.
  out->SetArray(Field("event.type"), std::span<const Value>(kv.types.data(), kv.type_count));
  if (!kind.action.empty())
    out->SetUnowned(Field("event.action"), Value::StaticString(kind.action));
  for (size_t i = 0; i < constant_ids_.size(); ++i) {
    out->SetUnowned(constant_ids_[i], Value::StaticString(kConstantFields[i].value));
  }
  for (const auto& [field, value] : kind_constants_[static_cast<size_t>(id)]) {
    out->SetUnowned(field, Value::StaticString(value));
  }
  for (const auto& [field, value] : host_values_) out->SetUnowned(field, value);
  for (const auto& [field, value] : host_strings_) out->SetString(field, value);
  if (!host_ip_values_.empty()) out->SetArray(Field("host.ip"), host_ip_values_);
  if (!host_mac_values_.empty()) out->SetArray(Field("host.mac"), host_mac_values_);
}

void RecordDecoder::SetRelative(const RelativeFields& f, const ProcessInfo& r, uint32_t self_pid,
                                event::Event* out) {
  std::shared_ptr<const event::Event>& block = r.snapshots.blocks[f.role];
  if (block == nullptr) {
    auto made = std::make_shared<event::Event>(kSnapshotArenaBlock);
    BuildRelative(f, r, made.get());
    made->Finish(&relative_plans_[f.role]);
    block = std::move(made);
    ++snapshots_built_;
  }
  out->Share(block);
  if (self_pid != 0) out->SetBool(f.same_as_process, r.pid == self_pid);
}

void RecordDecoder::BuildRelative(const RelativeFields& f, const ProcessInfo& r,
                                  event::Event* out) {
  out->SetInt(f.pid, r.pid);
  out->SetString(f.entity_id, r.entity_id);
  if (!r.name.empty()) out->SetString(f.name, r.name);
  if (!r.executable.empty()) out->SetString(f.executable, r.executable);
  if (!r.args.empty()) SetStrings(out, f.args, r.args, &values_);
  out->SetInt(f.args_count, static_cast<int64_t>(r.args.size()));
  if (!r.working_directory.empty()) out->SetString(f.working_directory, r.working_directory);
  SetStart(f.start, StartNs(r), out);
  out->SetBool(f.interactive, r.tty != 0);
  if (r.tty != 0) {
    out->SetInt(f.tty_major, r.tty >> 20);
    out->SetInt(f.tty_minor, r.tty & 0xfffff);
  }
  char buf[16];
  auto num = [&](uint32_t v) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string_view(buf, static_cast<size_t>(end - buf));
  };
  out->SetString(f.user_id, num(r.euid));
  out->SetString(f.group_id, num(r.egid));
  out->SetString(f.real_user_id, num(r.uid));
  out->SetString(f.real_group_id, num(r.gid));
  if (const std::string& n = UserName(r.euid); !n.empty()) out->SetString(f.user_name, n);
  if (const std::string& n = UserName(r.uid); !n.empty()) out->SetString(f.real_user_name, n);
  if (const std::string& n = GroupName(r.egid); !n.empty()) out->SetString(f.group_name, n);
  if (const std::string& n = GroupName(r.gid); !n.empty()) out->SetString(f.real_group_name, n);
  if (f.command_line.valid() && !r.args.empty()) out->SetString(f.command_line, r.command_line);
}

void RecordDecoder::SetEntryLeader(const ProcessInfo& p, event::Event* out) {
  if (p.entry_pid == 0) return;
  const ProcessInfo* el = p.entry_pid == p.pid ? &p : table_->Find(p.entry_pid);
  if (el != nullptr && el->entity_id == p.entry_entity_id) {
    SetRelative(entry_leader_, *el, p.pid, out);
    out->SetInt(entry_parent_pid_, el->ppid);
    if (const ProcessInfo* ep = table_->Find(el->ppid)) {
      out->SetString(entry_parent_entity_id_, ep->entity_id);
    }
  } else {  // exited and forgotten: what the process kept of it
    out->SetInt(Field("process.entry_leader.pid"), p.entry_pid);
    out->SetString(Field("process.entry_leader.entity_id"), p.entry_entity_id);
    out->SetBool(Field("process.entry_leader.same_as_process"), false);
  }
  out->SetString(Field("process.entry_leader.entry_meta.type"), p.entry_type);
  if (!p.entry_source_ip.empty()) {
    if (auto ip = event::IpAddress::Parse(p.entry_source_ip)) {
      out->SetIp(Field("process.entry_leader.entry_meta.source.ip"), *ip);
    }
  }
}

void RecordDecoder::SetProcess(const kestrel_header& h, const ProcessInfo& p, event::Event* out) {
  out->SetInt(Field("process.pid"), p.pid);
  out->SetInt(Field("process.thread.id"), h.tid);
  out->SetString(Field("process.entity_id"), p.entity_id);
  std::string_view name = p.name.empty() ? CString(h.comm, sizeof(h.comm)) : p.name;
  out->SetString(Field("process.name"), name);
  if (!p.executable.empty()) out->SetString(Field("process.executable"), p.executable);
  if (!p.args.empty()) {
    SetStrings(out, Field("process.args"), p.args, &values_);
    out->SetString(Field("process.command_line"), p.command_line);
  }
  out->SetInt(Field("process.args_count"), static_cast<int64_t>(p.args.size()));
  if (!p.working_directory.empty()) {
    out->SetString(Field("process.working_directory"), p.working_directory);
  }
  // The record's own start time (task->start_boottime, ns) when it has one, else the table's.
  SetStart(Field("process.start"),
           h.start_boottime != 0 ? options_.boot_wall_ns + static_cast<int64_t>(h.start_boottime)
                                 : StartNs(p),
           out);
  const bool full = full_;  // leaders in full where the kind declares them (process events)
  if (full && !p.env_vars.empty()) {
    SetStrings(out, Field("process.env_vars"), p.env_vars, &values_);
  }
  std::string uid = std::to_string(h.uid), euid = std::to_string(h.euid);
  std::string gid = std::to_string(h.gid), egid = std::to_string(h.egid);
  out->SetString(Field("process.user.id"), euid);
  out->SetString(Field("process.group.id"), egid);
  out->SetString(Field("process.real_user.id"), uid);
  out->SetString(Field("process.real_group.id"), gid);
  // user.* and group.*: the acting process's, except on kinds about an account (iam), where
  // they name the account (decoder_events.cc).
  const bool actor = actor_;
  if (actor) {
    out->SetString(Field("user.id"), euid);
    out->SetString(Field("user.effective.id"), euid);
    out->SetString(Field("group.id"), egid);
    out->SetString(Field("user.Ext.real.id"), uid);
    out->SetString(Field("group.Ext.real.id"), gid);
  }
  if (const std::string& user = UserName(h.euid); !user.empty()) {
    if (actor) {
      out->SetString(Field("user.name"), user);
      out->SetString(Field("user.effective.name"), user);
    }
    out->SetString(Field("process.user.name"), user);
  }
  if (const std::string& user = UserName(h.uid); !user.empty()) {
    if (actor) out->SetString(Field("user.Ext.real.name"), user);
    out->SetString(Field("process.real_user.name"), user);
  }
  if (const std::string& group = GroupName(h.egid); !group.empty()) {
    if (actor) out->SetString(Field("group.name"), group);
    out->SetString(Field("process.group.name"), group);
  }
  if (const std::string& group = GroupName(h.gid); !group.empty()) {
    if (actor) out->SetString(Field("group.Ext.real.name"), group);
    out->SetString(Field("process.real_group.name"), group);
  }
  // Capabilities on process events only, as Elastic Defend's (a root process has all 41: 82
  // names on each of its file and network events cost more than the rest of the process).
  // The names are static: only the arrays go to the event's arena, and one array serves both
  // sets when they are equal (the common case).
  Value effective;
  if (full && h.cap_effective != 0) {  // no capability: no field
    effective = CapabilityArray(h.cap_effective, out);
    out->SetUnowned(Field("process.thread.capabilities.effective"), effective);
  }
  if (full && h.cap_permitted != 0) {
    out->SetUnowned(
        Field("process.thread.capabilities.permitted"),
        h.cap_permitted == h.cap_effective ? effective : CapabilityArray(h.cap_permitted, out));
  }
  out->SetBool(Field("process.interactive"), h.tty != 0);
  if (h.tty != 0) {
    out->SetInt(Field("process.tty.char_device.major"), h.tty >> 20);
    out->SetInt(Field("process.tty.char_device.minor"), h.tty & 0xfffff);
  }
  out->SetInt(Field("process.ppid"), h.ppid != 0 ? h.ppid : p.ppid);
  out->SetInt(Field("process.pgid"), h.pgid);
  // Session and group leaders: on process events the full entry when known, else the pid alone;
  // on file and network events pid and entity id (Elastic Defend's file/network events carry
  // only the leaders' entity ids).
  const ProcessInfo* s = h.sid == p.pid ? &p : table_->Find(h.sid);
  const ProcessInfo* g = h.pgid == p.pid ? &p : table_->Find(h.pgid);
  if (full && s != nullptr) {
    SetRelative(session_leader_, *s, p.pid, out);
  } else {
    out->SetInt(Field("process.session_leader.pid"), h.sid);
    if (s != nullptr) out->SetString(Field("process.session_leader.entity_id"), s->entity_id);
  }
  if (full && g != nullptr) {
    SetRelative(group_leader_, *g, p.pid, out);
  } else {
    out->SetInt(Field("process.group_leader.pid"), h.pgid);
    if (g != nullptr) out->SetString(Field("process.group_leader.entity_id"), g->entity_id);
  }
  if (full) {
    SetEntryLeader(p, out);
  } else if (p.entry_pid != 0) {
    out->SetInt(Field("process.entry_leader.pid"), p.entry_pid);
    out->SetString(Field("process.entry_leader.entity_id"), p.entry_entity_id);
  }
  uint32_t ppid = h.ppid != 0 ? h.ppid : p.ppid;
  const ProcessInfo* pp = table_->Find(ppid);
  if (pp == nullptr) out->SetInt(Field("process.parent.pid"), ppid);
  if (pp != nullptr) {
    SetRelative(parent_, *pp, 0, out);  // its pid and command line too
    // Ancestry: entity ids from the parent up, at most kMaxAncestry.
    std::vector<Value>& ancestry = values_;
    ancestry.clear();
    const ProcessInfo* a = pp;
    while (a != nullptr && ancestry.size() < kMaxAncestry) {
      ancestry.push_back(Value::String(a->entity_id));
      if (a->ppid == 0 || a->ppid == a->pid) break;
      a = table_->Find(a->ppid);
    }
    out->SetArray(Field("process.Ext.ancestry"), ancestry);
  }
}

int64_t RecordDecoder::StartNs(const ProcessInfo& p) const {
  if (p.start_wall_ns != 0) return p.start_wall_ns;
  if (p.start_ticks == 0) return 0;
  return options_.boot_wall_ns + static_cast<int64_t>(p.start_ticks * kNsPerClockTick);
}

void RecordDecoder::SetStart(schema::FieldId id, int64_t unix_ns, event::Event* out) {
  if (unix_ns <= 0) return;  // unknown
  char buf[32];
  if (std::string_view s = FormatProcessStart(unix_ns, buf); !s.empty()) out->SetString(id, s);
}

Value RecordDecoder::CapabilityArray(uint64_t mask, event::Event* out) {
  if (Value shared = StaticCapabilityArray(mask); !shared.is_null()) return shared;
  CapabilityNames(mask, &values_);
  auto* dst =
      static_cast<Value*>(out->arena().Allocate(sizeof(Value) * values_.size(), alignof(Value)));
  std::copy(values_.begin(), values_.end(), dst);
  return Value::Array({dst, values_.size()});
}

void RecordDecoder::SetFile(std::string_view path, event::Event* out, bool original) {
  std::string_view name = BaseName(path);
  std::string_view dir = path.substr(0, path.size() - name.size());
  if (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  std::string_view ext = Extension(name);
  if (original) {
    out->SetString(Field("file.Ext.original.path"), path);
    out->SetString(Field("file.Ext.original.name"), name);
    out->SetString(Field("file.Ext.original.directory"), dir);
    if (!ext.empty()) out->SetString(Field("file.Ext.original.extension"), ext);
  } else {
    out->SetString(Field("file.path"), path);
    out->SetString(Field("file.name"), name);
    out->SetString(Field("file.directory"), dir);
    if (!ext.empty()) out->SetString(Field("file.extension"), ext);
  }
}

RecordDecoder::Outcome RecordDecoder::Decode(std::span<const uint8_t> record, event::Event* out,
                                             std::string* why) {
  out->Clear();
  kestrel_header h;
  if (!Load(record, &h)) {
    *why = fmt::format("record of {} bytes is shorter than its header", record.size());
    return Outcome::kMalformed;
  }
  const int64_t time_ns = options_.boot_wall_ns + static_cast<int64_t>(h.boot_ns);
  const uint64_t start_ticks = h.start_boottime / kNsPerClockTick;
  auto too_short = [&](size_t want) {
    *why = fmt::format("record of kind {} has {} bytes, expected {}", h.kind, record.size(), want);
    return Outcome::kMalformed;
  };

  switch (h.kind) {
    case KESTREL_EXEC: {
      // The parts are packed at their lengths (kestrel_records.h) and read in place, each cut
      // at the record's end (what lies past it is empty).
      if (record.size() < offsetof(kestrel_exec, data)) {
        return too_short(offsetof(kestrel_exec, data));
      }
      const ExecParts parts = ExecPartsOf(record);
      ProcessInfo& p = table_->OnExec(h.tgid, start_ticks);
      p.ForgetSnapshots();  // a new image, arguments, directory and maybe user
      p.ppid = h.ppid;
      p.uid = h.uid;
      p.gid = h.gid;
      p.euid = h.euid;
      p.egid = h.egid;
      p.sid = h.sid;
      p.pgid = h.pgid;
      p.tty = h.tty;
      p.cap_effective = h.cap_effective;
      p.cap_permitted = h.cap_permitted;
      if (p.start_wall_ns == 0) {
        p.start_wall_ns = options_.boot_wall_ns + static_cast<int64_t>(h.start_boottime);
      }
      p.working_directory = JoinPath(parts.cwd);
      std::string_view filename = parts.filename.substr(0, parts.filename.find('\0'));
      std::string_view exe = parts.exe;
      if (!exe.empty()) {
        // The kernel's view of the image (mm->exe_file); a memfd is "memfd:NAME", no slash.
        p.executable = JoinPath(exe);
        if ((h.flags & KESTREL_F_EXE_PSEUDO) != 0 && !p.executable.empty()) {
          p.executable.erase(0, 1);
        }
      } else if (!filename.empty() && filename[0] != '/') {
        p.executable = JoinPath(std::string(filename) + '\0' + p.working_directory);
      } else {
        p.executable = std::string(filename);
      }
      p.name = std::string(BaseName(p.executable));
      if (p.name.empty()) p.name = std::string(CString(h.comm, sizeof(h.comm)));
      p.args = SplitNulSeparated(parts.args);
      p.command_line = JoinCommandLine(p.args);
      p.env_vars = FilterEnv(parts.env, options_.env_allow, options_.env_value_max, &p.ssh_client);
      table_->AssignEntryLeader(p);
      SetCommon(EmittedKindId::kExec, time_ns, out);
      SetProcess(h, p, out);
      FinishEvent(out);
      return Outcome::kEvent;
    }
    case KESTREL_FORK: {
      kestrel_fork f;
      if (!Load(record, &f)) return too_short(sizeof(f));
      ProcessInfo& c =
          table_->OnFork(h.tgid, f.child_tgid, f.child_start_boottime / kNsPerClockTick,
                         options_.boot_wall_ns + static_cast<int64_t>(f.child_start_boottime));
      // SetProcess only looks entries up (Find: no insertion, so `c` stays where it is).
      const ProcessInfo& child = c;
      kestrel_header ch = h;
      ch.start_boottime = f.child_start_boottime;  // h is the parent's
      ch.ppid = h.tgid;
      ch.tid = f.child_tgid;
      SetCommon(EmittedKindId::kFork, time_ns, out);
      SetProcess(ch, child, out);
      FinishEvent(out);
      return Outcome::kEvent;
    }
    case KESTREL_EXIT: {
      kestrel_exit x;
      if (!Load(record, &x)) return too_short(sizeof(x));
      const ProcessInfo& p = table_->Touch(h.tgid, start_ticks);
      SetCommon(EmittedKindId::kExit, time_ns, out);
      SetProcess(h, p, out);  // before OnExit: the entry as it was while the process ran
      table_->OnExit(h.tgid, time_ns);
      int status = x.exit_code;
      int code = (status & 0x7f) != 0 ? 128 + (status & 0x7f) : (status >> 8) & 0xff;
      out->SetInt(Field("process.exit_code"), code);
      FinishEvent(out);
      return Outcome::kEvent;
    }
    case KESTREL_FILE: {
      if (record.size() < offsetof(kestrel_file, path)) {
        return too_short(offsetof(kestrel_file, path));
      }
      const kestrel_file* f = Padded<kestrel_file>(record, &file_buf_);
      std::string path =
          JoinPath(std::string_view(f->path, std::min<size_t>(f->path_len, sizeof(f->path))));
      std::string path2 =
          JoinPath(std::string_view(f->path2, std::min<size_t>(f->path2_len, sizeof(f->path2))));
      const std::string& shown = f->op == KESTREL_FILE_RENAME ? path2 : path;
      if (!options_.ignore_paths.empty() && HasPrefix(shown, options_.ignore_paths)) {
        return Outcome::kSkipped;
      }
      const ProcessInfo& p = table_->Touch(h.tgid, start_ticks);
      EmittedKindId kind;
      switch (f->op) {
        case KESTREL_FILE_CREATE:
          kind = EmittedKindId::kFileCreate;
          break;
        case KESTREL_FILE_MODIFY:
          kind = EmittedKindId::kFileModify;
          break;
        case KESTREL_FILE_READ:
          kind = EmittedKindId::kFileOpen;
          break;
        case KESTREL_FILE_DELETE:
          kind = EmittedKindId::kFileDelete;
          break;
        case KESTREL_FILE_RENAME:
          kind = EmittedKindId::kFileRename;
          break;
        case KESTREL_FILE_CHMOD:
          kind = EmittedKindId::kFileChmod;
          break;
        case KESTREL_FILE_CHOWN:
          kind = EmittedKindId::kFileChown;
          break;
        default:
          *why = fmt::format("file record with unknown operation {}", f->op);
          return Outcome::kMalformed;
      }
      SetCommon(kind, time_ns, out);
      SetProcess(h, p, out);
      SetFile(shown, out, false);
      if (f->op == KESTREL_FILE_RENAME) SetFile(path, out, true);
      if (f->op == KESTREL_FILE_CHMOD)
        out->SetString(Field("file.mode"), fmt::format("{:o}", f->mode & 07777));
      if (f->op == KESTREL_FILE_CHOWN) {
        if (f->owner != UINT32_MAX) out->SetString(Field("file.uid"), std::to_string(f->owner));
        if (f->group != UINT32_MAX) out->SetString(Field("file.gid"), std::to_string(f->group));
      }
      out->SetString(Field("event.outcome"), "success");
      FinishEvent(out);
      return Outcome::kEvent;
    }
    case KESTREL_NET: {
      kestrel_net n;
      if (!Load(record, &n)) return too_short(sizeof(n));
      const ProcessInfo& p = table_->Touch(h.tgid, start_ticks);
      EmittedKindId kind = EmittedKindId::kConnect;
      std::string_view direction = "egress";
      if (n.syscall == KSYS_ACCEPT || n.syscall == KSYS_ACCEPT4) {
        kind = EmittedKindId::kAccept;
        direction = "ingress";
      } else if (n.syscall == KSYS_BIND) {
        kind = EmittedKindId::kBind;
      }
      SetCommon(kind, time_ns, out);
      SetProcess(h, p, out);
      auto ip = [&](const uint8_t* a) { return KernelAddress(n.family, a); };
      // ECS: source is the initiator. Outgoing (connect): source = local; accepted: source =
      // the peer. bind has only a local end, reported as source.
      bool incoming = direction == "ingress";
      const uint8_t* src = incoming ? n.remote_addr : n.local_addr;
      const uint8_t* dst = incoming ? n.local_addr : n.remote_addr;
      uint16_t sport = incoming ? n.remote_port : n.local_port;
      uint16_t dport = incoming ? n.local_port : n.remote_port;
      if (n.syscall == KSYS_BIND) {
        out->SetIp(Field("source.ip"), ip(n.local_addr));
        out->SetInt(Field("source.port"), n.local_port);
      } else {
        out->SetIp(Field("source.ip"), ip(src));
        out->SetInt(Field("source.port"), sport);
        out->SetIp(Field("destination.ip"), ip(dst));
        out->SetInt(Field("destination.port"), dport);
        out->SetString(Field("network.direction"), direction);
      }
      out->SetString(Field("network.type"), n.family == kAfInet ? "ipv4" : "ipv6");
      out->SetString(Field("network.transport"), n.protocol == 6    ? "tcp"
                                                 : n.protocol == 17 ? "udp"
                                                                    : "other");
      out->SetString(Field("network.iana_number"), std::to_string(n.protocol));
      bool ok = n.ret >= 0 || n.ret == -kEinprogress;
      out->SetString(Field("event.outcome"), ok ? "success" : "failure");
      FinishEvent(out);
      return Outcome::kEvent;
    }
    case KESTREL_SYSCALL:
      return DecodeSyscall(h, record, time_ns, out, why);
    case KESTREL_DNS:
      return DecodeDns(h, record, time_ns, out, why);  // decoder_events.cc
    case KESTREL_AUDITD:
      return DecodeAuditd(h, record, time_ns, out, why);  // auditd_compat.cc
    case KESTREL_ALREADY_RUNNING: {
      // Made by the source from the process table (/proc at start): the header names the pid.
      const ProcessInfo* found = table_->Find(h.tgid);
      if (found == nullptr) return Outcome::kSkipped;  // gone, or evicted meanwhile
      const ProcessInfo& p = *found;
      kestrel_header ph = h;
      ph.tid = p.pid;
      ph.ppid = p.ppid;
      ph.uid = p.uid;
      ph.gid = p.gid;
      ph.euid = p.euid;
      ph.egid = p.egid;
      ph.sid = p.sid;
      ph.pgid = p.pgid;
      ph.tty = p.tty;
      ph.cap_effective = p.cap_effective;
      ph.cap_permitted = p.cap_permitted;
      SetCommon(EmittedKindId::kAlreadyRunning, time_ns, out);
      SetProcess(ph, p, out);
      FinishEvent(out);
      return Outcome::kEvent;
    }
    default:
      *why = fmt::format("record of unknown kind {}", h.kind);
      return Outcome::kMalformed;
  }
}

}  // namespace kestrel::sources::ebpf
