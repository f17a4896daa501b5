// NDJSON -> Event throughput on ~300-byte ECS process events (issue 2's target: >= 2,000,000
// events/s on one core).
//
//   BM_DecodeLine     JsonDecoder::Decode over lines already in memory (the codec alone)
//   BM_NdjsonSource   NdjsonSource over a file in the page cache (line splitting + codec)
//
// Run: build/release/bench/ndjson_decode_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kestrel/event/json_decoder.h"
#include "kestrel/sources/ndjson/ndjson_source.h"

namespace {

using kestrel::event::Event;
using kestrel::event::JsonDecoder;

// Deterministic ECS process-start events of about 300 bytes each.
std::vector<std::string> MakeLines(size_t n) {
  static const char* kNames[] = {"bash", "sshd", "curl", "python3", "systemd", "cron", "git"};
  std::mt19937_64 rng(42);
  std::vector<std::string> lines;
  lines.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* name = kNames[rng() % 7];
    uint64_t pid = 1000 + rng() % 60000;
    char buf[1024];
    int len = std::snprintf(
        buf, sizeof(buf),
        R"({"@timestamp":"2024-05-01T10:%02d:%02d.%03dZ","event":{"category":["process"],)"
        R"("type":["start"],"action":"exec"},"host":{"os":{"type":"linux"}},"process":{"pid":%llu,)"
        R"("entity_id":"e%llu","name":"%s","executable":"/usr/bin/%s","args":["%s","-c","id"],)"
        R"("args_count":3,"parent":{"pid":%llu,"name":"bash"}},"user":{"id":"1000"}})",
        static_cast<int>(i / 60000 % 60), static_cast<int>(i / 1000 % 60),
        static_cast<int>(i % 1000), static_cast<unsigned long long>(pid),
        static_cast<unsigned long long>(i), name, name, name,
        static_cast<unsigned long long>(pid - 1));
    lines.emplace_back(buf, static_cast<size_t>(len));
  }
  return lines;
}

void BM_DecodeLine(benchmark::State& state) {
  std::vector<std::string> lines = MakeLines(10000);
  // One padded buffer, lines separated by newlines, as the NDJSON source hands them over.
  std::string buffer;
  std::vector<std::pair<size_t, size_t>> spans;
  for (const std::string& l : lines) {
    spans.emplace_back(buffer.size(), l.size());
    buffer += l;
    buffer += '\n';
  }
  size_t bytes = buffer.size();
  buffer.append(JsonDecoder::kPadding, '\0');
  kestrel::schema::Schema schema;
  JsonDecoder decoder(&schema);
  Event event;
  size_t i = 0;
  for (auto _ : state) {
    auto [off, len] = spans[i];
    absl::Status s =
        decoder.Decode(std::string_view(buffer.data() + off, len), buffer.size() - off, &event);
    if (!s.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(event.entries().data());
    if (++i == spans.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (bytes / spans.size())));
  state.counters["bytes_per_event"] = static_cast<double>(bytes) / spans.size();
}
BENCHMARK(BM_DecodeLine);

void BM_NdjsonSource(benchmark::State& state) {
  std::vector<std::string> lines = MakeLines(200000);
  std::string path = "/tmp/kestrel_ndjson_bench.ndjson";
  {
    std::ofstream out(path, std::ios::binary);
    for (const std::string& l : lines) out << l << '\n';
  }
  kestrel::schema::Schema schema;
  int64_t events = 0;
  for (auto _ : state) {
    kestrel::sources::NdjsonOptions options;
    options.path = path;
    auto source = kestrel::sources::NdjsonSource::Open(&schema, options, nullptr);
    if (!source.ok()) {
      state.SkipWithError("open failed");
      break;
    }
    Event event;
    while (true) {
      auto more = (*source)->Next(&event);
      if (!more.ok() || !*more) break;
      ++events;
    }
  }
  state.SetItemsProcessed(events);
  std::remove(path.c_str());
}
BENCHMARK(BM_NdjsonSource)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
