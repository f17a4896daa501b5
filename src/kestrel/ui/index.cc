// The investigation index; see index.h.
#include "kestrel/ui/index.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_set>

#include "kestrel/event/value.h"

namespace kestrel::ui {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

// The field names read, ECS first then Endgame's flat names.
struct Names {
  const char* ecs;
  const char* endgame;
};
constexpr Names kEntity{"process.entity_id", nullptr};
constexpr Names kParentEntity{"process.parent.entity_id", nullptr};
constexpr Names kUniquePid{nullptr, "unique_pid"};
constexpr Names kUniquePpid{nullptr, "unique_ppid"};
constexpr Names kPid{"process.pid", "pid"};
constexpr Names kPpid{"process.parent.pid", "ppid"};
constexpr Names kHost{"host.name", "hostname"};
constexpr Names kStart{"process.start", nullptr};
constexpr Names kName{"process.name", "process_name"};
constexpr Names kExe{"process.executable", "process_path"};
constexpr Names kCmd{"process.command_line", "command_line"};
constexpr Names kUser{"user.name", "user_name"};
constexpr Names kParentName{"process.parent.name", "parent_process_name"};
constexpr const Names* kAll[] = {&kEntity, &kParentEntity, &kUniquePid, &kUniquePpid, &kPid,
                                 &kPpid,   &kHost,         &kStart,     &kName,       &kExe,
                                 &kCmd,    &kUser,         &kParentName};
constexpr size_t kFieldCount = std::size(kAll);

const nlohmann::json* JsonPath(const nlohmann::json& obj, std::string_view path) {
  // The flat key first (`a.b` as one key), then nested objects.
  if (!obj.is_object()) return nullptr;
  auto flat = obj.find(std::string(path));
  if (flat != obj.end()) return &*flat;
  const nlohmann::json* at = &obj;
  while (!path.empty()) {
    size_t dot = path.find('.');
    std::string part(path.substr(0, dot));
    if (!at->is_object()) return nullptr;
    auto it = at->find(part);
    if (it == at->end()) return nullptr;
    at = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}

const nlohmann::json* JsonField(const nlohmann::json& obj, const Names& n) {
  for (const char* name : {n.ecs, n.endgame}) {
    if (name == nullptr) continue;
    if (const nlohmann::json* v = JsonPath(obj, name); v != nullptr && !v->is_null()) return v;
  }
  return nullptr;
}

std::string_view JsonText(const nlohmann::json& obj, const Names& n) {
  const nlohmann::json* v = JsonField(obj, n);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_ref<const std::string&>();
}

std::optional<int64_t> JsonInt(const nlohmann::json& obj, const Names& n) {
  const nlohmann::json* v = JsonField(obj, n);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    char* end = nullptr;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end == s.c_str() + s.size()) return x;
  }
  return std::nullopt;
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

std::string CutText(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xc0) == 0x80) --n;  // a whole code point
  return std::string(s.substr(0, n)) + "\xe2\x80\xa6";
}

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

void ProcessKeyOf(const ProcessFields& f, std::string* out) {
  out->clear();
  if (!f.entity_id.empty()) {
    out->assign(f.entity_id);
  } else if (f.unique_pid) {
    out->assign(f.host);
    out->push_back(':');
    AppendInt(out, *f.unique_pid);
  } else if (f.pid) {
    out->assign(f.host);
    *out += ":pid:";
    AppendInt(out, *f.pid);
    if (!f.start.empty()) {
      out->push_back('@');
      out->append(f.start);
    }
  }
}

void ParentKeyOf(const ProcessFields& f, std::string* out) {
  out->clear();
  if (!f.parent_entity_id.empty()) {
    out->assign(f.parent_entity_id);
  } else if (f.unique_ppid) {
    out->assign(f.host);
    out->push_back(':');
    AppendInt(out, *f.unique_ppid);
  }
}

ProcessFields ProcessFieldsOfJson(const nlohmann::json& fields) {
  ProcessFields f;
  f.entity_id = JsonText(fields, kEntity);
  f.parent_entity_id = JsonText(fields, kParentEntity);
  f.host = JsonText(fields, kHost);
  f.name = JsonText(fields, kName);
  f.executable = JsonText(fields, kExe);
  f.command_line = JsonText(fields, kCmd);
  f.user = JsonText(fields, kUser);
  f.parent_name = JsonText(fields, kParentName);
  f.pid = JsonInt(fields, kPid);
  f.ppid = JsonInt(fields, kPpid);
  f.unique_pid = JsonInt(fields, kUniquePid);
  f.unique_ppid = JsonInt(fields, kUniquePpid);
  if (const nlohmann::json* start = JsonField(fields, kStart); start != nullptr) {
    if (start->is_string()) {
      f.start = start->get_ref<const std::string&>();
    } else if (start->is_number_integer()) {
      f.start_text = std::to_string(start->get<int64_t>());
      f.start = f.start_text;
    }
  }
  return f;
}

std::vector<schema::FieldId> InternProcessFields(schema::Schema* schema) {
  std::vector<schema::FieldId> ids;
  for (const Names* n : kAll) {
    for (const char* name : {n->ecs, n->endgame}) {
      if (name == nullptr) continue;
      std::optional<schema::FieldId> id = schema->Find(name);
      if (!id) {
        const bool number = n == &kUniquePid || n == &kUniquePpid || n == &kPid || n == &kPpid;
        auto interned = schema->Intern(
            name, number ? schema::FieldType::kLong : schema::FieldType::kKeyword, false);
        if (interned.ok()) id = *interned;
      }
      if (id) ids.push_back(*id);
    }
  }
  return ids;
}

// FieldIds of kAll (in order) in this schema; nullopt until a field is interned.
struct EventProcessReader::FieldIds {
  std::optional<schema::FieldId> ecs[kFieldCount];
  std::optional<schema::FieldId> endgame[kFieldCount];
  std::optional<schema::CategoryId> process;
};

EventProcessReader::EventProcessReader(const schema::Schema* schema)
    : schema_(schema), ids_(std::make_unique<FieldIds>()) {}
EventProcessReader::~EventProcessReader() = default;

void EventProcessReader::Resolve() {
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (kAll[i]->ecs != nullptr) ids_->ecs[i] = schema_->Find(kAll[i]->ecs);
    if (kAll[i]->endgame != nullptr) ids_->endgame[i] = schema_->Find(kAll[i]->endgame);
  }
  ids_->process = schema_->FindCategory("process");
  resolved_fields_ = schema_->field_count();
  slot_of_.assign(resolved_fields_ + 1, 0);
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (ids_->ecs[i] && ids_->ecs[i]->value < slot_of_.size()) {
      slot_of_[ids_->ecs[i]->value] = static_cast<uint8_t>(1 + i);
    }
    if (ids_->endgame[i] && ids_->endgame[i]->value < slot_of_.size()) {
      slot_of_[ids_->endgame[i]->value] = static_cast<uint8_t>(1 + kFieldCount + i);
    }
  }
}

Index::Index(schema::Schema* schema, IndexLimits limits)
    : schema_(schema), limits_(limits), reader_(schema) {
  events_.reserve(std::min<uint64_t>(limits_.max_events, 1 << 20));
}

void Index::Cut(std::string* s) const {
  if (s->size() > limits_.max_string) *s = CutText(*s, limits_.max_string);
}

uint32_t Index::NodeFor(const ProcessFields& f, int64_t time_ns, bool describes) {
  thread_local std::string key, parent;
  ProcessKeyOf(f, &key);
  if (key.empty()) return kNone;
  auto it = by_key_.find(key);
  // Most events name a process already described by a process event: nothing to update (the
  // first description wins; later ones only fill what it lacked).
  if (it != by_key_.end() && processes_[it->second].complete) {
    ProcessNode& n = processes_[it->second];
    if (time_ns < n.first_ns) n.first_ns = time_ns;
    return it->second;
  }
  uint32_t index;
  if (it == by_key_.end()) {
    if (processes_.size() >= limits_.max_processes) {
      ++counters_.processes_dropped;
      return kNone;
    }
    index = static_cast<uint32_t>(processes_.size());
    processes_.emplace_back();
    ProcessNode& n = processes_.back();
    n.key = key;
    Cut(&n.key);
    n.first_ns = time_ns;
    by_key_.emplace(n.key, index);
  } else {
    index = it->second;
  }
  ProcessNode& n = processes_[index];
  if (time_ns < n.first_ns) n.first_ns = time_ns;
  const bool fill = !n.seen_start;
  auto set = [&](std::string* field, std::string_view v) {
    if (!v.empty() && (fill || field->empty()) && *field != v) {
      *field = CutText(v, limits_.max_string);
    }
  };
  set(&n.entity_id, f.entity_id);
  set(&n.host, f.host);
  set(&n.start, f.start);
  {
    set(&n.name, f.name);
    set(&n.executable, f.executable);
    set(&n.command_line, f.command_line);
    set(&n.user, f.user);
  }
  if (f.pid && (fill || n.pid < 0)) n.pid = *f.pid;
  if (f.ppid && (fill || n.ppid < 0)) n.ppid = *f.ppid;
  ParentKeyOf(f, &parent);
  bool new_parent = false;
  if (!parent.empty() && (fill || n.parent_key.empty()) && n.parent_key != parent) {
    n.parent_key = CutText(parent, 4096);
    new_parent = true;
  }
  if (describes) n.seen_start = true;
  n.complete = n.seen_start && !n.name.empty() && !n.executable.empty() &&
               !n.command_line.empty() && !n.user.empty() && n.pid >= 0 &&
               (!n.parent_key.empty() || n.ppid >= 0);
  // A parent named by entity id but not seen: a node of its own, named as the child says.
  if (new_parent && !by_key_.contains(parent) && processes_.size() < limits_.max_processes) {
    ProcessNode p;
    p.key = CutText(parent, 4096);
    p.host = std::string(f.host);
    p.name = CutText(f.parent_name, limits_.max_string);
    if (f.ppid) p.pid = *f.ppid;
    p.first_ns = time_ns;
    by_key_.emplace(p.key, static_cast<uint32_t>(processes_.size()));
    processes_.push_back(std::move(p));
  }
  return index;
}

void EventProcessReader::Read(const event::Event& e, ProcessFields* out, bool* is_process) {
  if (schema_->field_count() != resolved_fields_ || !ids_->process) Resolve();
  ProcessFields& f = *out;
  // One pass over the event's fields (no lookup per name): ECS values win over Endgame's.
  const event::Value* found[2 * kFieldCount] = {};
  // (ForEachField: a live event's relatives are shared blocks, not its own entries.)
  e.ForEachField([&](const event::Event::Entry& entry) {
    if (entry.id.value >= slot_of_.size()) return;
    uint8_t slot = slot_of_[entry.id.value];
    if (slot != 0 && !entry.value.is_null()) found[slot - 1] = &entry.value;
  });
  auto find = [&](size_t i) -> const event::Value* {
    return found[i] != nullptr ? found[i] : found[kFieldCount + i];
  };
  auto text = [&](size_t i) -> std::string_view {
    const event::Value* v = find(i);
    return v != nullptr && v->kind() == event::ValueKind::kString ? v->as_string()
                                                                  : std::string_view();
  };
  auto integer = [&](size_t i) -> std::optional<int64_t> {
    const event::Value* v = find(i);
    if (v == nullptr) return std::nullopt;
    if (v->kind() == event::ValueKind::kInt) return v->as_int();
    if (v->kind() == event::ValueKind::kDouble) {
      double d = v->as_double();  // a pid as a number with a fraction: in range, or none
      if (d >= -9.0e18 && d <= 9.0e18) return static_cast<int64_t>(d);
    }
    return std::nullopt;
  };
  f.entity_id = text(0);
  f.parent_entity_id = text(1);
  f.unique_pid = integer(2);
  f.unique_ppid = integer(3);
  f.pid = integer(4);
  f.ppid = integer(5);
  f.host = text(6);
  f.start = {};
  if (const event::Value* start = find(7); start != nullptr) {
    if (start->kind() == event::ValueKind::kString) {
      f.start = start->as_string();
    } else if (start->kind() == event::ValueKind::kInt) {
      f.start_text = std::to_string(start->as_int());
      f.start = f.start_text;
    }
  }
  f.name = text(8);
  f.executable = text(9);
  f.command_line = text(10);
  f.user = text(11);
  f.parent_name = text(12);
  *is_process = ids_->process && e.InCategory(*ids_->process);
}

void Index::AddEvent(const event::Event& e, uint16_t input, uint64_t ordinal) {
  ++counters_.events_seen;
  thread_local ProcessFields f;
  bool is_process = false;
  reader_.Read(e, &f, &is_process);
  uint32_t node = NodeFor(f, e.time_ns(), is_process);
  if (node != kNone) ++processes_[node].events;
  if (events_.size() >= limits_.max_events) {
    ++counters_.events_dropped;
    return;
  }
  events_.push_back(EventRecord{e.time_ns(), node, e.primary_category(), input, ordinal});
}

void Index::Finish() {
  if (!std::is_sorted(
          events_.begin(), events_.end(),
          [](const EventRecord& a, const EventRecord& b) { return a.time_ns < b.time_ns; }))
    std::stable_sort(
        events_.begin(), events_.end(),
        [](const EventRecord& a, const EventRecord& b) { return a.time_ns < b.time_ns; });
  // Parents named by key; else by (host, pid): the latest process of that pid first seen
  // before the child.
  std::unordered_map<std::string, std::vector<uint32_t>> by_pid;
  for (uint32_t i = 0; i < processes_.size(); ++i) {
    const ProcessNode& n = processes_[i];
    if (n.pid >= 0) by_pid[n.host + ":" + std::to_string(n.pid)].push_back(i);
  }
  for (auto& [_, v] : by_pid) {
    std::sort(v.begin(), v.end(), [&](uint32_t a, uint32_t b) {
      return processes_[a].first_ns < processes_[b].first_ns;
    });
  }
  for (uint32_t i = 0; i < processes_.size(); ++i) {
    ProcessNode& n = processes_[i];
    n.parent = -1;
    if (!n.parent_key.empty()) {
      auto it = by_key_.find(n.parent_key);
      if (it != by_key_.end() && it->second != i) n.parent = it->second;
    } else if (n.ppid >= 0) {
      auto it = by_pid.find(n.host + ":" + std::to_string(n.ppid));
      if (it != by_pid.end()) {
        for (uint32_t c : it->second) {
          if (c != i && processes_[c].first_ns <= n.first_ns) n.parent = c;
        }
      }
    }
  }
  // No cycles: a parent chain that comes back to a node is cut there.
  for (uint32_t i = 0; i < processes_.size(); ++i) {
    int64_t at = processes_[i].parent;
    for (int steps = 0; at >= 0 && steps < 4096; ++steps) {
      if (at == i) {
        processes_[i].parent = -1;
        break;
      }
      at = processes_[at].parent;
    }
  }
  for (uint32_t i = 0; i < processes_.size(); ++i) {
    if (processes_[i].parent >= 0) processes_[processes_[i].parent].children.push_back(i);
  }
  counters_.events_held = events_.size();
  counters_.processes = processes_.size();
  finished_ = true;
}

IndexCounters Index::counters() const {
  std::shared_lock lock(alerts_mu_);
  IndexCounters c = counters_;
  c.alerts = alerts_.size();
  return c;
}

std::optional<uint32_t> Index::FindProcess(std::string_view key) const {
  auto it = by_key_.find(absl::string_view(key.data(), key.size()));
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

bool Index::AppendAlertLine(std::string_view line, uint32_t file, uint64_t line_no) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return true;
  // Parsed outside the lock: readers wait only for the append. (Process nodes are added only
  // before Finish(), when there are no readers.)
  auto malformed = [&] {
    std::unique_lock lock(alerts_mu_);
    ++counters_.alerts_malformed;
    return false;
  };
  if (line.size() > limits_.max_alert_line) return malformed();
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_string() ||
      !j.contains("rule_id") || !j["rule_id"].is_string()) {
    return malformed();
  }
  auto full = [&] {
    if (alerts_.size() < limits_.max_alerts) return false;
    ++counters_.alerts_dropped;
    return true;
  };
  {
    std::unique_lock lock(alerts_mu_);
    if (full()) return false;
  }
  AlertEntry a;
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  a.id = CutText(str("id"), 128);
  a.rule_id = CutText(str("rule_id"), 1024);
  a.rule_name = CutText(str("rule_name"), 1024);
  a.severity = CutText(str("severity"), 64);
  a.title = CutText(str("title"), 1024);
  a.message = CutText(str("message"), 2048);
  if (auto t = j.find("timestamp_ns"); t != j.end() && t->is_number_integer()) {
    a.time_ns = t->get<int64_t>();
  }
  if (auto h = JsonPath(j, "host.name"); h != nullptr && h->is_string()) {
    a.host = CutText(h->get<std::string>(), 1024);
  }
  if (auto threat = JsonPath(j, "rule.threat"); threat != nullptr && threat->is_array()) {
    for (const auto& t : *threat) {
      const nlohmann::json* name = JsonPath(t, "tactic.name");
      if (name != nullptr && name->is_string() && a.tactics.size() < 16) {
        a.tactics.push_back(CutText(name->get<std::string>(), 256));
      }
    }
  }
  std::string key;
  if (auto events = j.find("events"); events != j.end() && events->is_array()) {
    for (const auto& ev : *events) {
      auto fields = ev.find("fields");
      if (fields == ev.end() || !fields->is_object()) continue;
      ProcessFields f = ProcessFieldsOfJson(*fields);
      if (a.host.empty()) f.host = JsonText(*fields, kHost);
      ProcessKeyOf(f, &key);
      if (key.empty()) continue;
      if (a.host.empty() && !f.host.empty()) a.host = std::string(f.host);
      if (!Contains(a.evidence, key)) a.evidence.push_back(key);
      // Evidence the logs do not hold: a node from the alert itself (also when tailing).
      if (!finished_ && !by_key_.contains(key) && processes_.size() < limits_.max_processes) {
        ProcessNode n;
        n.key = key;
        n.entity_id = std::string(f.entity_id);
        n.host = std::string(f.host);
        n.name = CutText(f.name, limits_.max_string);
        n.executable = CutText(f.executable, limits_.max_string);
        n.command_line = CutText(f.command_line, limits_.max_string);
        n.user = CutText(f.user, limits_.max_string);
        if (f.pid) n.pid = *f.pid;
        if (f.ppid) n.ppid = *f.ppid;
        if (auto t = ev.find("timestamp_ns"); t != ev.end() && t->is_number_integer()) {
          n.first_ns = t->get<int64_t>();
        }
        ParentKeyOf(f, &n.parent_key);
        by_key_.emplace(key, static_cast<uint32_t>(processes_.size()));
        processes_.push_back(std::move(n));
      }
    }
  }
  a.file = file;
  a.line = line_no;
  a.raw = std::string(line);
  std::unique_lock lock(alerts_mu_);
  if (full()) return false;
  a.seq = ++alert_seq_;
  alert_by_id_.emplace(a.id, alerts_.size());
  alerts_.push_back(std::move(a));
  return true;
}

std::optional<AlertEntry> Index::FindAlert(std::string_view id) const {
  std::shared_lock lock(alerts_mu_);
  auto it = alert_by_id_.find(std::string(id));
  if (it == alert_by_id_.end()) return std::nullopt;
  return alerts_[it->second];
}

std::vector<AlertEntry> Index::AlertsAfter(uint64_t seq, size_t max, uint64_t* newest) const {
  std::shared_lock lock(alerts_mu_);
  std::vector<AlertEntry> out;
  *newest = alert_seq_;
  // seq is 1-based and dense: alert `seq + 1` is at index seq.
  for (size_t i = seq; i < alerts_.size() && out.size() < max; ++i) out.push_back(alerts_[i]);
  if (!out.empty()) *newest = out.back().seq;
  return out;
}

nlohmann::json AlertSummaryJson(const AlertEntry& a) {
  return nlohmann::json{{"id", a.id},
                        {"rule_id", a.rule_id},
                        {"rule_name", a.rule_name},
                        {"severity", a.severity},
                        {"title", a.title},
                        {"message", a.message},
                        {"host", a.host},
                        {"tactics", a.tactics},
                        {"timestamp_ns", a.time_ns},
                        {"evidence", a.evidence},
                        {"file", a.file},
                        {"line", a.line}};
}

nlohmann::json Index::AlertsJson(const AlertFilter& filter, int buckets) const {
  std::shared_lock lock(alerts_mu_);
  std::vector<const AlertEntry*> kept;
  for (const AlertEntry& a : alerts_) {
    if (!filter.rule.empty() && a.rule_id != filter.rule) continue;
    if (!filter.severity.empty() && a.severity != filter.severity) continue;
    if (!filter.host.empty() && a.host != filter.host) continue;
    if (!filter.tactic.empty() && !Contains(a.tactics, filter.tactic)) continue;
    if (a.time_ns < filter.from_ns || a.time_ns >= filter.to_ns) continue;
    kept.push_back(&a);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const AlertEntry* a, const AlertEntry* b) {
    return a->time_ns > b->time_ns;
  });
  nlohmann::json out;
  out["total"] = kept.size();
  out["alerts"] = nlohmann::json::array();
  for (size_t i = 0; i < kept.size() && i < filter.limit; ++i) {
    out["alerts"].push_back(AlertSummaryJson(*kept[i]));
  }
  // Counts per rule over `buckets` equal spans of the kept alerts' time range.
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const AlertEntry* a : kept) {
    lo = std::min(lo, a->time_ns);
    hi = std::max(hi, a->time_ns);
  }
  buckets = std::clamp(buckets, 1, 200);
  nlohmann::json hist{{"buckets", buckets},
                      {"from_ns", kept.empty() ? 0 : lo},
                      {"to_ns", kept.empty() ? 0 : (hi == INT64_MAX ? hi : hi + 1)}};
  std::map<std::string, std::vector<uint64_t>> per_rule;
  if (!kept.empty()) {
    const double span = static_cast<double>(hi) - static_cast<double>(lo) + 1;
    for (const AlertEntry* a : kept) {
      auto& counts = per_rule[a->rule_id];
      counts.resize(buckets);
      size_t b = static_cast<size_t>((static_cast<double>(a->time_ns) - lo) / span * buckets);
      ++counts[std::min<size_t>(b, buckets - 1)];
    }
  }
  hist["rules"] = nlohmann::json::array();
  for (const auto& [rule, counts] : per_rule) {
    uint64_t total = 0;
    for (uint64_t c : counts) total += c;
    hist["rules"].push_back({{"rule_id", rule}, {"total", total}, {"counts", counts}});
  }
  out["histogram"] = std::move(hist);
  // The values the filters may take (for the view's selects).
  std::map<std::string, int> rules, severities, hosts, tactics;
  for (const AlertEntry& a : alerts_) {
    ++rules[a.rule_id];
    ++severities[a.severity];
    if (!a.host.empty()) ++hosts[a.host];
    for (const std::string& t : a.tactics) ++tactics[t];
  }
  auto keys = [](const std::map<std::string, int>& m) {
    nlohmann::json v = nlohmann::json::array();
    for (const auto& [k, _] : m) {
      if (v.size() < 1000) v.push_back(k);
    }
    return v;
  };
  out["values"] = {{"rule", keys(rules)},
                   {"severity", keys(severities)},
                   {"host", keys(hosts)},
                   {"tactic", keys(tactics)}};
  return out;
}

nlohmann::json Index::NodeJson(uint32_t index) const {
  const ProcessNode& n = processes_[index];
  nlohmann::json j{{"key", n.key},
                   {"entity_id", n.entity_id},
                   {"name", n.name},
                   {"user", n.user},
                   {"host", n.host},
                   {"executable", n.executable},
                   {"command_line", n.command_line},
                   {"start", n.start},
                   {"first_ns", n.first_ns},
                   {"events", n.events},
                   {"children_total", n.children.size()}};
  j["pid"] = n.pid >= 0 ? nlohmann::json(n.pid) : nlohmann::json();
  j["ppid"] = n.ppid >= 0 ? nlohmann::json(n.ppid) : nlohmann::json();
  j["parent"] = n.parent >= 0 ? nlohmann::json(processes_[n.parent].key) : nlohmann::json();
  return j;
}

std::optional<nlohmann::json> Index::TreeJson(std::string_view key, int depth, int width,
                                              const std::vector<std::string>& evidence) const {
  auto found = FindProcess(key);
  if (!found) return std::nullopt;
  depth = std::clamp(depth, 0, 64);
  width = std::clamp(width, 1, 1000);
  std::unordered_set<uint32_t> marked;
  for (const std::string& k : evidence) {
    if (auto e = FindProcess(k)) marked.insert(*e);
  }
  // Ancestors, nearest first.
  nlohmann::json ancestors = nlohmann::json::array();
  int64_t at = processes_[*found].parent;
  for (int d = 0; at >= 0 && d < depth; ++d) {
    nlohmann::json node = NodeJson(static_cast<uint32_t>(at));
    node["evidence"] = marked.contains(static_cast<uint32_t>(at));
    ancestors.push_back(std::move(node));
    at = processes_[at].parent;
  }
  // Descendants, breadth-bounded: at most `width` children a node, at most 5,000 nodes in all.
  size_t budget = 5000;
  std::function<nlohmann::json(uint32_t, int)> down = [&](uint32_t i, int level) {
    nlohmann::json node = NodeJson(i);
    node["evidence"] = marked.contains(i);
    nlohmann::json children = nlohmann::json::array();
    const ProcessNode& n = processes_[i];
    size_t shown = 0;
    if (level < depth) {
      // Evidence children first, then by first appearance.
      std::vector<uint32_t> order = n.children;
      std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        bool ea = marked.contains(a), eb = marked.contains(b);
        if (ea != eb) return ea;
        return processes_[a].first_ns < processes_[b].first_ns;
      });
      for (uint32_t c : order) {
        if (shown >= static_cast<size_t>(width) || budget == 0) break;
        --budget;
        ++shown;
        children.push_back(down(c, level + 1));
      }
    }
    node["children"] = std::move(children);
    node["children_hidden"] = n.children.size() - shown;
    return node;
  };
  nlohmann::json out;
  out["root"] = down(*found, 0);
  out["ancestors"] = std::move(ancestors);
  out["depth"] = depth;
  out["width"] = width;
  return out;
}

std::vector<int64_t> Index::EventTimesOf(const std::vector<uint32_t>& processes, int64_t from_ns,
                                         int64_t to_ns, size_t max) const {
  std::unordered_set<uint32_t> wanted(processes.begin(), processes.end());
  auto lo = std::lower_bound(events_.begin(), events_.end(), from_ns,
                             [](const EventRecord& r, int64_t t) { return r.time_ns < t; });
  auto hi = std::lower_bound(events_.begin(), events_.end(), to_ns,
                             [](const EventRecord& r, int64_t t) { return r.time_ns < t; });
  std::vector<int64_t> out;
  for (auto it = hi; it != lo && out.size() < max;) {
    --it;
    if (wanted.contains(it->process)) out.push_back(it->time_ns);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace kestrel::ui
