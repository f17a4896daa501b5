// Event log throughput and size on the shared Endgame workload (issue 5): write (encode, zstd,
// checksum, write) and read (read, verify, decompress, decode into a reused Event), and bytes per
// event against the workload's NDJSON. Targets: write >= 2 M events/s, read + decode >= 5 M
// events/s on one core, <= 40 bytes per event.
//
//   ./build/release/bench/event_log_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
// KESTREL_WORKLOAD_EVENTS (default 200000) sets the number of events.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "endgame_workload.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/log/log_writer.h"
#include "kestrel/sources/replay/replay_source.h"

namespace {

using Workload = kestrel::bench::EndgameWorkload;
Workload* LoadEvents() { return kestrel::bench::LoadEndgameWorkload(); }

std::string LogPath(int level) {
  return fmt::format("/tmp/kestrel_event_log_bench_{}.klog", level);
}

// Writes the workload to a log; returns the bytes written.
uint64_t WriteLog(Workload& w, int level, const std::string& path) {
  kestrel::log::WriterOptions options;
  options.compression_level = level;
  if (const char* b = std::getenv("KESTREL_LOG_BLOCK_BYTES"))
    options.block_bytes = std::strtoul(b, nullptr, 10);
  options.overwrite = true;
  options.fsync = kestrel::log::FsyncPolicy::kNever;
  auto writer = kestrel::log::LogWriter::Create(path, w.schema, {}, options);
  if (!writer.ok()) return 0;
  for (const kestrel::event::Event& e : w.events) (void)(*writer)->Append(e);
  (void)(*writer)->Close();
  return (*writer)->bytes();
}

void BM_LogWrite(benchmark::State& state) {
  Workload* w = LoadEvents();
  if (w->events.empty()) {
    state.SkipWithError("workload not available (python3 gen_events.py failed)");
    return;
  }
  int level = static_cast<int>(state.range(0));
  uint64_t bytes = 0;
  for (auto _ : state) bytes = WriteLog(*w, level, LogPath(level));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w->events.size()));
  state.counters["bytes_per_event"] =
      static_cast<double>(bytes) / static_cast<double>(w->events.size());
  state.counters["ratio_vs_ndjson"] =
      static_cast<double>(w->ndjson_bytes) / static_cast<double>(bytes);
}
BENCHMARK(BM_LogWrite)
    ->Arg(1)
    ->Arg(3)
    ->Arg(6)
    ->Arg(9)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_LogReadDecode(benchmark::State& state) {
  Workload* w = LoadEvents();
  if (w->events.empty()) {
    state.SkipWithError("workload not available (python3 gen_events.py failed)");
    return;
  }
  int level = static_cast<int>(state.range(0));
  WriteLog(*w, level, LogPath(level));
  kestrel::schema::Schema schema;
  kestrel::event::Event e;
  uint64_t n = 0;
  for (auto _ : state) {
    kestrel::sources::ReplayOptions options;
    options.paths = {LogPath(level)};
    auto source = kestrel::sources::ReplaySource::Open(&schema, options, nullptr);
    if (!source.ok()) {
      state.SkipWithError("cannot open the log");
      return;
    }
    n = 0;
    while (true) {
      auto more = (*source)->Next(&e);
      if (!more.ok() || !*more) break;
      ++n;
    }
    benchmark::DoNotOptimize(e);
  }
  if (n != w->events.size()) state.SkipWithError("read back a different number of events");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_LogReadDecode)->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a `kestrel query --count` full scan reads (issue 24): the level-3 log decoded with a
// projection — Arg 0: no field (`process where true`: times and categories only), Arg 1: one
// field (`process_name`, a string every event has) — through cli::QueryInput's ReplaySource.
void BM_LogReadProjected(benchmark::State& state) {
  Workload* w = LoadEvents();
  if (w->events.empty()) {
    state.SkipWithError("workload not available (python3 gen_events.py failed)");
    return;
  }
  WriteLog(*w, 3, LogPath(3));
  kestrel::schema::Schema schema;
  std::vector<kestrel::schema::FieldId> fields;
  if (state.range(0) == 1) {
    fields.push_back(*schema.Intern("process_name", kestrel::schema::FieldType::kKeyword, false));
  }
  kestrel::event::Event e;
  uint64_t n = 0;
  for (auto _ : state) {
    kestrel::sources::ReplayOptions options;
    options.paths = {LogPath(3)};
    options.only_fields = fields;
    auto source = kestrel::sources::ReplaySource::Open(&schema, options, nullptr);
    if (!source.ok()) {
      state.SkipWithError("cannot open the log");
      return;
    }
    n = 0;
    while (true) {
      auto more = (*source)->Next(&e);
      if (!more.ok() || !*more) break;
      ++n;
    }
    benchmark::DoNotOptimize(e);
  }
  if (n != w->events.size()) state.SkipWithError("read back a different number of events");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_LogReadProjected)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
