// The input side of `kestrel query`; see query_input.h.
#include "kestrel/cli/query_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "kestrel/base/status.h"
#include "kestrel/base/time.h"
#include "kestrel/log/log_format.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/sources/ndjson/ndjson_source.h"
#include "kestrel/sources/replay/replay_source.h"

namespace kestrel::cli {

namespace fs = std::filesystem;

struct QueryInput::Item {
  bool log = false;
  std::string path;
  // Logs: what the block headers say (intact blocks only).
  uint64_t blocks = 0;
  bool timed = false;  // a block holds events: min_ns..max_ns is their time range
  int64_t min_ns = 0;
  int64_t max_ns = 0;
};

namespace {

constexpr std::string_view kForms =
    "expected RFC 3339 (2026-05-01T12:00:00Z), Unix nanoseconds, or a relative time (-2h, -30m, "
    "-7d, -90s; now, now-1h)";

// "2h" -> nanoseconds; nullopt when not <digits><unit> with unit ms, s, m, h, d or w, or (with
// *overflow set) when it does not fit in int64 nanoseconds.
std::optional<int64_t> ParseSpan(std::string_view text, bool* overflow) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc::result_out_of_range) *overflow = true;
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  int64_t scale = 0;
  if (unit == "ms") {
    scale = 1'000'000;
  } else if (unit == "s") {
    scale = 1'000'000'000;
  } else if (unit == "m") {
    scale = 60'000'000'000;
  } else if (unit == "h") {
    scale = 3'600'000'000'000;
  } else if (unit == "d") {
    scale = 86'400'000'000'000;
  } else if (unit == "w") {
    scale = 604'800'000'000'000;
  } else {
    return std::nullopt;
  }
  int64_t out = 0;
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
      __builtin_mul_overflow(static_cast<int64_t>(n), scale, &out)) {
    *overflow = true;
    return std::nullopt;
  }
  return out;
}

// Only a regular file is probed: a FIFO (`<(zcat events.ndjson.gz)`) is opened once, by its
// source, and is JSON.
bool IsEventLog(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;  // the source that opens it reports why
  char magic[sizeof(log::kFileMagic)];
  ssize_t n = ::pread(fd, magic, sizeof(magic), 0);
  ::close(fd);
  return n == static_cast<ssize_t>(sizeof(magic)) &&
         std::memcmp(magic, log::kFileMagic, sizeof(magic)) == 0;
}

// Adds the fields under `node` to `out`; false when the node may read more than those.
bool CollectFields(const eql::IrNode& node, std::vector<schema::FieldId>* out) {
  switch (node.op) {
    case eql::IrOp::kRelation:
    case eql::IrOp::kCustomCall:
    case eql::IrOp::kTruthy:
      return false;
    case eql::IrOp::kField:
      out->push_back(node.field);
      break;
    default:
      break;
  }
  for (const auto& child : node.children) {
    if (!CollectFields(*child, out)) return false;
  }
  return true;
}

}  // namespace

std::optional<std::vector<schema::FieldId>> FieldsRead(const eql::IrProgram& program) {
  std::vector<schema::FieldId> fields;
  auto stage = [&](const eql::IrStage& s) {
    if (s.predicate && !CollectFields(*s.predicate, &fields)) return false;
    for (const auto& key : s.by) {
      if (!CollectFields(*key, &fields)) return false;
    }
    return true;
  };
  for (const eql::IrStage& s : program.stages) {
    if (!stage(s)) return std::nullopt;
  }
  if (program.until && !stage(*program.until)) return std::nullopt;
  for (const eql::IrPipe& pipe : program.pipes) {
    for (const auto& arg : pipe.args) {
      if (!CollectFields(*arg, &fields)) return std::nullopt;
    }
  }
  std::sort(fields.begin(), fields.end());
  fields.erase(std::unique(fields.begin(), fields.end()), fields.end());
  return fields;
}

absl::StatusOr<int64_t> ParseTimeBound(std::string_view flag, std::string_view text,
                                       int64_t anchor_ns, int64_t now_ns) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("{}: '{}' is not a time: {}", flag, text, why.empty() ? kForms : why));
  };
  std::string_view rest = text;
  int64_t base = anchor_ns;
  bool now = rest.substr(0, 3) == "now";
  if (now) {
    base = now_ns;
    rest.remove_prefix(3);
    if (rest.empty()) return now_ns;
  }
  // Relative: -SPAN or +SPAN (an RFC 3339 time never starts with a sign).
  if (rest.size() > 1 && (rest[0] == '-' || rest[0] == '+')) {
    bool overflow = false;
    std::optional<int64_t> span = ParseSpan(rest.substr(1), &overflow);
    if (overflow) return bad("out of range");
    if (span) {
      int64_t out = 0;
      if (rest[0] == '-' ? __builtin_sub_overflow(base, *span, &out)
                         : __builtin_add_overflow(base, *span, &out)) {
        return bad("out of range");
      }
      return out;
    }
  }
  if (now) return bad("");
  int64_t ns = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec == std::errc() && end == text.data() + text.size()) return ns;
  if (std::optional<int64_t> t = base::ParseTimestamp(text)) return *t;
  return bad("");
}

QueryInput::QueryInput() = default;
QueryInput::~QueryInput() = default;

absl::StatusOr<std::unique_ptr<QueryInput>> QueryInput::Open(schema::Schema* schema,
                                                             const QueryInputOptions& options,
                                                             sources::DiagnosticSink diagnostics) {
  std::unique_ptr<QueryInput> input(new QueryInput());
  input->schema_ = schema;
  input->decoder_ = options.decoder;
  input->only_fields_ = options.only_fields;
  input->diagnostics_ = std::move(diagnostics);
  std::vector<std::string> paths = options.paths;
  if (paths.empty()) paths.push_back("-");
  if (std::count(paths.begin(), paths.end(), "-") > 1) {
    return absl::InvalidArgumentError("standard input (-) can be read only once");
  }

  // Resolve the paths; scan each log's block headers for its time range (no payload is read).
  auto scan = [](Item* item) -> absl::Status {
    auto reader = log::LogFileReader::Open(item->path, nullptr);
    if (!reader.ok()) return reader.status();
    log::BlockInfo block;
    while (true) {
      absl::StatusOr<bool> more = (*reader)->NextBlock(&block);
      if (!more.ok()) return more.status();
      if (!*more) break;
      ++item->blocks;
      if (block.header.event_count == 0) continue;
      if (!item->timed || block.header.min_time_ns < item->min_ns) {
        item->min_ns = block.header.min_time_ns;
      }
      if (!item->timed || block.header.max_time_ns > item->max_ns) {
        item->max_ns = block.header.max_time_ns;
      }
      item->timed = true;
    }
    return absl::OkStatus();
  };
  bool have_logs = false;
  int64_t newest = std::numeric_limits<int64_t>::min();
  for (const std::string& path : paths) {
    std::error_code ec;
    if (path != "-" && fs::is_directory(path, ec)) {
      std::vector<Item> logs;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.path().extension() == ".klog" && entry.is_regular_file(ec)) {
          logs.push_back(Item{.log = true, .path = entry.path().string()});
        }
      }
      if (ec) {
        return absl::NotFoundError(
            fmt::format("cannot list directory '{}': {}", path, ec.message()));
      }
      if (logs.empty()) {
        return absl::NotFoundError(fmt::format("directory '{}' holds no *.klog event logs", path));
      }
      for (Item& item : logs) {
        if (absl::Status s = scan(&item); !s.ok()) return s;
      }
      // Time order: by first event, then name (a log without events first).
      std::sort(logs.begin(), logs.end(), [](const Item& a, const Item& b) {
        int64_t ta = a.timed ? a.min_ns : std::numeric_limits<int64_t>::min();
        int64_t tb = b.timed ? b.min_ns : std::numeric_limits<int64_t>::min();
        return ta != tb ? ta < tb : a.path < b.path;
      });
      for (Item& item : logs) input->items_.push_back(std::move(item));
      have_logs = true;
      continue;
    }
    if (path != "-" && !fs::exists(path, ec)) {
      return absl::NotFoundError(fmt::format("'{}': no such file or directory", path));
    }
    Item item{.log = path != "-" && IsEventLog(path), .path = path};
    if (item.log) {
      if (absl::Status s = scan(&item); !s.ok()) return s;
      have_logs = true;
    }
    input->items_.push_back(std::move(item));
  }
  for (const Item& item : input->items_) {
    if (item.log && item.timed) newest = std::max(newest, item.max_ns);
  }
  // Relative bounds count back from the newest logged event (or the wall clock without logs).
  int64_t anchor =
      have_logs && newest != std::numeric_limits<int64_t>::min() ? newest : options.now_ns;
  if (options.from) {
    auto t = ParseTimeBound("--from", *options.from, anchor, options.now_ns);
    if (!t.ok()) return t.status();
    input->from_ns_ = *t;
  }
  if (options.to) {
    auto t = ParseTimeBound("--to", *options.to, anchor, options.now_ns);
    if (!t.ok()) return t.status();
    input->to_ns_ = *t;
  }
  if (input->from_ns_ >= input->to_ns_) {
    return absl::InvalidArgumentError(
        fmt::format("the time range is empty: --from {} is not before --to {}",
                    base::FormatTimestamp(input->from_ns_), base::FormatTimestamp(input->to_ns_)));
  }
  return input;
}

absl::Status QueryInput::OpenItem() {
  const Item& item = items_[next_item_++];
  if (item.log && item.timed && (item.max_ns < from_ns_ || item.min_ns >= to_ns_)) {
    // The whole file is outside the range: its blocks are pruned without opening it again.
    done_.blocks_total += item.blocks;
    done_.blocks_pruned += item.blocks;
    return absl::OkStatus();
  }
  files_.push_back(item.path);
  ++done_.files;
  current_is_log_ = item.log;
  if (item.log) {
    sources::ReplayOptions replay;
    replay.paths = {item.path};
    replay.from_ns = from_ns_;
    replay.to_ns = to_ns_;
    replay.only_fields = only_fields_;
    auto source = sources::ReplaySource::Open(schema_, replay, diagnostics_);
    if (!source.ok()) return source.status();
    current_ = std::move(*source);
  } else {
    sources::NdjsonOptions ndjson;
    ndjson.path = item.path;
    ndjson.decoder = decoder_;
    auto source = sources::NdjsonSource::Open(schema_, ndjson, diagnostics_);
    if (!source.ok()) return source.status();
    current_ = std::move(*source);
  }
  return absl::OkStatus();
}

namespace {

void AddCounters(const sources::Source& source, bool log, QueryInputCounters* c) {
  if (log) {
    const auto& replay = static_cast<const sources::ReplaySource&>(source);
    c->blocks_read += replay.blocks_read();
    c->blocks_pruned += replay.blocks_skipped();
    c->blocks_total += replay.blocks_read() + replay.blocks_skipped() + replay.damaged_blocks();
    c->events_read += replay.events_decoded();
  } else {
    c->events_read += source.stats().events;
  }
  c->malformed += source.stats().malformed;
}

}  // namespace

absl::StatusOr<bool> QueryInput::Next(event::Event* event) {
  while (true) {
    if (current_ == nullptr) {
      if (next_item_ == items_.size()) return false;
      if (absl::Status s = OpenItem(); !s.ok()) return s;
      continue;
    }
    absl::StatusOr<bool> more = current_->Next(event);
    if (!more.ok()) return more.status();
    if (!*more) {
      AddCounters(*current_, current_is_log_, &done_);
      current_.reset();
      continue;
    }
    // Logs filter by time themselves; JSON events are filtered here.
    if (!current_is_log_ && (event->time_ns() < from_ns_ || event->time_ns() >= to_ns_)) continue;
    ++done_.events_in_range;
    return true;
  }
}

QueryInputCounters QueryInput::counters() const {
  QueryInputCounters c = done_;
  if (current_ != nullptr) AddCounters(*current_, current_is_log_, &c);
  return c;
}

const std::vector<std::string>& QueryInput::files() const { return files_; }

ProgressLine::ProgressLine(bool enabled, std::FILE* out, Clock clock)
    : enabled_(enabled), out_(out), clock_(std::move(clock)) {
  if (enabled_) start_ = last_ = clock_();
}

void ProgressLine::Update(uint64_t events, uint64_t matches) {
  if (!enabled_) return;
  auto now = clock_();
  if (now - start_ < std::chrono::seconds(1)) return;
  if (shown_ && now - last_ < std::chrono::milliseconds(250)) return;
  last_ = now;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? static_cast<double>(events) / seconds : 0;
  // \r and erase-to-end-of-line: the line is rewritten in place.
  fmt::print(out_, "\r\033[K{} events, {:.2f} M events/s, {} matches", events, rate / 1e6, matches);
  std::fflush(out_);
  shown_ = true;
}

void ProgressLine::Clear() {
  if (!shown_) return;
  fmt::print(out_, "\r\033[K");
  std::fflush(out_);
  shown_ = false;
}

}  // namespace kestrel::cli
