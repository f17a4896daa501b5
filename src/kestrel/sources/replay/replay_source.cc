#include "kestrel/sources/replay/replay_source.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "kestrel/base/status.h"

namespace kestrel::sources {

namespace fs = std::filesystem;

ReplaySource::ReplaySource(schema::Schema* schema, const ReplayOptions& options,
                           DiagnosticSink on_diagnostic)
    : schema_(schema),
      options_(options),
      on_diagnostic_(std::move(on_diagnostic)),
      decoder_(schema) {
  if (options.only_fields) decoder_.OnlyFields(*options.only_fields);
}

absl::StatusOr<std::unique_ptr<ReplaySource>> ReplaySource::Open(schema::Schema* schema,
                                                                 const ReplayOptions& options,
                                                                 DiagnosticSink on_diagnostic) {
  if (options.paths.empty()) return absl::InvalidArgumentError("no event log given");
  if (options.from_ns >= options.to_ns) {
    return absl::InvalidArgumentError("the time range is empty (--from is not before --to)");
  }
  std::unique_ptr<ReplaySource> source(new ReplaySource(schema, options, std::move(on_diagnostic)));
  for (const std::string& path : options.paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> logs;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.path().extension() == ".klog" && entry.is_regular_file(ec)) {
          logs.push_back(entry.path().string());
        }
      }
      if (logs.empty()) {
        return absl::NotFoundError(fmt::format("directory '{}' holds no *.klog event logs", path));
      }
      std::sort(logs.begin(), logs.end());
      source->files_.insert(source->files_.end(), logs.begin(), logs.end());
    } else {
      source->files_.push_back(path);
    }
  }
  // Every header is checked up front: a wrong path or a log from a newer Kestrel is refused
  // before any event is processed.
  for (const std::string& file : source->files_) {
    auto reader = log::LogFileReader::Open(file, nullptr);
    if (!reader.ok()) return reader.status();
    if (&file == &source->files_.front()) source->first_header_ = (*reader)->header();
  }
  source->name_ =
      source->files_.size() == 1
          ? fmt::format("log:{}", source->files_.front())
          : fmt::format("log:{} (+{} more)", source->files_.front(), source->files_.size() - 1);
  return source;
}

absl::Status ReplaySource::OpenNextFile() {
  if (reader_) {
    damaged_blocks_ += reader_->damaged();
    stats_.bytes += reader_->file_bytes();
    reader_.reset();
  }
  const std::string& path = files_[next_file_++];
  DiagnosticSink sink = on_diagnostic_;
  auto reader = log::LogFileReader::Open(
      path, [sink](const std::string& file, uint64_t offset, std::string_view reason) {
        if (sink) sink({fmt::format("{}:{}", file, offset), std::string(reason)});
      });
  if (!reader.ok()) return reader.status();
  reader_ = std::move(*reader);
  return absl::OkStatus();
}

absl::StatusOr<bool> ReplaySource::NextBlock() {
  while (true) {
    if (!reader_) {
      if (next_file_ == files_.size()) return false;
      if (absl::Status s = OpenNextFile(); !s.ok()) return s;
    }
    absl::StatusOr<bool> more = reader_->NextBlock(&block_);
    if (!more.ok()) return more.status();
    if (!*more) {
      damaged_blocks_ += reader_->damaged();
      stats_.bytes += reader_->file_bytes();
      reader_.reset();
      continue;
    }
    if (block_.header.max_time_ns < options_.from_ns ||
        block_.header.min_time_ns >= options_.to_ns) {
      ++blocks_skipped_;  // left unread: NextBlock() steps over its payload
      continue;
    }
    auto payload = reader_->LoadPayload(true);
    if (!payload.ok()) return payload.status();
    if (!payload->has_value()) continue;  // damaged: reported and counted by the reader
    if (absl::Status s = decoder_.Start(**payload, block_.header.event_count); !s.ok()) {
      reader_->ReportDamage(block_.offset, base::Message(s));
      continue;
    }
    ++blocks_read_;
    return true;
  }
}

absl::StatusOr<bool> ReplaySource::Next(event::Event* event) {
  while (true) {
    if (!in_block_) {
      absl::StatusOr<bool> more = NextBlock();
      if (!more.ok()) return more.status();
      if (!*more) return false;
      in_block_ = true;
    }
    absl::StatusOr<bool> next = decoder_.Next(event);
    if (!next.ok()) {
      reader_->ReportDamage(block_.offset, base::Message(next.status()));
      // DATA_LOSS: only this record was refused; the block's next records still decode.
      if (next.status().code() != absl::StatusCode::kDataLoss) in_block_ = false;
      continue;
    }
    if (!*next) {
      in_block_ = false;
      continue;
    }
    ++events_decoded_;
    if (event->time_ns() < options_.from_ns || event->time_ns() >= options_.to_ns) continue;
    ++stats_.events;
    return true;
  }
}

SourceStats ReplaySource::stats() const {
  SourceStats s = stats_;
  s.malformed = damaged_blocks();
  s.dropped_fields = decoder_.dropped_fields();
  if (reader_) s.bytes += reader_->file_bytes();
  return s;
}

}  // namespace kestrel::sources
