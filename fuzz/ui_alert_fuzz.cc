// Fuzz target for `kestrel ui`'s readers of untrusted text (ui/index.h, ui/server.h): an alert
// line of an --alerts file (Index::AppendAlertLine: the JSON, its evidence's process fields, the
// filters and the tree built from it) and the attached instance's /metrics text (ParseMetrics).
// Any crash, sanitizer report, hang or memory blow-up is a bug: a bad line is counted as
// malformed, bad metrics give empty figures. The first byte picks the reader.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kestrel/schema/schema.h"
#include "kestrel/ui/index.h"
#include "kestrel/ui/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    (void)kestrel::ui::ParseMetrics(text).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace);
    return 0;
  }
  kestrel::schema::Schema schema;
  kestrel::ui::Index index(&schema);
  // Several lines: alerts may name each other's processes.
  uint64_t line = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    index.AppendAlertLine(text.substr(0, nl), 0, ++line);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  index.Finish();
  (void)index.AlertsJson(kestrel::ui::AlertFilter{}, 24)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  uint64_t newest = 0;
  for (const kestrel::ui::AlertEntry& a : index.AlertsAfter(0, 16, &newest)) {
    for (const std::string& key : a.evidence) {
      auto tree = index.TreeJson(key, 8, 50, a.evidence);
      if (tree) (void)tree->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return 0;
}
