// Static event values; see static_values.h.
#include "kestrel/sources/ebpf/static_values.h"

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kestrel/sources/ebpf/process_identity.h"

namespace kestrel::sources::ebpf {

using event::Value;

const KindValues& StaticKindValues(EmittedKindId id) {
  constexpr size_t kKinds = static_cast<size_t>(EmittedKindId::kCount);
  // Built once, never freed (events may outlive any decoder).
  static const auto* table = [] {
    auto* t = new std::array<KindValues, kKinds>();
    auto* categories = new std::array<Value, kKinds>();
    for (const EmittedKind& k : kEmittedKinds) {
      const size_t i = static_cast<size_t>(k.id);
      KindValues& v = (*t)[i];
      (*categories)[i] = Value::StaticString(k.category);
      v.category = Value::StaticArray(std::span<const Value>(&(*categories)[i], 1));
      v.type_count = std::min(k.types.size(), v.types.size());
      for (size_t j = 0; j < v.type_count; ++j) v.types[j] = Value::StaticString(k.types[j]);
    }
    return t;
  }();
  return (*table)[static_cast<size_t>(id)];
}

Value StaticCapabilityArray(uint64_t mask) {
  static std::mutex mu;
  static auto* cache = new absl::flat_hash_map<uint64_t, std::vector<Value>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(mask);
  if (it == cache->end()) {
    if (cache->size() >= kMaxStaticCapabilitySets) return Value::Null();
    std::vector<Value> names;
    CapabilityNames(mask, &names);  // the names are static strings (a constant table)
    for (Value& n : names) n = Value::StaticString(n.as_string());
    // Never erased, and a vector moved into the map keeps its buffer: the storage is stable.
    it = cache->emplace(mask, std::move(names)).first;
  }
  return Value::StaticArray(it->second);
}

std::optional<std::string_view> RetainForever(std::string_view s) {
  static std::mutex mu;
  static auto* store = new std::deque<std::string>();  // a deque's elements never move
  static size_t bytes = 0;
  std::lock_guard<std::mutex> lock(mu);
  for (const std::string& kept : *store) {
    if (kept == s) return std::string_view(kept);
  }
  if (bytes + s.size() > kMaxRetainedBytes || store->size() >= kMaxRetainedStrings) {
    return std::nullopt;
  }
  bytes += s.size();
  return std::string_view(store->emplace_back(s));
}

}  // namespace kestrel::sources::ebpf
