// Message templates, the process tree, executable hashes and container ids; see
// alert_context.h. Tested by alert_context_test.cc.
#include "kestrel/pipeline/alert_context.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <xxhash.h>

#include "kestrel/event/json_writer.h"

namespace kestrel::pipeline {
namespace {

// A value as message text: strings as they are, other values as JSON; bounded, one line.
void AppendValueText(const event::Value& v, std::string* out) {
  std::string text;
  if (v.kind() == event::ValueKind::kString) {
    text.assign(v.as_string());
  } else {
    event::AppendJsonValue(&text, v);
  }
  bool cut = text.size() > kMaxMessageValue;
  if (cut) {
    size_t n = kMaxMessageValue;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
    text.resize(n);
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  out->append(text);
  if (cut) out->append("\u2026");
}

const event::Value* FieldOf(const engine::Alert& alert, const schema::Schema& schema,
                            std::string_view name) {
  if (alert.events.empty()) return nullptr;
  std::optional<schema::FieldId> id = schema.Find(name);
  if (!id) return nullptr;
  const event::Value* v = alert.events.back()->Find(*id);
  if (v == nullptr || v->kind() == event::ValueKind::kNull) return nullptr;
  return v;
}

const event::Value* FirstOf(const engine::Alert& alert, const schema::Schema& schema,
                            std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (const event::Value* v = FieldOf(alert, schema, n)) return v;
  }
  return nullptr;
}

void Truncate(std::string* s) {
  if (s->size() <= kMaxMessage) return;
  size_t n = kMaxMessage;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
  s->append("\u2026");
}

void SetBounded(const event::Value* v, size_t max, std::string* out) {
  out->clear();
  if (v == nullptr) return;
  if (v->kind() == event::ValueKind::kString) {
    std::string_view s = v->as_string();
    out->assign(s.substr(0, max));
  } else if (v->kind() == event::ValueKind::kArray || v->kind() == event::ValueKind::kRawJson) {
    return;
  } else {
    event::AppendJsonValue(out, *v);
  }
}

uint64_t HashValue(const event::Value& v, uint64_t seed) {
  switch (v.kind()) {
    case event::ValueKind::kString:
      return XXH3_64bits_withSeed(v.as_string().data(), v.as_string().size(), seed ^ 1);
    case event::ValueKind::kInt: {
      int64_t i = v.as_int();
      return XXH3_64bits_withSeed(&i, sizeof(i), seed ^ 2);
    }
    default:
      return 0;
  }
}

}  // namespace

std::string RenderMessage(const rules::RuleSpec& rule, const engine::Alert& alert,
                          const schema::Schema& schema) {
  std::string out;
  if (rule.message.empty()) {
    // The default: "<rule name>: <executable> (pid N) on <host>" with what the event has.
    out = rule.name;
    const event::Value* exe = FirstOf(
        alert, schema, {"process.executable", "process_path", "process.name", "process_name"});
    const event::Value* pid = FirstOf(alert, schema, {"process.pid", "pid"});
    const event::Value* host = FirstOf(alert, schema, {"host.name", "hostname"});
    if (exe != nullptr) {
      out += ": ";
      AppendValueText(*exe, &out);
      if (pid != nullptr) {
        out += " (pid ";
        AppendValueText(*pid, &out);
        out += ')';
      }
    }
    if (host != nullptr) {
      out += " on ";
      AppendValueText(*host, &out);
    }
    Truncate(&out);
    return out;
  }
  std::string_view t = rule.message;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if ((c == '{' || c == '}') && i + 1 < t.size() && t[i + 1] == c) {
      out.push_back(c);
      ++i;
      continue;
    }
    if (c != '{') {
      out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
      continue;
    }
    size_t close = t.find('}', i + 1);
    if (close == std::string_view::npos) {  // validated at load; be safe anyway
      out.append(t.substr(i));
      break;
    }
    std::string_view name = t.substr(i + 1, close - i - 1);
    if (const event::Value* v = FieldOf(alert, schema, name)) {
      AppendValueText(*v, &out);
    } else {
      out += fmt::format("<{}?>", name);
    }
    i = close;
  }
  Truncate(&out);
  return out;
}

ProcessTree::ProcessTree(const schema::Schema& schema, size_t slots)
    : capacity_(slots < 2 ? 2 : slots) {
  Fields ecs{schema.Find("process.entity_id"),
             schema.Find("process.pid"),
             schema.Find("process.parent.entity_id"),
             schema.Find("process.parent.pid"),
             schema.Find("process.name"),
             schema.Find("process.executable"),
             schema.Find("process.command_line"),
             schema.Find("process.parent.name"),
             schema.Find("process.parent.executable"),
             schema.Find("process.parent.command_line"),
             schema.Find("host.name")};
  Fields endgame{schema.Find("unique_pid"),
                 schema.Find("pid"),
                 schema.Find("unique_ppid"),
                 schema.Find("ppid"),
                 schema.Find("process_name"),
                 schema.Find("process_path"),
                 schema.Find("command_line"),
                 schema.Find("parent_process_name"),
                 schema.Find("parent_process_path"),
                 std::nullopt,
                 schema.Find("hostname")};
  fields_ = {ecs, endgame};
  process_category_ = schema.FindCategory("process").value_or(0);
}

uint64_t ProcessTree::KeyOf(const event::Event& e, bool parent) const {
  for (const Fields& f : fields_) {
    uint64_t seed = 0x6b657374;
    if (f.host) {
      if (const event::Value* h = e.Find(*f.host)) seed = HashValue(*h, seed) | 1;
    }
    const std::optional<schema::FieldId>& entity = parent ? f.parent_entity : f.entity;
    const std::optional<schema::FieldId>& pid = parent ? f.parent_pid : f.pid;
    // The entity id when the process has one (its parent's then too), else the pids.
    const std::optional<schema::FieldId>& self_entity = f.entity;
    if (self_entity && e.Find(*self_entity) != nullptr) {
      if (entity) {
        if (const event::Value* v = e.Find(*entity)) {
          if (uint64_t k = HashValue(*v, seed)) return k;
        }
      }
      return 0;
    }
    if (pid) {
      if (const event::Value* v = e.Find(*pid)) {
        if (uint64_t k = HashValue(*v, seed ^ 0x70)) return k;
      }
    }
  }
  return 0;
}

void ProcessTree::Read(const event::Event& e, bool parent, engine::AlertProcess* out) const {
  for (const Fields& f : fields_) {
    const auto& pid = parent ? f.parent_pid : f.pid;
    const auto& name = parent ? f.parent_name : f.name;
    if (!(pid && e.Find(*pid)) && !(name && e.Find(*name))) continue;
    const auto& entity = parent ? f.parent_entity : f.entity;
    const auto& exe = parent ? f.parent_executable : f.executable;
    const auto& cmd = parent ? f.parent_command_line : f.command_line;
    out->pid = -1;
    if (pid) {
      if (const event::Value* v = e.Find(*pid); v && v->kind() == event::ValueKind::kInt) {
        out->pid = v->as_int();
      }
    }
    SetBounded(entity ? e.Find(*entity) : nullptr, 256, &out->entity_id);
    SetBounded(name ? e.Find(*name) : nullptr, 256, &out->name);
    SetBounded(exe ? e.Find(*exe) : nullptr, 1024, &out->executable);
    SetBounded(cmd ? e.Find(*cmd) : nullptr, 1024, &out->command_line);
    return;
  }
}

bool ProcessTree::Same(const event::Event& e, const engine::AlertProcess& p) const {
  for (const Fields& f : fields_) {
    if (!(f.pid && e.Find(*f.pid)) && !(f.name && e.Find(*f.name))) continue;
    auto text = [&](const std::optional<schema::FieldId>& id, size_t max) -> std::string_view {
      if (!id) return {};
      const event::Value* v = e.Find(*id);
      if (v == nullptr || v->kind() != event::ValueKind::kString) return {};
      return v->as_string().substr(0, max);
    };
    int64_t pid = -1;
    if (f.pid) {
      if (const event::Value* v = e.Find(*f.pid); v && v->kind() == event::ValueKind::kInt) {
        pid = v->as_int();
      }
    }
    return pid == p.pid && text(f.name, 256) == p.name &&
           text(f.executable, 1024) == p.executable && text(f.command_line, 1024) == p.command_line;
  }
  return false;
}

void ProcessTree::Observe(const event::Event& event) {
  if (!event.InCategory(static_cast<schema::CategoryId>(process_category_))) return;
  uint64_t key = KeyOf(event, false);
  if (key == 0) return;
  uint64_t parent = KeyOf(event, true);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  const uint32_t current_at = it != map_.end() ? it->second : UINT32_MAX;
  {
    const Slot* current = current_at != UINT32_MAX ? &slots_[current_at] : nullptr;
    // Unchanged (an exit, a second event of the same exec): nothing to remember. Compared in
    // place: no allocation for the common case.
    if (current != nullptr && (parent == 0 || parent == current->parent_key) &&
        Same(event, current->info)) {
      return;
    }
  }
  // The ring grows to its capacity as processes arrive (an idle agent holds none of it).
  if (next_ == slots_.size()) slots_.emplace_back();
  const Slot* current = current_at != UINT32_MAX ? &slots_[current_at] : nullptr;
  Slot& slot = slots_[next_];
  if (slot.used) {
    auto old = map_.find(slot.key);
    if (old != map_.end() && old->second == next_) map_.erase(old);
    ++forgotten_;
  }
  slot.used = true;
  slot.key = key;
  slot.parent_key = parent != 0 ? parent : (current != nullptr ? current->parent_key : 0);
  slot.serial = ++serial_;
  slot.time_ns = event.time_ns();
  if (current != nullptr) {
    slot.prev = static_cast<uint32_t>(current - slots_.data());
    slot.prev_serial = current->serial;
  } else {
    slot.prev = UINT32_MAX;
  }
  Read(event, false, &slot.info);
  map_[key] = static_cast<uint32_t>(next_);
  next_ = (next_ + 1) % capacity_;
}

const ProcessTree::Slot* ProcessTree::Find(uint64_t key, int64_t at_ns) const {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  const Slot* s = &slots_[it->second];
  for (int hops = 0; hops < 64; ++hops) {
    if (s->time_ns <= at_ns) return s;
    if (s->prev == UINT32_MAX) return nullptr;
    const Slot* p = &slots_[s->prev];
    if (!p->used || p->key != key || p->serial != s->prev_serial) return nullptr;
    s = p;
  }
  return nullptr;
}

void ProcessTree::Describe(engine::Alert* alert) const {
  alert->process_tree.clear();
  if (alert->events.empty()) return;
  int64_t at = alert->events.back()->time_ns();
  for (const auto& e : alert->events) at = std::max(at, e->time_ns());
  std::vector<uint64_t> seen;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < alert->events.size(); ++i) {
    const event::Event& e = *alert->events[i];
    uint64_t key = KeyOf(e, false);
    if (key == 0 || std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    engine::AlertProcessTree tree;
    tree.event = static_cast<uint32_t>(i);
    Read(e, false, &tree.process);
    uint64_t parent = KeyOf(e, true);
    if (parent == 0) {
      if (const Slot* self = Find(key, at)) parent = self->parent_key;
    }
    for (int depth = 0; depth < kMaxDepth && parent != 0; ++depth) {
      const Slot* s = Find(parent, at);
      if (s == nullptr) {
        if (depth == 0) {  // not seen starting: what the event says of its parent
          engine::AlertProcess p;
          Read(e, true, &p);
          if (p.pid >= 0 || !p.name.empty()) tree.ancestors.push_back(std::move(p));
        }
        break;
      }
      tree.ancestors.push_back(s->info);
      if (s->parent_key == parent) break;
      parent = s->parent_key;
    }
    alert->process_tree.push_back(std::move(tree));
  }
}

std::string ExecutableHashes::Sha256(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return "";
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > max_bytes_) {
    ::close(fd);
    return "";
  }
  Key key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<uint64_t>(st.st_size)};
  if (auto it = cache_.find(key); it != cache_.end()) {
    ::close(fd);
    return it->second;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
  char buf[1 << 16];
  uint64_t total = 0;
  while (ok) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0;
      break;
    }
    total += static_cast<uint64_t>(n);
    if (total > max_bytes_) ok = false;  // grew while read
    ok = ok && EVP_DigestUpdate(ctx, buf, static_cast<size_t>(n)) == 1;
  }
  ::close(fd);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return "";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  if (cache_.size() >= max_entries_) cache_.clear();
  cache_.emplace(key, hex);
  ++computed_;
  return hex;
}

std::string ContainerIdFromCgroup(std::string_view cgroup) {
  // Any path component holding a run of exactly 64 hex digits (docker-<id>.scope,
  // /docker/<id>, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope).
  size_t i = 0;
  while (i < cgroup.size()) {
    if (!std::isxdigit(static_cast<unsigned char>(cgroup[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cgroup.size() && std::isxdigit(static_cast<unsigned char>(cgroup[j]))) ++j;
    bool bounded_before = i == 0 || cgroup[i - 1] == '/' || cgroup[i - 1] == '-';
    bool bounded_after =
        j == cgroup.size() || cgroup[j] == '.' || cgroup[j] == '/' || cgroup[j] == '\n';
    if (j - i == 64 && bounded_before && bounded_after) {
      std::string id(cgroup.substr(i, 64));
      for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return id;
    }
    i = j;
  }
  return "";
}

std::string ContainerIdOf(int64_t pid) {
  if (pid <= 0) return "";
  std::ifstream in(fmt::format("/proc/{}/cgroup", pid));
  if (!in) return "";
  std::string text(8192, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return ContainerIdFromCgroup(text);
}

}  // namespace kestrel::pipeline
