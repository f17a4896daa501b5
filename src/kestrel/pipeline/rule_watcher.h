// RuleWatcher notices that a rule reload is due: a change under the rule directory (inotify:
// files written, created, moved or deleted, in the directory and its subdirectories), debounced
// until the directory has been quiet for `quiet_ms`, or SIGHUP.
// Thread safety: its own thread only sets flags; ReloadDue() from any one thread.
// Tested by rule_manager_test.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace kestrel::pipeline {

class RuleWatcher {
 public:
  // Watches `directory` and its subdirectories, and installs the SIGHUP handler. Errors: inotify
  // unavailable or the directory cannot be watched.
  static absl::StatusOr<std::unique_ptr<RuleWatcher>> Start(const std::string& directory,
                                                            int quiet_ms = 200);
  ~RuleWatcher();
  RuleWatcher(const RuleWatcher&) = delete;
  RuleWatcher& operator=(const RuleWatcher&) = delete;

  // True once per change (after the quiet period) or SIGHUP. Cheap: call it between events.
  bool ReloadDue();

 private:
  RuleWatcher() = default;
  void Run();
  void AddWatches(const std::string& directory);

  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd that ends the thread
  int quiet_ms_ = 200;
  std::atomic<bool> changed_{false};
  std::atomic<int64_t> last_change_ms_{0};
  std::thread thread_;
  std::map<int, std::string> watched_;  // watch descriptor -> directory (the watcher's thread)
};

}  // namespace kestrel::pipeline
