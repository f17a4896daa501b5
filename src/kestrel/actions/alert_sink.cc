// JsonLinesSink; see alert_sink.h. Tested by alert_sink_test.cc.
#include "kestrel/actions/alert_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kestrel::actions {

absl::StatusOr<std::unique_ptr<JsonLinesSink>> JsonLinesSink::Open(const schema::Schema* schema,
                                                                   const std::string& path) {
  if (path == "-") {
    return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(schema, stdout, false, "<stdout>"));
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("cannot open alert output '{}': {}", path, std::strerror(errno)));
  }
  std::FILE* f = ::fdopen(fd, "a");
  if (f == nullptr) {
    ::close(fd);
    return absl::UnavailableError(fmt::format("cannot open alert output '{}'", path));
  }
  return std::unique_ptr<JsonLinesSink>(new JsonLinesSink(schema, f, true, path));
}

JsonLinesSink::JsonLinesSink(const schema::Schema* schema, std::FILE* file, bool owns,
                             std::string path)
    : schema_(schema), file_(file), owns_(owns), path_(std::move(path)) {}

JsonLinesSink::~JsonLinesSink() {
  if (owns_) {
    std::fclose(file_);
  } else {
    std::fflush(file_);
  }
}

absl::Status JsonLinesSink::Write(const engine::Alert& alert) {
  line_.clear();
  engine::AppendAlertJson(*schema_, alert, &line_);
  line_.push_back('\n');
  if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size()) {
    return absl::UnavailableError(
        fmt::format("cannot write alert to '{}': {}", path_, std::strerror(errno)));
  }
  ++written_;
  // Alerts are rare and someone may be tailing the output: make each one visible at once.
  return Flush();
}

absl::Status JsonLinesSink::WriteLine(std::string_view json) {
  if (std::fwrite(json.data(), 1, json.size(), file_) != json.size() ||
      std::fputc('\n', file_) == EOF) {
    return absl::UnavailableError(
        fmt::format("cannot write alert to '{}': {}", path_, std::strerror(errno)));
  }
  ++written_;
  return absl::OkStatus();
}

absl::Status JsonLinesSink::Flush() {
  if (std::fflush(file_) != 0) {
    return absl::UnavailableError(
        fmt::format("cannot write alerts to '{}': {}", path_, std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace kestrel::actions
