// FlightRecorder; see flight_recorder.h.
#include "kestrel/actions/flight_recorder.h"

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/base/string_map.h"

namespace kestrel::actions {

FlightRecorder::FlightRecorder(schema::Schema& schema, const FlightRecorderOptions& options,
                               const log::LogMetadata& metadata)
    : schema_(schema),
      options_(options),
      metadata_(metadata),
      keys_(schema, eql::Dialect::kElasticsearch) {
  options_.max_events_per_host = std::max<size_t>(options_.max_events_per_host, 1);
  for (const char* name : {"host.name", "hostname"}) {
    auto id = schema.Intern(name, schema::FieldType::kKeyword, false);
    host_fields_.push_back(id.ok() ? *id : schema::FieldId{});
  }
}

FlightRecorder::~FlightRecorder() = default;

std::string_view FlightRecorder::Host(const event::Event& e) const {
  for (schema::FieldId id : host_fields_) {
    const event::Value* v = id.valid() ? e.Find(id) : nullptr;
    if (v != nullptr && v->kind() == event::ValueKind::kString) return v->as_string();
  }
  return {};
}

FlightRecorder::Ring& FlightRecorder::RingFor(const event::Event& e) {
  std::string_view host = Host(e);
  auto it = host_ring_.find(host);
  if (it != host_ring_.end()) return *rings_[it->second];
  if (rings_.size() < kMaxHosts) {
    host_ring_.emplace(std::string(host), rings_.size());
    rings_.push_back(std::make_unique<Ring>());
    return *rings_.back();
  }
  return *rings_.back();  // past the host budget, the last ring is shared
}

void FlightRecorder::Observe(const event::Event& e) {
  Ring& ring = RingFor(e);
  size_t capacity = options_.max_events_per_host;
  // Forget what the window no longer reaches.
  while (ring.size > 0 && e.time_ns() - ring.slots[ring.start].time_ns() > options_.window_ns) {
    ring.start = (ring.start + 1) % capacity;
    --ring.size;
  }
  if (ring.slots.size() < capacity && ring.size == ring.slots.size() && ring.start == 0) {
    ring.slots.push_back(e);
    ++ring.size;
    return;
  }
  if (ring.slots.size() < capacity) ring.slots.resize(capacity);
  size_t at = (ring.start + ring.size) % capacity;
  ring.slots[at] = e;  // reuses the slot's buffers
  if (ring.size == capacity) {
    ring.start = (ring.start + 1) % capacity;
  } else {
    ++ring.size;
  }
}

absl::StatusOr<std::string> FlightRecorder::Dump(const engine::Alert& alert) {
  base::StringSet entities, hosts;
  for (const auto& e : alert.events) {
    std::string self = Entity(*e, false);
    if (!self.empty()) entities.insert(self);
    hosts.insert(std::string(Host(*e)));
  }
  (void)base::CreatePrivateDirectories(options_.directory);  // the writer says why it fails
  std::string path = (std::filesystem::path(options_.directory) / (alert.id + ".klog")).string();
  log::WriterOptions writer_options;
  writer_options.fsync = log::FsyncPolicy::kOnClose;
  auto writer = log::LogWriter::Create(path, schema_, metadata_, writer_options);
  if (!writer.ok()) return writer.status();
  int64_t until = alert.events.empty() ? alert.timestamp_ns : alert.events.back()->time_ns();
  int64_t from = until - options_.window_ns;
  for (const std::string& host : hosts) {
    auto it = host_ring_.find(host);
    if (it == host_ring_.end()) continue;
    const Ring& ring = *rings_[it->second];
    for (size_t i = 0; i < ring.size; ++i) {
      const event::Event& e = ring.slots[(ring.start + i) % ring.slots.size()];
      if (e.time_ns() < from || e.time_ns() > until) continue;
      if (!entities.contains(Entity(e, false)) && !entities.contains(Entity(e, true))) continue;
      if (absl::Status s = (*writer)->Append(e); !s.ok()) return s;
    }
  }
  if (absl::Status s = (*writer)->Close(); !s.ok()) return s;
  ++recordings_;
  return path;
}

}  // namespace kestrel::actions
