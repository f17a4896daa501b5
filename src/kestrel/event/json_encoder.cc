// Event -> nested JSON; see json_encoder.h.
//
// Algorithm: sort the field names with '.' ordered before every other byte, so each object's
// members are contiguous; split every name into path segments (a segment stops splitting after a
// prefix that is itself a field); then walk the sorted list keeping a stack of open objects,
// closing those that the next name does not share and opening the ones it adds.
// Tested by json_encoder_test.cc.
#include "kestrel/event/json_encoder.h"

#include <algorithm>
#include <vector>

#include "kestrel/base/string_map.h"
#include "kestrel/base/time.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::event {
namespace {

bool DotFirstLess(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i] == '.' ? 0 : static_cast<unsigned char>(a[i]) + 1;
    unsigned char y = b[i] == '.' ? 0 : static_cast<unsigned char>(b[i]) + 1;
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

struct Item {
  std::string_view name;
  const Value* value;
  std::vector<std::string_view> segments;
};

}  // namespace

std::string FormatEventTimestamp(int64_t unix_ns) {
  int64_t frac = unix_ns % 1'000'000'000;
  int digits = frac % 1'000'000 == 0 ? 3 : frac % 1'000 == 0 ? 6 : 9;
  return base::FormatTimestamp(unix_ns, digits);
}

void AppendEventJson(const Event& event, const schema::Schema& schema, std::string* out) {
  AppendEventJson(event, schema, out, EventJsonOptions{});
}

void AppendEventJson(const Event& event, const schema::Schema& schema, std::string* out,
                     const EventJsonOptions& options) {
  std::vector<Item> items;
  items.reserve(event.field_count() + 1);
  base::StringViewSet leaves;
  event.ForEachField([&](const Event::Entry& e) {
    if (!e.id.valid()) return;
    std::string_view name = schema.Info(e.id).name;
    items.push_back(Item{name, &e.value, {}});
    leaves.insert(name);
  });
  constexpr std::string_view kTimestamp = "@timestamp";
  std::string timestamp;
  Value timestamp_value;
  if (options.add_timestamp && !leaves.contains(kTimestamp)) {
    timestamp = FormatEventTimestamp(event.wall_ns());
    timestamp_value = Value::String(timestamp);
    items.push_back(Item{kTimestamp, &timestamp_value, {}});
    leaves.insert(kTimestamp);
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return DotFirstLess(a.name, b.name); });
  for (Item& item : items) {
    size_t start = 0;
    while (true) {
      size_t dot = item.name.find('.', start);
      // Stop splitting at the end, or when the prefix so far is itself a field.
      if (dot == std::string_view::npos || leaves.contains(item.name.substr(0, dot))) {
        item.segments.push_back(item.name.substr(start));
        break;
      }
      item.segments.push_back(item.name.substr(start, dot - start));
      start = dot + 1;
    }
  }

  std::vector<std::string_view> open;  // names of the objects currently open below the root
  std::vector<bool> first_member{true};
  out->push_back('{');
  for (const Item& item : items) {
    size_t common = 0;
    size_t parents = item.segments.size() - 1;
    while (common < open.size() && common < parents && open[common] == item.segments[common]) {
      ++common;
    }
    while (open.size() > common) {
      out->push_back('}');
      open.pop_back();
      first_member.pop_back();
    }
    for (size_t i = common; i < parents; ++i) {
      if (!first_member.back()) out->push_back(',');
      first_member.back() = false;
      AppendJsonString(out, item.segments[i]);
      out->append(":{");
      open.push_back(item.segments[i]);
      first_member.push_back(true);
    }
    if (!first_member.back()) out->push_back(',');
    first_member.back() = false;
    AppendJsonString(out, item.segments.back());
    out->push_back(':');
    AppendJsonValue(out, *item.value);
  }
  for (size_t i = 0; i < open.size(); ++i) out->push_back('}');
  out->push_back('}');
}

}  // namespace kestrel::event
