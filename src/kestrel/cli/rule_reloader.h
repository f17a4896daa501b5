// Hot reload of the rule directory for `kestrel run` (one worker).
//
// RuleWatcher notices that a reload is due: a change under the rule directory (inotify: files
// written, created, moved or deleted, in the directory and its subdirectories), debounced until
// the directory has been quiet for `quiet_ms`, or SIGHUP.
//
// RuleGeneration is one active rule set with its Detector. NextGeneration() compiles the whole
// directory again; if any rule fails, the new set is refused (the diagnostics are printed, the
// caller keeps the running set: rollback). Otherwise a new Detector is built in which every rule
// whose definition did not change (same id, query, dialect and metadata) takes over its engine
// from the running Detector — partial matches and all — and the others start empty. The swap
// happens between two events (the caller's loop), so no event sees half a set.
// Thread safety: RuleWatcher's thread only sets a flag; everything else is the caller's thread.
// Tested by rule_reloader_test.cc and cli_test.sh.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/cli/detection.h"
#include "kestrel/engine/detector.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/eql/sema.h"

namespace kestrel::cli {

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

struct RuleGeneration {
  uint64_t version = 0;
  std::string loaded_at;  // UTC, for logs and `rules` listings
  LoadedRules rules;
  std::unique_ptr<engine::Detector> detector;
  // Custom functions (a package's): their signatures and this thread's runtime; kept by reloads.
  const std::vector<eql::CustomFunction>* signatures = nullptr;
  engine::FunctionRuntime* functions = nullptr;
};

struct ReloadOutcome {
  size_t added = 0, changed = 0, removed = 0, kept = 0;  // kept: state carried over
};

// The first generation. Errors: as LoadRules, or an engine refusal.
// `signatures`/`functions`: custom functions the rules may call and the runtime that calls them
// on this thread (REQUIRES: both outlive every generation).
// `bind`, when set, gives the predicate runtime for the loaded rules (a rule package binds its
// compiled predicates to them) instead of `runtime`.
absl::StatusOr<RuleGeneration> FirstGeneration(
    const std::optional<std::string>& dir_flag, bool endgame, schema::Schema& schema,
    const engine::EngineLimits& limits, engine::PredicateRuntime* runtime,
    const std::function<absl::StatusOr<engine::PredicateRuntime*>(const LoadedRules&)>& bind =
        nullptr,
    const std::vector<eql::CustomFunction>* signatures = nullptr,
    engine::FunctionRuntime* functions = nullptr);

// The next generation, or an error (FAILED_PRECONDITION with the count of failed rules) when the
// new set has errors; then `current` is left untouched. On success `current.detector` has given
// its engines away and must only be destroyed.
absl::StatusOr<RuleGeneration> NextGeneration(RuleGeneration& current, bool endgame,
                                              schema::Schema& schema,
                                              const engine::EngineLimits& limits,
                                              engine::PredicateRuntime* runtime,
                                              ReloadOutcome* outcome);

}  // namespace kestrel::cli
