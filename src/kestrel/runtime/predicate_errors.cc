// ErrorCounter; see predicate_errors.h.
#include "kestrel/runtime/predicate_errors.h"

#include <cstdio>

#include "fmt/format.h"

namespace kestrel::runtime {

void LogToStderr(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
}

void ErrorCounter::Record(std::string_view runtime, std::string_view message) {
  ++count_;
  if ((count_ & (count_ - 1)) != 0) return;  // not a power of two
  ++logged_;
  std::string line = fmt::format("kestrel: {} {} {} failed: {} ({} {} so far)", runtime, subject_,
                                 rule_name_, message, count_, count_ == 1 ? "error" : "errors");
  if (logger_ != nullptr && *logger_) {
    (*logger_)(line);
  } else {
    LogToStderr(line);
  }
}

}  // namespace kestrel::runtime
