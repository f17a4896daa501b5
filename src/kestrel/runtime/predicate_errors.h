// Error accounting shared by the predicate runtimes: a count per rule and a rate-limited log
// (the 1st, 2nd, 4th, 8th, ... error of a rule is logged, with the count so far), so a rule that
// fails on every event costs a counter increment, not a log line.
// Thread safety: one per worker. Tested by lua_runtime_test.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace kestrel::runtime {

using ErrorLogger = std::function<void(std::string_view line)>;

// Logs to stderr.
void LogToStderr(std::string_view line);

class ErrorCounter {
 public:
  // Lines read "kestrel: RUNTIME SUBJECT NAME failed: MESSAGE (N errors so far)"; the subject
  // is "predicate of rule" for predicates, "of module" for custom functions.
  explicit ErrorCounter(std::string rule_name, const ErrorLogger* logger,
                        std::string_view subject = "predicate of rule")
      : rule_name_(std::move(rule_name)), subject_(subject), logger_(logger) {}
  void Record(std::string_view runtime, std::string_view message);
  uint64_t count() const { return count_; }
  uint64_t logged() const { return logged_; }

 private:
  std::string rule_name_;
  std::string_view subject_;   // a literal
  const ErrorLogger* logger_;  // nullptr: stderr
  uint64_t count_ = 0;
  uint64_t logged_ = 0;
};

}  // namespace kestrel::runtime
