// AlertSink: where alerts go. JsonLinesSink writes one JSON line per alert (engine/alert.h) to
// standard output or a file.
//
// Thread safety: a sink is called from one thread (the output stage); it is not synchronised.
// Tested by alert_sink_test.cc.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/engine/alert.h"
#include "kestrel/schema/schema.h"

namespace kestrel::actions {

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Errors: the destination cannot be written (disk full, closed pipe); the alert is lost and
  // the caller counts it.
  [[nodiscard]] virtual absl::Status Write(const engine::Alert& alert) = 0;
  [[nodiscard]] virtual absl::Status Flush() = 0;
  virtual uint64_t written() const = 0;
};

class JsonLinesSink final : public AlertSink {
 public:
  // `path` "-" is standard output; a file is created or appended to (mode 0640).
  // `schema` must outlive the sink.
  static absl::StatusOr<std::unique_ptr<JsonLinesSink>> Open(const schema::Schema* schema,
                                                             const std::string& path);
  ~JsonLinesSink() override;

  absl::Status Write(const engine::Alert& alert) override;
  // Writes one alert already encoded by engine::AppendAlertJson (without the newline), and does
  // not flush: for batch producers (replay), which flush per batch.
  absl::Status WriteLine(std::string_view json);
  absl::Status Flush() override;
  uint64_t written() const override { return written_; }

 private:
  JsonLinesSink(const schema::Schema* schema, std::FILE* file, bool owns, std::string path);

  const schema::Schema* schema_;
  std::FILE* file_;
  bool owns_;
  std::string path_;
  std::string line_;  // reused
  uint64_t written_ = 0;
};

}  // namespace kestrel::actions
