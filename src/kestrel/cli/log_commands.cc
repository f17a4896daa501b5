// `kestrel record`, `kestrel log info`, `kestrel log cat`; see log_commands.h.
#include "kestrel/cli/log_commands.h"

#include <unistd.h>

#include <sys/stat.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/base/status.h"
#include "kestrel/base/time.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/event/json_writer.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/log/log_writer.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/stop.h"
#include "kestrel/sources/ndjson/ndjson_source.h"
#ifdef KESTREL_HAVE_EBPF
#include "kestrel/sources/ebpf/ebpf_source.h"
#endif
#include "kestrel/sources/replay/replay_source.h"

namespace kestrel::cli {
namespace {

std::optional<std::pair<uint64_t, std::string_view>> NumberAndSuffix(const std::string& text) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return std::pair{n, std::string_view(end, text.data() + text.size() - end)};
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

std::string Time(int64_t ns) { return base::FormatTimestamp(ns); }

// Text from a log's header (another machine's host name, a writer's version) for the terminal:
// escaped as in JSON, without the quotes, so no control sequence or invalid UTF-8 gets through.
std::string Printable(std::string_view text) {
  std::string out;
  event::AppendJsonString(&out, text);
  return out.substr(1, out.size() - 2);
}

// How long an event may wait in the block being built, in event time and in wall time, before
// `record` writes the block: a recording killed (kill -9, power) loses at most this much.
constexpr int64_t kRecordMaxBlockDelayNs = 1'000'000'000;

// Writes the block being built once its first event has waited kRecordMaxBlockDelayNs of wall
// time: the reading thread may be blocked in Source::Next() for as long as the source is idle,
// so a timer thread does it, and appends and flushes share a lock. The wall clock decides only
// where blocks end, never what an event holds.
class IdleFlusher {
 public:
  explicit IdleFlusher(log::LogWriter* writer) : writer_(writer), thread_([this] { Run(); }) {}
  ~IdleFlusher() { (void)Stop(); }
  IdleFlusher(const IdleFlusher&) = delete;
  IdleFlusher& operator=(const IdleFlusher&) = delete;

  absl::Status Append(const event::Event& event) {
    std::lock_guard lock(mu_);
    if (!error_.ok()) return error_;
    absl::Status s = writer_->Append(event);
    if (writer_->pending_events() == 1) oldest_ = std::chrono::steady_clock::now();
    return s;
  }

  // Stops the timer; returns the first error of a timed flush.
  absl::Status Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  void Run() {
    constexpr auto kDelay = std::chrono::nanoseconds(kRecordMaxBlockDelayNs);
    std::unique_lock lock(mu_);
    while (!stop_) {
      wake_.wait_for(lock, kDelay / 8);
      if (stop_ || writer_->pending_events() == 0) continue;
      if (std::chrono::steady_clock::now() - oldest_ < kDelay) continue;
      if (absl::Status s = writer_->Flush(); !s.ok() && error_.ok()) error_ = s;
    }
  }

  log::LogWriter* writer_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::chrono::steady_clock::time_point oldest_;  // when the block's first event was appended
  absl::Status error_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

std::optional<uint64_t> ParseSizeFlag(const std::string& text) {
  auto parsed = NumberAndSuffix(text);
  if (!parsed) return std::nullopt;
  auto [n, unit] = *parsed;
  uint64_t scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  if (unit == "K" || unit == "KiB") scale = uint64_t{1} << 10;
  if (unit == "M" || unit == "MiB") scale = uint64_t{1} << 20;
  if (unit == "G" || unit == "GiB") scale = uint64_t{1} << 30;
  if (scale == 0 || n > UINT64_MAX / scale) return std::nullopt;
  return n * scale;
}

int Record(const RecordOptions& options) {
  schema::Schema schema;
  std::string_view spec = options.source;
  auto parsed = pipeline::ParseSourceSpec(spec);
  if (!parsed.ok()) {
    spdlog::error("{}", base::Message(parsed.status()));
    return kExitUsage;
  }
  bool live = parsed->live;
  sources::NdjsonOptions ndjson;
  ndjson.path = parsed->ndjson_path;
  if (options.output.empty()) {
    spdlog::error("--output LOG is required");
    return kExitUsage;
  }
  log::WriterOptions writer_options;
  writer_options.compression_level = options.level;
  if (options.fsync == "never") {
    writer_options.fsync = log::FsyncPolicy::kNever;
  } else if (options.fsync == "block") {
    writer_options.fsync = log::FsyncPolicy::kEveryBlock;
  } else if (options.fsync == "close") {
    writer_options.fsync = log::FsyncPolicy::kOnClose;
  } else {
    spdlog::error("bad --fsync '{}': expected never, block or close", options.fsync);
    return kExitUsage;
  }
  std::optional<int64_t> duration;
  if (options.duration) {
    absl::StatusOr<int64_t> parsed = pipeline::ParseDuration(*options.duration);
    if (parsed.ok() && *parsed > 0) duration = *parsed;
  }
  if (options.duration && !duration) {
    spdlog::error("bad --duration '{}': expected e.g. 30s, 5m, 2h", *options.duration);
    return kExitUsage;
  }
  if (options.max_size) {
    auto size = ParseSizeFlag(*options.max_size);
    if (!size || *size == 0) {
      spdlog::error("bad --max-size '{}': expected e.g. 64M, 1G", *options.max_size);
      return kExitUsage;
    }
    writer_options.max_size_bytes = *size;
  }
  // Events that arrive as they happen (live, standard input, a FIFO): blocks also end after a
  // second of event time. A regular file is converted in blocks of full size (smaller ones
  // compress worse; the input stays on disk).
  struct stat input;
  if (live || ndjson.path == "-" || ::stat(ndjson.path.c_str(), &input) != 0 ||
      !S_ISREG(input.st_mode)) {
    writer_options.max_block_span_ns = kRecordMaxBlockDelayNs;
  }
  if (options.max_age) {
    absl::StatusOr<int64_t> age = pipeline::ParseDuration(*options.max_age);
    if (!age.ok() || *age == 0) {
      spdlog::error("bad --max-age '{}': expected e.g. 10m, 1h", *options.max_age);
      return kExitUsage;
    }
    writer_options.max_age_ns = *age;
  }

  if (absl::Status s = pipeline::ApplyTimeOptions(options.dialect == "endgame", options.time_field,
                                                  options.time_format, &ndjson.decoder);
      !s.ok()) {
    spdlog::error("--time-format: {}", base::Message(s));
    return kExitUsage;
  }
  pipeline::InstallStopSignals();
  ndjson.stop_fd = pipeline::StopFd();  // Ctrl-C ends a recording from standard input at once
  sources::DiagnosticSink on_diagnostic = pipeline::ReportDiagnostics("malformed event skipped");
  std::unique_ptr<sources::Source> source;
  if (live) {
#ifdef KESTREL_HAVE_EBPF
    sources::EbpfOptions ebpf;
    ebpf.agent_version = options.version;
    ebpf.stop = &pipeline::StopFlag();
    auto opened = sources::EbpfSource::Open(&schema, ebpf, on_diagnostic);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    spdlog::info("recording this machine: {}", (*opened)->mechanism());
    source = std::move(*opened);
#endif
  } else {
    auto opened = sources::NdjsonSource::Open(&schema, ndjson, on_diagnostic);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    source = std::move(*opened);
  }

  log::LogMetadata meta;
  meta.kestrel_version = options.version;
  meta.host_name = HostName();
  meta.boot_id = BootId();
  meta.clock_origin_ns = 0;  // both sources give events wall-clock times
  auto writer = log::LogWriter::Create(options.output, schema, meta, writer_options);
  if (!writer.ok()) {
    spdlog::error("{}", base::Message(writer.status()));
    return kExitFailure;
  }

  pipeline::DurationTimer timer(duration.value_or(0));
  int exit_code = kExitOk;
  event::Event event;
  uint64_t written = 0;
  IdleFlusher flusher(writer->get());
  while (!pipeline::StopFlag().load() && (!options.count || written < *options.count)) {
    auto more = source->Next(&event);
    if (!more.ok()) {
      spdlog::error("{}", base::Message(more.status()));
      exit_code = kExitFailure;
      break;
    }
    if (!*more) break;
    if (absl::Status s = flusher.Append(event); !s.ok()) {
      spdlog::error("{}", base::Message(s));
      exit_code = kExitFailure;
      break;
    }
    ++written;
  }
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (absl::Status s = flusher.Stop(); !s.ok() && exit_code == kExitOk) {
    spdlog::error("{}", base::Message(s));
    exit_code = kExitFailure;
  }
  if (absl::Status s = (*writer)->Close(); !s.ok()) {
    spdlog::error("{}", base::Message(s));
    exit_code = kExitFailure;
  }
  sources::SourceStats stats = source->stats();
  std::string drops =
      live ? fmt::format(", kernel drops: {}, user drops: {}", stats.kernel_drops, stats.user_drops)
           : "";
  uint64_t events = (*writer)->events();
  fmt::print(stderr,
             "summary: events read: {}, malformed lines: {}{}, events written: {}, blocks: {}, "
             "bytes: {} ({:.1f} per event), files: {}\n",
             stats.events, stats.malformed, drops, events, (*writer)->blocks(), (*writer)->bytes(),
             events ? static_cast<double>((*writer)->bytes()) / static_cast<double>(events) : 0.0,
             fmt::join((*writer)->files(), " "));
  return exit_code;
}

int LogInfo(const std::string& path) {
  sources::DiagnosticSink report = pipeline::ReportDiagnostics("damaged log data");
  auto info = log::InspectLog(
      path, [&report](const std::string& file, uint64_t offset, std::string_view reason) {
        report({fmt::format("{}:{}", file, offset), std::string(reason)});
      });
  if (!info.ok()) {
    spdlog::error("{}", base::Message(info.status()));
    return kExitFailure;
  }
  fmt::print("file: {} ({} bytes)\n", path, info->file_bytes);
  fmt::print("format version: {} (readable by readers of version {} and later)\n",
             info->format_version, info->min_reader_version);
  fmt::print("kestrel version: {}\n", Printable(info->meta.kestrel_version));
  fmt::print("host: {}\n", Printable(info->meta.host_name));
  fmt::print("boot id: {}\n", info->meta.boot_id.empty() ? "-" : Printable(info->meta.boot_id));
  fmt::print("clock origin: {}\n", Time(info->meta.clock_origin_ns));
  fmt::print("field catalogue: {:016x} ({})\n", info->catalogue_hash,
             info->same_catalogue ? "this build's" : "another build's; fields map by name");
  fmt::print("blocks: {} ({} damaged)\n", info->blocks.size(), info->damaged_blocks);
  fmt::print("events: {}\n", info->events);
  fmt::print("time range: {} .. {}\n", info->events ? Time(info->min_time_ns) : "-",
             info->events ? Time(info->max_time_ns) : "-");
  if (info->has_footer) {
    fmt::print("footer: {} blocks, {} events, {} fields\n", info->footer.blocks,
               info->footer.events, info->footer.fields.size());
  } else {
    fmt::print("footer: missing (the log was not closed cleanly, or is still being written)\n");
  }
  return info->damaged_blocks > 0 ? kExitFailure : kExitOk;
}

int LogCat(const std::vector<std::string>& paths) {
  schema::Schema schema;
  sources::ReplayOptions options;
  options.paths = paths;
  auto source = sources::ReplaySource::Open(
      &schema, options, pipeline::ReportDiagnostics("damaged log data skipped"));
  if (!source.ok()) {
    spdlog::error("{}", base::Message(source.status()));
    return kExitFailure;
  }
  event::Event event;
  std::string line;
  while (true) {
    auto more = (*source)->Next(&event);
    if (!more.ok()) {
      spdlog::error("{}", base::Message(more.status()));
      return kExitFailure;
    }
    if (!*more) break;
    line.clear();
    event::AppendEventJson(event, schema, &line, event::EventJsonOptions{.add_timestamp = true});
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fflush(stdout);
  return (*source)->damaged_blocks() > 0 ? kExitFailure : kExitOk;
}

}  // namespace kestrel::cli
