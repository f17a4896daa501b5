// GuardEvaluator, AllowList and the names of modes and verdicts; see guard.h.
#include "kestrel/actions/blocking/guard.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "kestrel/event/value.h"
#include "kestrel/schema/field.h"

namespace kestrel::actions::blocking {
namespace {

using event::Value;
using schema::ecs::Field;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view DirName(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return {};
  return slash == 0 ? path.substr(0, 1) : path.substr(0, slash);
}

std::string_view Extension(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
  return name.substr(dot + 1);
}

void SetKeyword1(event::Event* out, schema::FieldId id, std::string_view v) {
  Value one = Value::String(v);
  out->SetArray(id, std::span<const Value>(&one, 1));
}

// Reads a small /proc file into `buf` (NUL-terminated); the byte count, or -1.
ssize_t ReadSmall(const char* path, char* buf, size_t size) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

// PPid and effective Uid of `pid` from /proc/PID/status; false when the process is gone.
bool ReadStatus(int32_t pid, int32_t* ppid, uint32_t* euid) {
  char path[64], buf[2048];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  if (ReadSmall(path, buf, sizeof buf) <= 0) return false;
  const char* p = std::strstr(buf, "\nPPid:");
  if (p != nullptr) *ppid = static_cast<int32_t>(std::strtol(p + 6, nullptr, 10));
  const char* u = std::strstr(buf, "\nUid:");
  if (u != nullptr) {
    char* end = nullptr;
    std::strtoul(u + 5, &end, 10);  // real
    *euid = static_cast<uint32_t>(std::strtoul(end, nullptr, 10));
  }
  return true;
}

bool UsesField(const eql::IrNode& n, const std::vector<schema::FieldId>& fields) {
  if (n.op == eql::IrOp::kField &&
      std::find(fields.begin(), fields.end(), n.field) != fields.end()) {
    return true;
  }
  if (n.op == eql::IrOp::kRelation) return true;  // the process tree: ask /proc for everything
  for (const auto& c : n.children) {
    if (UsesField(*c, fields)) return true;
  }
  return false;
}

// The fields only /proc/PID/status gives (the parent and the user).
const std::vector<schema::FieldId>& StatusFields() {
  static const std::vector<schema::FieldId> fields = {Field("process.parent.pid"),
                                                      Field("process.ppid"), Field("user.id"),
                                                      Field("process.user.id")};
  return fields;
}

bool ProgramUsesStatus(const eql::IrProgram& p) {
  auto stage_uses = [](const eql::IrStage& st) {
    if (UsesField(*st.predicate, StatusFields())) return true;
    for (const auto& b : st.by) {
      if (UsesField(*b, StatusFields())) return true;
    }
    return false;
  };
  for (const eql::IrStage& st : p.stages) {
    if (stage_uses(st)) return true;
  }
  if (p.until && stage_uses(*p.until)) return true;
  for (const eql::IrPipe& pipe : p.pipes) {
    for (const auto& a : pipe.args) {
      if (UsesField(*a, StatusFields())) return true;
    }
  }
  return false;
}

// Adds process.parent.pid/ppid and user.id/process.user.id of `pid` (from /proc) to *out.
// False when the process is gone.
bool AddStatusFields(int32_t pid, event::Event* out) {
  int32_t ppid = 0;
  uint32_t euid = 0;
  if (!ReadStatus(pid, &ppid, &euid)) return false;
  out->SetInt(Field("process.parent.pid"), ppid);
  out->SetInt(Field("process.ppid"), ppid);
  char uid[16];
  int n = std::snprintf(uid, sizeof uid, "%u", euid);
  out->SetString(Field("user.id"), std::string_view(uid, static_cast<size_t>(n)));
  out->SetString(Field("process.user.id"), std::string_view(uid, static_cast<size_t>(n)));
  return true;
}

}  // namespace

std::string_view EnforceModeName(EnforceMode mode) {
  switch (mode) {
    case EnforceMode::kOff:
      return "off";
    case EnforceMode::kDryRun:
      return "dry-run";
    case EnforceMode::kOn:
      return "on";
  }
  return "?";
}

std::optional<EnforceMode> ParseEnforceMode(std::string_view name) {
  for (EnforceMode m : {EnforceMode::kOff, EnforceMode::kDryRun, EnforceMode::kOn}) {
    if (EqualsIgnoreCase(name, EnforceModeName(m))) return m;
  }
  return std::nullopt;
}

std::string_view AccessKindName(AccessKind kind) {
  return kind == AccessKind::kExec ? "exec" : "open";
}

std::string_view VerdictActionName(VerdictAction action) {
  switch (action) {
    case VerdictAction::kAllow:
      return "allow";
    case VerdictAction::kDeny:
      return "deny";
    case VerdictAction::kWouldDeny:
      return "would-deny";
    case VerdictAction::kAllowTimeout:
      return "allow-timeout";
    case VerdictAction::kAllowOverload:
      return "allow-overload";
    case VerdictAction::kAllowError:
      return "allow-error";
    case VerdictAction::kAllowShutdown:
      return "allow-shutdown";
  }
  return "?";
}

std::string_view VerdictOutcome(VerdictAction action) {
  switch (action) {
    case VerdictAction::kDeny:
    case VerdictAction::kWouldDeny:
      return "success";
    case VerdictAction::kAllow:
      return "unknown";
    default:
      return "failure";
  }
}

bool KillProcess(int32_t pid, std::string* why) {
  if (pid <= 1 || pid == static_cast<int32_t>(::getpid())) {
    *why = "refusing to kill PID 1 or Kestrel itself";
    return false;
  }
  if (::kill(pid, SIGKILL) == 0) return true;
  if (errno == ESRCH) {
    *why = "the process had already exited";
    return true;
  }
  *why = std::strerror(errno);
  return false;
}

AllowList::AllowList(std::vector<int32_t> pids, std::vector<std::string> path_prefixes)
    : pids_(std::move(pids)), path_prefixes_(std::move(path_prefixes)) {
  std::sort(pids_.begin(), pids_.end());
  pids_.erase(std::unique(pids_.begin(), pids_.end()), pids_.end());
  for (std::string& p : path_prefixes_) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
  }
}

AllowList AllowList::ForThisProcess(std::vector<std::string> path_prefixes) {
  std::vector<int32_t> pids = {1};
  int32_t pid = static_cast<int32_t>(::getpid());
  // This process and its ancestors (bounded: a cycle cannot happen, but /proc may lie briefly).
  for (int depth = 0; depth < 64 && pid > 1; ++depth) {
    pids.push_back(pid);
    int32_t ppid = 0;
    uint32_t uid = 0;
    if (!ReadStatus(pid, &ppid, &uid)) break;
    pid = ppid;
  }
  return AllowList(std::move(pids), std::move(path_prefixes));
}

bool AllowList::AllowsPid(int32_t pid) const {
  return std::binary_search(pids_.begin(), pids_.end(), pid);
}

bool AllowList::AllowsPath(std::string_view path) const {
  for (const std::string& prefix : path_prefixes_) {
    if (prefix == "/") return true;
    if (path.size() >= prefix.size() && path.substr(0, prefix.size()) == prefix &&
        (path.size() == prefix.size() || path[prefix.size()] == '/')) {
      return true;
    }
  }
  return false;
}

GuardEvaluator::GuardEvaluator(schema::Schema& schema, const engine::EngineLimits& limits)
    : schema_(schema), detector_(std::make_unique<engine::Detector>(schema, limits)) {
  process_cat_ = schema_.InternCategory("process");
  file_cat_ = schema_.InternCategory("file");
}

absl::StatusOr<std::unique_ptr<GuardEvaluator>> GuardEvaluator::Create(
    schema::Schema& schema, const std::vector<GuardRule>& rules,
    const engine::EngineLimits& limits) {
  std::unique_ptr<GuardEvaluator> g(new GuardEvaluator(schema, limits));
  for (const GuardRule& rule : rules) {
    if (absl::Status s = g->detector_->AddRule(rule.program); !s.ok()) return s;
    g->ids_.push_back(rule.id);
    g->needs_status_ |= ProgramUsesStatus(*rule.program);
    for (const eql::IrStage& stage : rule.program->stages) {
      if (stage.missing) continue;
      g->wants_exec_ |= !stage.category || *stage.category == g->process_cat_;
      g->wants_open_ |= !stage.category || *stage.category == g->file_cat_;
    }
  }
  if (absl::Status s = g->detector_->Seal(); !s.ok()) return s;
  return g;
}

bool GuardEvaluator::IsLoader(std::string_view executable) {
  std::string_view name = BaseName(executable);
  return name.starts_with("ld-linux") || name.starts_with("ld.so") || name.starts_with("ld-musl") ||
         (name.starts_with("ld-") && name.find(".so") != name.npos);
}

void GuardEvaluator::BuildEvent(const AccessRequest& request, std::string_view opener,
                                event::Event* out) {
  Build(request, opener, /*with_status=*/true, out);
}

void GuardEvaluator::Build(const AccessRequest& request, std::string_view opener, bool with_status,
                           event::Event* out) {
  out->Clear();
  out->set_time_ns(request.time_ns);
  out->set_wall_ns(request.time_ns);
  bool exec = request.kind == AccessKind::kExec;
  out->AddCategory(exec ? process_cat_ : file_cat_);
  SetKeyword1(out, Field("event.category"), exec ? "process" : "file");
  SetKeyword1(out, Field("event.type"), exec ? "start" : "access");
  out->SetString(Field("event.action"), exec ? "exec" : "open");
  out->SetString(Field("event.kind"), "event");
  out->SetString(Field("event.module"), "kestrel");
  out->SetString(Field("event.dataset"), "kestrel.guard");
  out->SetString(Field("host.os.type"), "linux");
  out->SetInt(Field("process.pid"), request.pid);
  std::string_view executable = exec ? request.path : opener;
  if (!executable.empty()) {
    out->SetString(Field("process.executable"), executable);
    out->SetString(Field("process.name"), BaseName(executable));
  }
  if (!exec) {
    std::string_view name = BaseName(request.path);
    out->SetString(Field("file.path"), request.path);
    out->SetString(Field("file.name"), name);
    out->SetString(Field("file.directory"), DirName(request.path));
    if (std::string_view ext = Extension(name); !ext.empty()) {
      out->SetString(Field("file.extension"), ext);
    }
  }
  if (with_status) AddStatusFields(request.pid, out);
  out->Finish();
}

void GuardEvaluator::Complete(GuardMatch* match) const {
  if (needs_status_ || match->events.empty()) return;
  const event::Event& last = *match->events.back();
  const event::Value* pid = last.Find(Field("process.pid"));
  if (pid == nullptr || last.Find(Field("user.id")) != nullptr) return;
  auto completed = std::make_shared<event::Event>(last);
  if (!AddStatusFields(static_cast<int32_t>(pid->as_int()), completed.get())) return;
  completed->Finish();
  match->events.back() = std::move(completed);
}

bool GuardEvaluator::Run(const event::Event& event, std::optional<GuardMatch>* out) {
  detector_->Process(event, index_++, [&](size_t rule, engine::QueryMatch& m) {
    if (out->has_value()) return;
    GuardMatch match;
    match.rule_id = ids_[rule];
    match.events = std::move(m.events);
    match.entity_key = std::move(m.entity_key);
    *out = std::move(match);
  });
  return out->has_value();
}

void GuardEvaluator::Observe(const event::Event& event) {
  detector_->Process(event, index_++, [](size_t, engine::QueryMatch&) {});
}

std::optional<GuardMatch> GuardEvaluator::Evaluate(const AccessRequest& request) {
  std::optional<GuardMatch> match;
  opener_.clear();
  if (request.kind == AccessKind::kOpen) {
    char path[64], exe[4096];
    std::snprintf(path, sizeof path, "/proc/%d/exe", request.pid);
    ssize_t n = ::readlink(path, exe, sizeof exe);
    if (n > 0) opener_.assign(exe, static_cast<size_t>(n));
    if (!wants_open_ && !(wants_exec_ && IsLoader(opener_))) return match;  // nothing to judge
  }
  Build(request, opener_, needs_status_, &event_);
  if (request.kind == AccessKind::kExec ? wants_exec_ : wants_open_) {
    if (Run(event_, &match)) return match;
  }
  if (request.kind == AccessKind::kOpen && wants_exec_ && IsLoader(opener_)) {
    // The loader maps the program instead of exec'ing it: judge the open as that exec.
    AccessRequest as_exec = request;
    as_exec.kind = AccessKind::kExec;
    Build(as_exec, {}, needs_status_, &loader_event_);
    if (Run(loader_event_, &match)) return match;
  }
  return match;
}

}  // namespace kestrel::actions::blocking
