// auditd-compatible syscall events; see auditd_compat.h. Also defines
// RecordDecoder::DecodeAuditd (decoder.h), so that the decoder's own file only dispatches to it.
#include "kestrel/sources/ebpf/auditd_compat.h"

#include <cstddef>
#include <cstring>

#include <fmt/format.h>

#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel_records.h"

namespace kestrel::sources::ebpf {
namespace {

using K = EmittedKindId;

constexpr AuditdSyscall kSyscalls[] = {
    {KSYS_PRCTL, "prctl", K::kAuditdPrctl},
    {KSYS_KILL, "kill", K::kAuditdKill},
    {KSYS_TKILL, "tkill", K::kAuditdTkill},
    {KSYS_TGKILL, "tgkill", K::kAuditdTgkill},
    {KSYS_MPROTECT, "mprotect", K::kAuditdMprotect},
    {KSYS_OPEN, "open", K::kAuditdOpen},
    {KSYS_INIT_MODULE, "init_module", K::kAuditdInitModule},
    {KSYS_FINIT_MODULE, "finit_module", K::kAuditdFinitModule},
};

bool RealTimeSignal(uint64_t reg) {
  int sig = static_cast<int>(reg);
  return sig >= KESTREL_SIGRTMIN && sig <= KESTREL_SIGRTMAX;
}

}  // namespace

std::span<const AuditdSyscall> AuditdSyscalls() { return kSyscalls; }

const AuditdSyscall* FindAuditdSyscall(uint32_t number) {
  for (const AuditdSyscall& s : kSyscalls) {
    if (s.number == number) return &s;
  }
  return nullptr;
}

bool AuditdArgsWanted(uint32_t number, const uint64_t (&args)[4]) {
  switch (number) {
    case KSYS_PRCTL:
      return args[0] == KESTREL_PR_SET_NAME;
    case KSYS_KILL:
    case KSYS_TKILL:
      return RealTimeSignal(args[1]);
    case KSYS_TGKILL:
      return RealTimeSignal(args[2]);
    case KSYS_MPROTECT:
      return (args[2] & KESTREL_PROT_WX) == KESTREL_PROT_WX;
    case KSYS_OPEN:
      return args[2] == KESTREL_OPEN_MODE_0666;
    case KSYS_INIT_MODULE:
    case KSYS_FINIT_MODULE:
      return true;
    default:
      return false;
  }
}

std::string_view AuditdHex(uint64_t v, char (&buf)[16]) {
  constexpr char kDigits[] = "0123456789abcdef";
  size_t n = 16;
  do {
    buf[--n] = kDigits[v & 0xf];
    v >>= 4;
  } while (v != 0);
  return std::string_view(buf + n, 16 - n);
}

AuditdFields AuditdFields::For(schema::Schema& schema) {
  auto id = [&](std::string_view name, schema::FieldType type) {
    return schema.Intern(name, type, false).value_or(schema::FieldId{0});
  };
  AuditdFields f;
  f.a[0] = id("auditd.data.a0", schema::FieldType::kKeyword);
  f.a[1] = id("auditd.data.a1", schema::FieldType::kKeyword);
  f.a[2] = id("auditd.data.a2", schema::FieldType::kKeyword);
  f.a[3] = id("auditd.data.a3", schema::FieldType::kKeyword);
  f.exit = id("auditd.data.exit", schema::FieldType::kLong);
  f.result = id("auditd.result", schema::FieldType::kKeyword);
  return f;
}

RecordDecoder::Outcome RecordDecoder::DecodeAuditd(const kestrel_header& h,
                                                   std::span<const uint8_t> record, int64_t time_ns,
                                                   event::Event* out, std::string* why) {
  if (record.size() < offsetof(kestrel_auditd, path)) {
    *why = fmt::format("record of kind {} has {} bytes, expected at least {}", h.kind,
                       record.size(), offsetof(kestrel_auditd, path));
    return Outcome::kMalformed;
  }
  // Records are copied at the size they use: zero-pad a short one (the buffer is reused).
  const kestrel_auditd* a;
  if (record.size() >= sizeof(kestrel_auditd)) {
    a = reinterpret_cast<const kestrel_auditd*>(record.data());
  } else {
    file_buf_.assign(sizeof(kestrel_auditd), 0);
    std::memcpy(file_buf_.data(), record.data(), record.size());
    a = reinterpret_cast<const kestrel_auditd*>(file_buf_.data());
  }
  const AuditdSyscall* call = FindAuditdSyscall(a->syscall);
  if (call == nullptr) {
    *why = fmt::format("auditd record of unknown syscall {}", a->syscall);
    return Outcome::kMalformed;
  }
  std::string path;
  if (call->kind == EmittedKindId::kAuditdOpen) {
    path = JoinPath(std::string_view(a->path, std::min<size_t>(a->path_len, sizeof(a->path))));
    if (!options_.ignore_paths.empty() && HasPrefix(path, options_.ignore_paths)) {
      return Outcome::kSkipped;
    }
  }
  const ProcessInfo& p = table_->Touch(h.tgid, h.start_boottime / kNsPerClockTick);
  SetCommon(call->kind, time_ns, out);  // category/type/action, auditd.data.syscall and arch
  SetProcess(h, p, out);
  char buf[16];
  for (size_t i = 0; i < 4; ++i) out->SetString(auditd_.a[i], AuditdHex(a->args[i], buf));
  out->SetInt(auditd_.exit, a->ret);
  // The kernel's audit: success unless the return value is an error number (-4095..-1).
  const bool ok = a->ret >= 0 || a->ret < -4095;
  out->SetString(auditd_.result, ok ? "success" : "fail");
  out->SetString(schema::ecs::Field("event.outcome"), ok ? "success" : "failure");
  if (call->kind == EmittedKindId::kAuditdOpen) {
    out->SetString(schema::ecs::Field("file.path"), path);
  }
  FinishEvent(out);
  return Outcome::kEvent;
}

}  // namespace kestrel::sources::ebpf
