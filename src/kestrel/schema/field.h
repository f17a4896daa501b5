// FieldId, FieldType and the compiled-in ECS catalogue.
//
// A FieldId is a dense small integer naming one event field. Catalogue fields have fixed ids
// (their row in ecs_fields.inc) that code can name at compile time:
//     constexpr FieldId kName = ecs::Field("process.name");
// a name not in the catalogue is a compile error there. Fields met at run time get dynamic ids
// above the catalogue's (Schema::Intern). Names are resolved to ids only while compiling rules
// and decoding input, never while evaluating them.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace kestrel::schema {

struct FieldId {
  uint32_t value = UINT32_MAX;

  constexpr bool valid() const { return value != UINT32_MAX; }
  friend constexpr auto operator<=>(FieldId, FieldId) = default;
  template <typename H>
  friend H AbslHashValue(H h, FieldId id) {
    return H::combine(std::move(h), id.value);
  }
};

// Element type of a field (ECS "type"); arrays are FieldInfo::is_array.
enum class FieldType : uint8_t {
  kKeyword,   // string compared as is
  kLong,      // signed 64-bit integer
  kUnsigned,  // unsigned 64-bit integer
  kDouble,    // 64-bit float
  kBoolean,
  kIp,    // IPv4 or IPv6 address
  kDate,  // RFC 3339 string (kept as text; event time has its own clocks)
};

std::string_view FieldTypeName(FieldType type);

struct CatalogueEntry {
  std::string_view name;
  FieldType type;
  bool is_array;
};

inline constexpr CatalogueEntry kEcsCatalogue[] = {
#include "kestrel/schema/ecs_fields.inc"
};
inline constexpr size_t kEcsCatalogueSize = std::size(kEcsCatalogue);

namespace ecs {

// The FieldId of catalogue field `name`; a compile error when `name` is not in the catalogue.
consteval FieldId Field(std::string_view name) {
  for (size_t i = 0; i < kEcsCatalogueSize; ++i) {
    if (kEcsCatalogue[i].name == name) return FieldId{static_cast<uint32_t>(i)};
  }
  throw "not an ECS catalogue field";  // makes the consteval call ill-formed
}

inline constexpr FieldId kTimestamp = Field("@timestamp");
inline constexpr FieldId kEventCategory = Field("event.category");
inline constexpr FieldId kEventType = Field("event.type");
inline constexpr FieldId kEventAction = Field("event.action");

}  // namespace ecs
}  // namespace kestrel::schema

template <>
struct std::hash<kestrel::schema::FieldId> {
  size_t operator()(kestrel::schema::FieldId id) const noexcept { return id.value; }
};
