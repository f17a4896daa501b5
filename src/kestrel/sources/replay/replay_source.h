// ReplaySource: events from recorded event logs (docs/log-format.md), for `kestrel replay`,
// `kestrel log cat` and tests.
//
// Files are read one after another in the order given (a directory stands for its `*.klog`
// files in name order, which is time order for rotated recordings), one block in memory at a
// time. With a time range, blocks entirely outside it are skipped without being decompressed
// (their header carries their time range) and the remaining events are filtered:
// from_ns <= time < to_ns.
//
// Damage (a bad checksum, a torn tail, a malformed record, a block out of sequence, a footer whose
// counts disagree) is reported as "FILE:OFFSET" with the reason through the DiagnosticSink,
// counted in stats().malformed and damaged_blocks(), and skipped: reading resumes at the next
// intact block, or at the next record when only one record was refused (a raw-JSON value that is
// not valid JSON: nothing from a log reaches output unchecked).
// Thread safety: none (one puller). Tested by replay_source_test.cc.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/log/record_codec.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::sources {

struct ReplayOptions {
  std::vector<std::string> paths;                         // log files, or directories of them
  int64_t from_ns = std::numeric_limits<int64_t>::min();  // inclusive, event time
  int64_t to_ns = std::numeric_limits<int64_t>::max();    // exclusive
  // Set: events carry only these fields (log::BlockDecoder::OnlyFields), e.g. the fields a
  // counting hunt's query reads. Unset: every field.
  std::optional<std::vector<schema::FieldId>> only_fields = std::nullopt;
};

class ReplaySource final : public Source {
 public:
  // Checks that every path is a readable event log (header intact, version supported) before
  // any event is read. Errors: no paths, a missing file, an empty directory, a refused header.
  static absl::StatusOr<std::unique_ptr<ReplaySource>> Open(schema::Schema* schema,
                                                            const ReplayOptions& options,
                                                            DiagnosticSink on_diagnostic);

  absl::StatusOr<bool> Next(event::Event* event) override;
  SourceStats stats() const override;
  std::string_view name() const override { return name_; }

  uint64_t damaged_blocks() const { return damaged_blocks_ + (reader_ ? reader_->damaged() : 0); }
  uint64_t blocks_read() const { return blocks_read_; }
  uint64_t blocks_skipped() const { return blocks_skipped_; }  // outside the time range
  // Records decoded from the blocks read, in the time range or not (stats().events: in it).
  uint64_t events_decoded() const { return events_decoded_; }
  const std::vector<std::string>& files() const { return files_; }
  // The header of the first file (host, boot id, writer version).
  const log::FileHeaderInfo& first_header() const { return first_header_; }

 private:
  ReplaySource(schema::Schema* schema, const ReplayOptions& options, DiagnosticSink on_diagnostic);
  absl::Status OpenNextFile();
  // Moves to the next block with events in range; false at the end of all files.
  absl::StatusOr<bool> NextBlock();

  schema::Schema* schema_;
  ReplayOptions options_;
  DiagnosticSink on_diagnostic_;
  std::string name_;
  std::vector<std::string> files_;
  size_t next_file_ = 0;
  std::unique_ptr<log::LogFileReader> reader_;
  log::BlockDecoder decoder_;
  log::BlockInfo block_;
  bool in_block_ = false;
  log::FileHeaderInfo first_header_;

  SourceStats stats_;
  uint64_t damaged_blocks_ = 0;  // of files already closed; plus reader_->damaged()
  uint64_t blocks_read_ = 0;
  uint64_t blocks_skipped_ = 0;
  uint64_t events_decoded_ = 0;
};

}  // namespace kestrel::sources
