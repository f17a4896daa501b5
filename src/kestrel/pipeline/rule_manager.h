// RuleManager: the rule set of a running Kestrel — loaded from a rule directory or a rule
// package, watched, recompiled into new generations, and handed to the detection thread.
//
// A generation (RuleGeneration) is one active rule set: its compiled rules in load order, its
// version and load time, and, when the pipeline runs one Detector, that Detector.
//
// Reload, in two halves:
//  - Compile (CompileGeneration; the manager runs it on its own compile thread, started by
//    Poll() when the watcher says a reload is due): the whole directory is compiled again; if
//    any rule fails the new set is refused (the diagnostics are printed; the running set stays:
//    rollback). Rules whose definition did not change (same id, query, dialect and metadata)
//    take over the running rule's program, so that their engine can carry over; the rule index
//    (the pattern databases: the costly part) is built here, and, with native predicates, the
//    new Detector with fresh engines. A compile that exceeds the budget (wall time, or bytes of
//    pattern databases) is refused with a diagnostic.
//  - Commit (CommitGeneration; the detection thread, between two events): every kept rule's
//    engine, partial matches and all, moves from the running Detector into the new one, and the
//    new generation becomes current. Detection never waits for a compile; a commit moves
//    pointers. (With a Lua or Wasm predicate runtime the new Detector's engines are created at
//    commit, on the detection thread that owns the runtime.)
//
// Runtimes: predicate and function runtimes are per thread. The manager owns one for the
// detection thread and makes one for each bus worker (SetUpWorker).
// Thread safety: Poll() from the pipeline's timer thread; everything else from the detection
// thread; the compile thread only touches the generation it builds (and reads the running one's
// programs, which nobody changes). Tested by rule_manager_test.cc and cli_test.sh.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/bus/parallel_detector.h"
#include "kestrel/engine/detector.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/eql/sema.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/rule_package.h"
#include "kestrel/pipeline/rule_watcher.h"

namespace kestrel::pipeline {

struct RuleGeneration {
  uint64_t version = 0;
  std::string loaded_at;  // UTC, for logs and `rules` listings
  LoadedRules rules;
  // Over rules.active's programs, in order (not built when a bus runs the rules: it builds its
  // own, one per worker set).
  std::shared_ptr<const engine::RuleIndex> index;
  std::unique_ptr<engine::Detector> detector;  // nullptr when a bus runs the rules
  // Custom functions (a package's): their signatures and the detection thread's runtime.
  const std::vector<eql::CustomFunction>* signatures = nullptr;
  engine::FunctionRuntime* functions = nullptr;
  // The Sigma mapping the rules were loaded with (`--sigma-mapping`; null: the built-in one),
  // read once at start: every reload's generation takes it over.
  std::shared_ptr<const rules::SigmaMapping> sigma_mapping;
};

struct ReloadOutcome {
  size_t added = 0, changed = 0, removed = 0, kept = 0;  // kept: state carried over
};

// A compiled generation waiting for its commit: `keep[i]` is the rule of the running generation
// whose engine rule i takes over, or -1.
struct CompiledGeneration {
  RuleGeneration generation;
  std::vector<int64_t> keep;
  ReloadOutcome outcome;
  // With a bus: the workers' half of the reload, prepared on the compile thread.
  std::shared_ptr<bus::ParallelDetector::PreparedReload> bus_reload;
};

struct CompileBudget {
  int64_t time_ns = 0;       // 0: no limit
  uint64_t index_bytes = 0;  // pattern databases of the rule index; 0: no limit
};

// The first generation. Errors: as LoadRules, or an engine refusal.
// `signatures`/`functions`: custom functions the rules may call and the runtime that calls them
// on this thread (REQUIRES: both outlive every generation).
// `bind`, when set, gives the predicate runtime for the loaded rules (a rule package binds its
// compiled predicates to them) instead of `runtime`. `with_detector`: build the Detector.
// `sigma_mapping`: the generation's (and its reloads') Sigma mapping; null: the built-in one.
absl::StatusOr<RuleGeneration> FirstGeneration(
    const std::optional<std::string>& dir_flag, bool endgame, schema::Schema& schema,
    const engine::EngineLimits& limits, engine::PredicateRuntime* runtime,
    const std::function<absl::StatusOr<engine::PredicateRuntime*>(const LoadedRules&)>& bind =
        nullptr,
    const std::vector<eql::CustomFunction>* signatures = nullptr,
    engine::FunctionRuntime* functions = nullptr, bool with_detector = true,
    std::shared_ptr<const rules::SigmaMapping> sigma_mapping = nullptr);

// The compile half of a reload (any thread; `current` is only read). Errors: FAILED_PRECONDITION
// with the count of failed rules when the new set has errors, RESOURCE_EXHAUSTED past `budget`.
// Without `bus` the rule index is built, and with `build_detector` the new Detector too (native
// predicates; otherwise CommitGeneration makes its engines); with `bus`, the bus's reload is
// prepared instead (its workers' indexes).
absl::StatusOr<CompiledGeneration> CompileGeneration(const RuleGeneration& current, bool endgame,
                                                     schema::Schema& schema,
                                                     const engine::EngineLimits& limits,
                                                     bool build_detector,
                                                     const CompileBudget& budget = {},
                                                     const bus::ParallelDetector* bus = nullptr);

// The commit half (the detection thread): kept rules' engines move from `current.detector` into
// the new one (built here with `runtime` when the compile did not build it, and the current
// generation has a detector). Afterwards `current` may only be destroyed.
absl::StatusOr<RuleGeneration> CommitGeneration(RuleGeneration& current,
                                                CompiledGeneration compiled, schema::Schema& schema,
                                                const engine::EngineLimits& limits,
                                                engine::PredicateRuntime* runtime);

// Compile and commit at once (tests, and callers without a compile thread).
absl::StatusOr<RuleGeneration> NextGeneration(RuleGeneration& current, bool endgame,
                                              schema::Schema& schema,
                                              const engine::EngineLimits& limits,
                                              engine::PredicateRuntime* runtime,
                                              ReloadOutcome* outcome);

struct RuleManagerOptions {
  std::optional<std::string> rules_dir;  // unset: ResolveRulesDir's search
  bool endgame = false;                  // the dialect of rules that do not name one
  std::string predicate_runtime = "native";
  engine::EngineLimits limits;
  bool watch = true;           // watch the directory (not for packages)
  bool build_detector = true;  // false: a bus runs the rules (generations carry no Detector)
  CompileBudget budget;
  int quiet_ms = 200;  // the watcher's debounce
  // A rule directory (or package) that a user other than root or this process's user could
  // change lets that user add an `action: kill` rule: refused with this set (--enforce on),
  // else a loud warning naming what is writable.
  bool refuse_unsafe_permissions = false;
  // Open() fails (FAILED_PRECONDITION) when a rule of the first generation failed to load,
  // instead of running without it (`run --strict-rules`).
  bool strict_rules = false;
  // `--sigma-mapping` (pipeline::LoadSigmaMappingOption), used by the first load and every
  // reload; null: the built-in mapping. Refused with a rule package (INVALID_ARGUMENT).
  std::shared_ptr<const rules::SigmaMapping> sigma_mapping;
};

class RuleManager {
 public:
  // Opens the package (if rules_dir is one), loads the first generation, starts the watcher.
  // Errors: NOT_FOUND for a missing --rules directory, FAILED_PRECONDITION / INVALID_ARGUMENT
  // for a bad package or runtime choice (usage errors), others (failures).
  static absl::StatusOr<std::unique_ptr<RuleManager>> Open(const RuleManagerOptions& options,
                                                           schema::Schema& schema);
  ~RuleManager();  // waits for a compile under way
  RuleManager(const RuleManager&) = delete;
  RuleManager& operator=(const RuleManager&) = delete;

  RuleGeneration& current() { return current_; }
  const std::vector<const rules::CompiledRule*>& active() const { return current_.rules.active; }
  bool watching() const { return watcher_ != nullptr; }

  // Gives a bus worker's Detector its own predicate and function runtimes.
  absl::Status SetUpWorker(engine::Detector& detector);
  // The bus that runs the rules (REQUIRES: build_detector false; before the first Poll()): the
  // compile thread prepares its reloads too (ParallelDetector::PrepareReload).
  void UseBus(const bus::ParallelDetector* bus) { bus_ = bus; }

  // Timer thread: starts a compile when a reload is due and none is under way. A refused set is
  // reported (logged, counted) at once, whether or not events arrive.
  void Poll();
  // Detection thread, between two events: whether a compiled generation awaits its commit (one
  // relaxed load).
  bool ReloadReady() const { return ready_.load(std::memory_order_relaxed); }
  // Takes it (nullopt when none).
  std::optional<CompiledGeneration> TakeCompiled();
  // Makes `compiled` current (see CommitGeneration). Errors leave the running set.
  absl::Status Commit(CompiledGeneration compiled);
  // Counts a reload refused after its compile (e.g. the guard could not arm it).
  void CountRefused() { refused_.fetch_add(1, std::memory_order_relaxed); }

  uint64_t reloads() const { return reloads_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  // The running generation's version and load time, readable from any thread.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  std::string loaded_at() const;

 private:
  RuleManager(const RuleManagerOptions& options, schema::Schema& schema);
  absl::Status Load();
  absl::Status CheckPermissions(const std::string& dir) const;
  void Compile();

  RuleManagerOptions options_;
  schema::Schema& schema_;
  std::unique_ptr<OpenedPackage> package_;
  std::vector<std::unique_ptr<engine::PredicateRuntime>> runtimes_;  // [0]: detection thread
  std::vector<std::unique_ptr<engine::FunctionRuntime>> function_runtimes_;
  RuleGeneration current_;
  std::unique_ptr<RuleWatcher> watcher_;
  const bus::ParallelDetector* bus_ = nullptr;

  // The compile thread and what it hands over.
  std::thread compiler_;
  std::atomic<bool> compiling_{false};
  std::atomic<bool> ready_{false};
  mutable std::mutex mu_;
  std::optional<CompiledGeneration> compiled_;  // guarded by mu_
  std::string loaded_at_;                       // guarded by mu_
  std::atomic<uint64_t> version_{0};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace kestrel::pipeline
