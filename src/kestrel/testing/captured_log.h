// CapturedLog: while it lives, spdlog's default logger writes into memory (message text only,
// one line each), and the test reads what was logged. Restores the previous logger on
// destruction. Not thread-safe to create or destroy while other threads log.
#ifndef KESTREL_TESTING_CAPTURED_LOG_H_
#define KESTREL_TESTING_CAPTURED_LOG_H_

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <cstddef>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace kestrel::testing {

class CapturedLog {
 public:
  CapturedLog()
      : previous_(spdlog::default_logger()),
        logger_(std::make_shared<spdlog::logger>(
            "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_))) {
    logger_->set_pattern("%v");
    spdlog::set_default_logger(logger_);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  // Everything logged so far.
  std::string Text() {
    logger_->flush();
    return out_.str();
  }
  std::vector<std::string> Lines() {
    std::istringstream in(Text());
    std::vector<std::string> v;
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
  // How many logged lines contain NEEDLE.
  size_t Count(std::string_view needle) {
    size_t n = 0;
    for (const std::string& l : Lines()) n += l.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace kestrel::testing

#endif  // KESTREL_TESTING_CAPTURED_LOG_H_
