// The shared Endgame workload (../shared/bench/endgame-workload), decoded once per benchmark
// process: `gen_events.py --n N --seed 1`, cached in /tmp, read with the Endgame time field
// (FILETIME `timestamp`). N comes from KESTREL_WORKLOAD_EVENTS (default 200000).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kestrel/sources/ndjson/ndjson_source.h"

namespace kestrel::bench {

inline const std::string kWorkloadDir =
    std::string(KESTREL_SHARED_DIR) + "/bench/endgame-workload/";

struct EndgameWorkload {
  schema::Schema schema;
  std::vector<event::Event> events;  // empty when the generator could not run
  std::string ndjson_path;
  uint64_t ndjson_bytes = 0;
};

inline size_t WorkloadEvents() {
  const char* n = std::getenv("KESTREL_WORKLOAD_EVENTS");
  return n != nullptr ? std::strtoul(n, nullptr, 10) : 200000;
}

inline EndgameWorkload* LoadEndgameWorkload() {
  static EndgameWorkload* w = [] {
    auto* w = new EndgameWorkload();
    size_t n = WorkloadEvents();
    w->ndjson_path = fmt::format("/tmp/kestrel_endgame_workload_{}.ndjson", n);
    if (!std::filesystem::exists(w->ndjson_path)) {
      std::string cmd = fmt::format("python3 {}gen_events.py --n {} --seed 1 -o {} >/dev/null",
                                    kWorkloadDir, n, w->ndjson_path);
      if (std::system(cmd.c_str()) != 0) return w;
    }
    w->ndjson_bytes = std::filesystem::file_size(w->ndjson_path);
    sources::NdjsonOptions options;
    options.path = w->ndjson_path;
    options.decoder.time_field = "timestamp";
    options.decoder.time_format = event::TimeFormat::kFiletime;
    auto source = sources::NdjsonSource::Open(&w->schema, options, nullptr);
    if (!source.ok()) return w;
    event::Event e;
    while (true) {
      auto more = (*source)->Next(&e);
      if (!more.ok() || !*more) break;
      w->events.push_back(e);
    }
    return w;
  }();
  return w;
}

}  // namespace kestrel::bench
