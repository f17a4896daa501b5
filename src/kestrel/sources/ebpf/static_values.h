// Values whose bytes live as long as the program (event::Value::StaticString / StaticArray), so
// that the copies of a live event (a bus queue slot, the evidence a sequence keeps) borrow them
// instead of copying them: each kind's event.category and event.type values (the declaration,
// emitted.h, is static data), the capability-name arrays of the masks met (a root process has
// all 41: 82 names on each of its process events), and host.* / agent.* strings.
//
// Bounds: at most kMaxStaticCapabilitySets masks and kMaxRetainedBytes of retained strings over
// the program's life; past them the functions say so and the caller copies into each event.
// Thread safety: all functions may be called from any thread (a mutex each).
// Tested by static_values_test.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kestrel/event/value.h"
#include "kestrel/sources/ebpf/emitted.h"

namespace kestrel::sources::ebpf {

struct KindValues {
  event::Value category;              // a StaticArray of the one category
  std::array<event::Value, 4> types;  // StaticStrings
  size_t type_count = 0;
};

// The event.category and event.type values of `id` (REQUIRES: id < kCount).
const KindValues& StaticKindValues(EmittedKindId id);

inline constexpr size_t kMaxStaticCapabilitySets = 64;

// The capability names of `mask` (lowest bit first) as a StaticArray of StaticStrings, or Null
// when kMaxStaticCapabilitySets other masks are already kept.
event::Value StaticCapabilityArray(uint64_t mask);

inline constexpr size_t kMaxRetainedBytes = size_t{1} << 20;
inline constexpr size_t kMaxRetainedStrings = 4096;

// `s` in storage never freed (the same bytes for equal strings), or nullopt once
// kMaxRetainedBytes or kMaxRetainedStrings are used. For values repeated on every event that
// change rarely (host identity); never for per-event data.
std::optional<std::string_view> RetainForever(std::string_view s);

}  // namespace kestrel::sources::ebpf
