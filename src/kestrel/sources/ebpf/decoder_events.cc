// RecordDecoder: the `iam` events of account database changes, the DNS lookups and the
// syscall events (ptrace, setuid family, setsid, memfd_create, module loads; see decoder.h,
// account_db.h, dns_parser.h). Tested by decoder_events_test.cc and emitted_test.cc.
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/dns_parser.h"
#include "kestrel_records.h"

namespace kestrel::sources::ebpf {
namespace {

using schema::ecs::Field;

constexpr int kAfInet = 2;
constexpr int kAfInet6 = 10;

std::string_view CString(const char* p, size_t max) { return std::string_view(p, strnlen(p, max)); }

// The kind of a syscall record's event; kCount for a syscall the decoder does not know.
EmittedKindId SyscallKind(uint32_t id) {
  switch (id) {
    case KSYS_PTRACE:
      return EmittedKindId::kPtrace;
    case KSYS_SETUID:
    case KSYS_SETREUID:
    case KSYS_SETRESUID:
      return EmittedKindId::kUidChange;
    case KSYS_SETGID:
    case KSYS_SETREGID:
    case KSYS_SETRESGID:
      return EmittedKindId::kGidChange;
    case KSYS_SETSID:
      return EmittedKindId::kSessionIdChange;
    case KSYS_MEMFD_CREATE:
      return EmittedKindId::kMemfdCreate;
    case KSYS_INIT_MODULE:
    case KSYS_FINIT_MODULE:
      return EmittedKindId::kLoadModule;
    default:
      return EmittedKindId::kCount;
  }
}

EmittedKindId AccountKind(const AccountChange& c) {
  const bool user = c.db == AccountDb::kPasswd;
  switch (c.op) {
    case AccountChange::Op::kAdded:
      return user ? EmittedKindId::kUserAdded : EmittedKindId::kGroupAdded;
    case AccountChange::Op::kRemoved:
      return user ? EmittedKindId::kUserRemoved : EmittedKindId::kGroupRemoved;
    case AccountChange::Op::kChanged:
      break;
  }
  return user ? EmittedKindId::kUserChanged : EmittedKindId::kGroupChanged;
}

}  // namespace

void RecordDecoder::DecodeAccountChange(const kestrel_header& h, int64_t time_ns,
                                        const AccountChange& change, std::string_view group_name,
                                        event::Event* out) {
  out->Clear();
  SetCommon(AccountKind(change), time_ns, out);
  // The process may have exited since it wrote the file (the table keeps it a while).
  const ProcessInfo* found = table_->Find(h.tgid);
  const ProcessInfo& p =
      found != nullptr ? *found : table_->Touch(h.tgid, h.start_boottime / kNsPerClockTick);
  SetProcess(h, p, out);
  const std::string id = std::to_string(change.id);
  if (change.db == AccountDb::kPasswd) {
    out->SetString(Field("user.name"), change.name);
    out->SetString(Field("user.id"), id);
    out->SetString(Field("user.target.name"), change.name);
    out->SetString(Field("user.target.id"), id);
    out->SetString(Field("group.id"), std::to_string(change.gid));
    if (!group_name.empty()) out->SetString(Field("group.name"), group_name);
  } else {
    out->SetString(Field("group.name"), change.name);
    out->SetString(Field("group.id"), id);
    // Not in the ECS catalogue: interned here (iam events are rare).
    auto intern = [&](std::string_view name) {
      return schema_.Intern(name, schema::FieldType::kKeyword, false).value_or(schema::FieldId{0});
    };
    out->SetString(intern("group.target.name"), change.name);
    out->SetString(intern("group.target.id"), id);
  }
  out->SetString(Field("event.outcome"), "success");  // the file shows it done
  FinishEvent(out);
}

RecordDecoder::Outcome RecordDecoder::DecodeDns(const kestrel_header& h,
                                                std::span<const uint8_t> record, int64_t time_ns,
                                                event::Event* out, std::string* why) {
  if (record.size() < offsetof(kestrel_dns, payload)) {
    *why = fmt::format("record of kind {} has {} bytes, expected at least {}", h.kind,
                       record.size(), offsetof(kestrel_dns, payload));
    return Outcome::kMalformed;
  }
  kestrel_dns d;  // the fixed part; the payload is read in place (compacted records end early)
  std::memcpy(&d, record.data(), offsetof(kestrel_dns, payload));
  const size_t have = record.size() - offsetof(kestrel_dns, payload);
  const size_t n = std::min<size_t>({d.payload_len, have, KESTREL_DNS_PAYLOAD_MAX});
  DnsQuery q;
  std::string_view reason;
  if ((d.family != kAfInet && d.family != kAfInet6) ||
      !ParseDnsQuery(record.subspan(offsetof(kestrel_dns, payload), n), &q, &reason)) {
    ++dns_parse_failures_;
    if (reason.empty()) reason = "not an IPv4/IPv6 socket";
    *why = fmt::format("DNS query from pid {} to port {} not parsed ({} of {} bytes copied): {}",
                       h.tgid, d.remote_port, n, d.sent_len, reason);
    return Outcome::kMalformed;
  }
  const ProcessInfo& p = table_->Touch(h.tgid, h.start_boottime / kNsPerClockTick);
  SetCommon(EmittedKindId::kDnsLookup, time_ns, out);
  SetProcess(h, p, out);
  out->SetString(Field("dns.question.name"), q.question_name());
  std::string_view type = DnsTypeName(q.qtype);
  if (type.empty()) {
    out->SetString(Field("dns.question.type"), fmt::format("TYPE{}", q.qtype));  // RFC 3597
  } else {
    out->SetString(Field("dns.question.type"), type);
  }
  out->SetString(Field("dns.id"), std::to_string(q.id));
  out->SetString(Field("dns.type"), "query");
  out->SetIp(Field("source.ip"), KernelAddress(d.family, d.local_addr));
  out->SetInt(Field("source.port"), d.local_port);
  out->SetIp(Field("destination.ip"), KernelAddress(d.family, d.remote_addr));
  out->SetInt(Field("destination.port"), d.remote_port);
  out->SetString(Field("network.type"), d.family == kAfInet ? "ipv4" : "ipv6");
  out->SetString(Field("network.transport"), "udp");
  out->SetString(Field("network.protocol"), "dns");
  out->SetString(Field("network.iana_number"), "17");
  out->SetString(Field("network.direction"), "egress");
  out->SetString(Field("event.outcome"), d.ret >= 0 ? "success" : "failure");
  FinishEvent(out);
  return Outcome::kEvent;
}

RecordDecoder::Outcome RecordDecoder::DecodeSyscall(const kestrel_header& h,
                                                    std::span<const uint8_t> record,
                                                    int64_t time_ns, event::Event* out,
                                                    std::string* why) {
  if (record.size() < sizeof(kestrel_syscall_rec)) {
    *why = fmt::format("record of kind {} has {} bytes, expected {}", h.kind, record.size(),
                       sizeof(kestrel_syscall_rec));
    return Outcome::kMalformed;
  }
  const auto* s = reinterpret_cast<const kestrel_syscall_rec*>(record.data());
  ProcessInfo& p = table_->Touch(h.tgid, h.start_boottime / kNsPerClockTick);
  const EmittedKindId kind = SyscallKind(s->syscall);
  if (kind == EmittedKindId::kCount) {
    *why = fmt::format("syscall record of unknown syscall {}", s->syscall);
    return Outcome::kMalformed;
  }
  SetCommon(kind, time_ns, out);
  std::string_view name = CString(s->name, sizeof(s->name));
  switch (s->syscall) {
    case KSYS_PTRACE:
      // Elastic Defend: process / ptrace with process.Ext.ptrace.*; event.type as for
      // load_module ("start"). process.target.pid is kept for older rules.
      out->SetInt(ptrace_request_, static_cast<int64_t>(s->args[0]));
      out->SetInt(ptrace_child_pid_, static_cast<int64_t>(s->args[1]));
      out->SetInt(ptrace_addr_, static_cast<int64_t>(s->args[2]));
      out->SetInt(ptrace_data_, static_cast<int64_t>(s->args[3]));
      out->SetInt(target_pid_, static_cast<int64_t>(s->args[1]));
      break;
    case KSYS_MEMFD_CREATE: {
      uint64_t flags = s->args[1];
      out->SetString(memfd_name_, name);
      out->SetInt(memfd_flags_, static_cast<int64_t>(flags));
      out->SetBool(memfd_cloexec_, (flags & 0x1) != 0);      // MFD_CLOEXEC
      out->SetBool(memfd_allow_seal_, (flags & 0x2) != 0);   // MFD_ALLOW_SEALING
      out->SetBool(memfd_hugetlb_, (flags & 0x4) != 0);      // MFD_HUGETLB
      out->SetBool(memfd_noexec_seal_, (flags & 0x8) != 0);  // MFD_NOEXEC_SEAL
      out->SetBool(memfd_exec_, (flags & 0x10) != 0);        // MFD_EXEC
      break;
    }
    case KSYS_INIT_MODULE:
    case KSYS_FINIT_MODULE: {
      if (!name.empty()) {
        // The module's name is its file's, without ".ko" and a compression suffix.
        std::string_view module = name.substr(0, name.find(".ko"));
        out->SetString(module_name_, module);
        out->SetString(Field("file.name"), name);
      }
      break;
    }
    case KSYS_SETSID:
      // The kernel made this process the leader of a new session (and process group).
      p.ForgetSnapshots();
      p.sid = h.sid;
      p.pgid = h.pgid;
      table_->AssignEntryLeader(p);
      break;
    case KSYS_SETUID:
    case KSYS_SETREUID:
    case KSYS_SETRESUID:
    case KSYS_SETGID:
    case KSYS_SETREGID:
    case KSYS_SETRESGID:
      // Made by the kernel only when the call succeeded and changed the ids: the header has
      // the new ones (process.user.id, user.id, process.real_user.id, ...).
      p.ForgetSnapshots();
      p.uid = h.uid;
      p.gid = h.gid;
      p.euid = h.euid;
      p.egid = h.egid;
      p.cap_effective = h.cap_effective;
      p.cap_permitted = h.cap_permitted;
      break;
    default:
      *why = fmt::format("syscall record of unknown syscall {}", s->syscall);
      return Outcome::kMalformed;
  }
  SetProcess(h, p, out);
  out->SetString(Field("event.outcome"), s->ret >= 0 ? "success" : "failure");
  FinishEvent(out);
  return Outcome::kEvent;
}

}  // namespace kestrel::sources::ebpf
