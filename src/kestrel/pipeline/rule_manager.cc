// RuleManager and the two halves of a reload; see rule_manager.h.
#include "kestrel/pipeline/rule_manager.h"

#include <chrono>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "kestrel/base/files.h"
#include "kestrel/base/fingerprint.h"
#include "kestrel/base/status.h"
#include "kestrel/base/time.h"
#include "kestrel/pipeline/predicate_runtime_option.h"

namespace kestrel::pipeline {
namespace {

std::string NowUtc() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return base::FormatTimestamp(ns);
}

// Everything about a rule that its alerts and matches depend on.
std::string Definition(const rules::CompiledRule& r) {
  base::Fingerprint f;
  f.Add(r.spec.id).Add(r.spec.name).Add(r.spec.description);
  f.Add(static_cast<int64_t>(r.spec.severity)).Add(static_cast<int64_t>(r.spec.risk_score));
  for (const std::string& t : r.spec.tags) f.Add(t);
  f.Add(static_cast<int64_t>(r.spec.action)).Add(static_cast<int64_t>(r.spec.dialect));
  f.Add(r.spec.query);
  return f.Hex();
}

std::vector<const eql::IrProgram*> Programs(const LoadedRules& rules) {
  std::vector<const eql::IrProgram*> programs;
  programs.reserve(rules.active.size());
  for (const rules::CompiledRule* rule : rules.active) programs.push_back(rule->program.get());
  return programs;
}

// The rule index over `g`'s programs (the costly part: vectorscan databases).
absl::Status BuildIndex(RuleGeneration& g) {
  auto index = engine::RuleIndex::Build(Programs(g.rules));
  if (!index.ok()) return index.status();
  g.index = std::shared_ptr<const engine::RuleIndex>(std::move(*index));
  return absl::OkStatus();
}

// `g`'s Detector with fresh engines (predicates compiled by `runtime`; nullptr: native), sealed
// with `g.index`. REQUIRES: BuildIndex(g).
absl::Status BuildEngines(RuleGeneration& g, schema::Schema& schema,
                          const engine::EngineLimits& limits, engine::PredicateRuntime* runtime) {
  g.detector = std::make_unique<engine::Detector>(schema, limits);
  g.detector->UsePredicateRuntime(runtime);
  g.detector->UseFunctions(g.functions);
  for (const rules::CompiledRule* rule : g.rules.active) {
    if (absl::Status s = g.detector->AddRule(rule->program.get()); !s.ok()) return s;
  }
  g.detector->Seal(g.index);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RuleGeneration> FirstGeneration(
    const std::optional<std::string>& dir_flag, bool endgame, schema::Schema& schema,
    const engine::EngineLimits& limits, engine::PredicateRuntime* runtime,
    const std::function<absl::StatusOr<engine::PredicateRuntime*>(const LoadedRules&)>& bind,
    const std::vector<eql::CustomFunction>* signatures, engine::FunctionRuntime* functions,
    bool with_detector, std::shared_ptr<const rules::SigmaMapping> sigma_mapping) {
  RuleGeneration g;
  g.signatures = signatures;
  g.functions = functions;
  g.sigma_mapping = std::move(sigma_mapping);
  auto loaded = LoadRules(dir_flag, endgame, schema, limits, signatures, g.sigma_mapping.get());
  if (!loaded.ok()) return loaded.status();
  g.rules = std::move(*loaded);
  if (bind) {
    auto bound = bind(g.rules);
    if (!bound.ok()) return bound.status();
    runtime = *bound;
  }
  g.version = 1;
  g.loaded_at = NowUtc();
  if (with_detector) {  // else a bus runs the rules and builds its own indexes
    if (absl::Status s = BuildIndex(g); !s.ok()) return s;
    if (absl::Status s = BuildEngines(g, schema, limits, runtime); !s.ok()) return s;
  }
  return g;
}

absl::StatusOr<CompiledGeneration> CompileGeneration(const RuleGeneration& current, bool endgame,
                                                     schema::Schema& schema,
                                                     const engine::EngineLimits& limits,
                                                     bool build_detector,
                                                     const CompileBudget& budget,
                                                     const bus::ParallelDetector* bus) {
  auto start = std::chrono::steady_clock::now();
  CompiledGeneration out;
  RuleGeneration& g = out.generation;
  g.signatures = current.signatures;
  g.functions = current.functions;
  g.sigma_mapping = current.sigma_mapping;  // read once at start; a reload uses the same
  auto loaded = LoadRules(current.rules.directory, endgame, schema, limits, g.signatures,
                          g.sigma_mapping.get());
  if (!loaded.ok()) return loaded.status();
  if (loaded->failed > 0) {
    return absl::FailedPreconditionError(
        fmt::format("{} rule(s) failed to load (diagnostics above)", loaded->failed));
  }
  g.rules = std::move(*loaded);
  g.version = current.version + 1;
  g.loaded_at = NowUtc();
  // Unchanged rules take over the running program, so that their engine can carry over.
  absl::flat_hash_map<std::string, size_t> old_rules;  // definition -> rule in `current`
  absl::flat_hash_map<std::string, bool> old_ids;      // id -> still present
  for (size_t i = 0; i < current.rules.active.size(); ++i) {
    old_rules.emplace(Definition(*current.rules.active[i]), i);
    old_ids[current.rules.active[i]->spec.id] = false;
  }
  for (const rules::CompiledRule* rule : g.rules.active) {
    auto old = old_rules.find(Definition(*rule));
    if (old != old_rules.end()) {
      auto& mine = g.rules.build.rules[static_cast<size_t>(rule - g.rules.build.rules.data())];
      mine.program = current.rules.active[old->second]->program;
      out.keep.push_back(static_cast<int64_t>(old->second));
      ++out.outcome.kept;
    } else {
      out.keep.push_back(-1);
      ++(old_ids.contains(rule->spec.id) ? out.outcome.changed : out.outcome.added);
    }
    if (auto it = old_ids.find(rule->spec.id); it != old_ids.end()) it->second = true;
  }
  for (const auto& [id, present] : old_ids) out.outcome.removed += present ? 0 : 1;
  if (bus == nullptr) {  // one Detector: its index here, its engines too when native
    if (absl::Status s = BuildIndex(g); !s.ok()) return s;
    if (build_detector) {
      if (absl::Status s = BuildEngines(g, schema, limits, nullptr); !s.ok()) return s;
    }
  } else {
    auto prepared = bus->PrepareReload(Programs(g.rules), out.keep);
    if (!prepared.ok()) return prepared.status();
    out.bus_reload = std::move(*prepared);
  }
  uint64_t bytes = out.bus_reload != nullptr
                       ? bus::ParallelDetector::DatabaseBytes(*out.bus_reload)
                       : (g.index != nullptr ? g.index->stats().database_bytes : 0);
  auto took = std::chrono::steady_clock::now() - start;
  int64_t took_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  if (budget.time_ns > 0 && took_ns > budget.time_ns) {
    return absl::ResourceExhaustedError(
        fmt::format("the new rule set took {:.1f} s to compile, over the budget of {:.1f} s "
                    "(reload_compile_budget)",
                    static_cast<double>(took_ns) / 1e9, static_cast<double>(budget.time_ns) / 1e9));
  }
  if (budget.index_bytes > 0 && bytes > budget.index_bytes) {
    return absl::ResourceExhaustedError(
        fmt::format("the new rule set's pattern databases take {} bytes, over the budget of {} "
                    "bytes (reload_memory_budget)",
                    bytes, budget.index_bytes));
  }
  return out;
}

absl::StatusOr<RuleGeneration> CommitGeneration(RuleGeneration& current,
                                                CompiledGeneration compiled, schema::Schema& schema,
                                                const engine::EngineLimits& limits,
                                                engine::PredicateRuntime* runtime) {
  RuleGeneration& g = compiled.generation;
  if (current.detector != nullptr && g.detector == nullptr) {
    // A Lua/Wasm runtime belongs to this thread: the engines are made here (the index is built).
    if (absl::Status s = BuildEngines(g, schema, limits, runtime); !s.ok()) return s;
  }
  if (current.detector != nullptr) {
    for (size_t i = 0; i < compiled.keep.size(); ++i) {
      if (compiled.keep[i] < 0) continue;
      g.detector->ReplaceEngine(
          i, current.detector->ReleaseEngine(static_cast<size_t>(compiled.keep[i])));
    }
  }
  return std::move(g);
}

absl::StatusOr<RuleGeneration> NextGeneration(RuleGeneration& current, bool endgame,
                                              schema::Schema& schema,
                                              const engine::EngineLimits& limits,
                                              engine::PredicateRuntime* runtime,
                                              ReloadOutcome* outcome) {
  *outcome = {};
  auto compiled = CompileGeneration(current, endgame, schema, limits,
                                    current.detector != nullptr && runtime == nullptr);
  if (!compiled.ok()) return compiled.status();
  *outcome = compiled->outcome;
  return CommitGeneration(current, std::move(*compiled), schema, limits, runtime);
}

RuleManager::RuleManager(const RuleManagerOptions& options, schema::Schema& schema)
    : options_(options), schema_(schema) {}

RuleManager::~RuleManager() {
  watcher_.reset();
  if (compiler_.joinable()) {
    if (compiling_.load()) spdlog::info("waiting for the rule compile under way to finish");
    compiler_.join();
  }
}

absl::StatusOr<std::unique_ptr<RuleManager>> RuleManager::Open(const RuleManagerOptions& options,
                                                               schema::Schema& schema) {
  std::unique_ptr<RuleManager> m(new RuleManager(options, schema));
  if (absl::Status s = m->Load(); !s.ok()) return s;
  return m;
}

absl::Status RuleManager::Load() {
  // A rule package (rule_package.h) brings its rule sources, compiled predicates and functions.
  std::optional<std::string> rules_dir = options_.rules_dir;
  auto opened = OpenPackageIfAny(&rules_dir, &options_.endgame, options_.predicate_runtime);
  if (!opened.ok()) {
    // A runtime that a package cannot take is a usage error; a package that does not verify, not.
    return opened.status().code() == absl::StatusCode::kFailedPrecondition
               ? absl::InvalidArgumentError(opened.status().message())
               : absl::InternalError(opened.status().message());
  }
  package_ = std::move(*opened);
  if (absl::Status s =
          CheckSigmaMappingWithPackage(package_ != nullptr, options_.sigma_mapping.get());
      !s.ok()) {
    return s;
  }
  if (package_ == nullptr) {
    if (auto probe = MakePredicateRuntime(options_.predicate_runtime); !probe.ok()) {
      return absl::InvalidArgumentError(probe.status().message());
    }
  }
  const runtime::FunctionModule* module = package_ != nullptr ? package_->functions() : nullptr;
  engine::FunctionRuntime* functions = nullptr;
  if (module != nullptr) {
    auto made = module->NewInstance();
    if (!made.ok()) return absl::InternalError(made.status().message());
    functions = made->get();
    function_runtimes_.push_back(std::move(*made));
  }
  auto bind = [&](const LoadedRules& loaded) -> absl::StatusOr<engine::PredicateRuntime*> {
    if (package_ != nullptr) {
      if (absl::Status bound = package_->Bind(loaded.build, schema_); !bound.ok()) return bound;
      spdlog::info("rule package {}: target {}, {} rules, hashes verified", *options_.rules_dir,
                   package_->target(), loaded.active.size());
    }
    auto made = package_ != nullptr ? package_->NewRuntime()
                                    : MakePredicateRuntime(options_.predicate_runtime);
    if (!made.ok()) return made.status();
    runtimes_.push_back(std::move(*made));
    return runtimes_.back().get();
  };
  auto first = FirstGeneration(rules_dir, options_.endgame, schema_, options_.limits, nullptr, bind,
                               module != nullptr ? &module->signatures() : nullptr, functions,
                               options_.build_detector, options_.sigma_mapping);
  if (!first.ok()) {
    return first.status().code() == absl::StatusCode::kNotFound
               ? first.status()
               : absl::InternalError(first.status().message());
  }
  current_ = std::move(*first);
  if (options_.strict_rules && current_.rules.failed > 0) {
    return absl::FailedPreconditionError(
        fmt::format("--strict-rules: {} rule{} failed to load (diagnostics above); not starting",
                    current_.rules.failed, current_.rules.failed == 1 ? "" : "s"));
  }
  if (absl::Status s =
          CheckPermissions(package_ != nullptr && options_.rules_dir ? *options_.rules_dir
                                                                     : current_.rules.directory);
      !s.ok()) {
    return s;
  }
  version_.store(current_.version);
  loaded_at_ = current_.loaded_at;
  if (current_.detector != nullptr) {
    const engine::RuleIndexStats& stats = current_.detector->index_stats();
    spdlog::debug("rule index: {} of {} stages anchored, {} hashed values, {} patterns",
                  stats.anchored_stages, stats.stages, stats.hashed_values, stats.patterns);
  }
  if (options_.watch && package_ == nullptr && !current_.rules.directory.empty()) {
    auto started = RuleWatcher::Start(current_.rules.directory, options_.quiet_ms);
    if (started.ok()) {
      watcher_ = std::move(*started);
    } else {
      spdlog::warn("rule directory not watched ({}); changes need a restart",
                   base::Message(started.status()));
    }
  }
  return absl::OkStatus();
}

absl::Status RuleManager::CheckPermissions(const std::string& dir) const {
  if (dir.empty()) return absl::OkStatus();
  std::vector<std::string> unsafe = base::WritableByOthers(dir);
  if (unsafe.empty()) return absl::OkStatus();
  std::string list;
  for (const std::string& u : unsafe) list += "\n  " + u;
  if (options_.refuse_unsafe_permissions) {
    return absl::FailedPreconditionError(fmt::format(
        "--enforce on: the rules could be changed by another user (who could add a kill "
        "rule); fix the ownership and modes of:{}",
        list));
  }
  spdlog::warn(
      "the rules could be changed by another user, who could add a block or kill rule; fix "
      "the ownership and modes of:{}",
      list);
  return absl::OkStatus();
}

absl::Status RuleManager::SetUpWorker(engine::Detector& detector) {
  auto made = package_ != nullptr ? package_->NewRuntime()
                                  : MakePredicateRuntime(options_.predicate_runtime);
  if (!made.ok()) return made.status();
  runtimes_.push_back(std::move(*made));
  detector.UsePredicateRuntime(runtimes_.back().get());
  if (package_ != nullptr && package_->functions() != nullptr) {
    auto functions = package_->functions()->NewInstance();
    if (!functions.ok()) return functions.status();
    function_runtimes_.push_back(std::move(*functions));
    detector.UseFunctions(function_runtimes_.back().get());
  }
  return absl::OkStatus();
}

void RuleManager::Poll() {
  if (watcher_ == nullptr || compiling_.load() || ready_.load()) return;
  if (!watcher_->ReloadDue()) return;
  if (compiler_.joinable()) compiler_.join();  // the previous compile, finished
  compiling_.store(true);
  compiler_ = std::thread([this] { Compile(); });
}

void RuleManager::Compile() {
  // Native predicates: the whole Detector is built here; a runtime's engines at commit.
  bool native = runtimes_.empty() || runtimes_.front() == nullptr;
  auto compiled = CompileGeneration(current_, options_.endgame, schema_, options_.limits,
                                    options_.build_detector && native, options_.budget, bus_);
  if (compiled.ok()) {
    spdlog::info("rule set version {} compiled ({} rules); it takes over between two events",
                 compiled->generation.version, compiled->generation.rules.active.size());
    std::lock_guard<std::mutex> lock(mu_);
    compiled_ = std::move(*compiled);
    ready_.store(true);
  } else {
    refused_.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("rule reload refused, version {} keeps running: {}", current_.version,
                  base::Message(compiled.status()));
  }
  compiling_.store(false);
}

std::optional<CompiledGeneration> RuleManager::TakeCompiled() {
  if (!ready_.load()) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  std::optional<CompiledGeneration> out = std::move(compiled_);
  compiled_.reset();
  ready_.store(false);
  return out;
}

absl::Status RuleManager::Commit(CompiledGeneration compiled) {
  engine::PredicateRuntime* runtime = runtimes_.empty() ? nullptr : runtimes_.front().get();
  auto next = CommitGeneration(current_, std::move(compiled), schema_, options_.limits, runtime);
  if (!next.ok()) {
    CountRefused();
    return next.status();
  }
  current_ = std::move(*next);
  version_.store(current_.version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    loaded_at_ = current_.loaded_at;
  }
  reloads_.fetch_add(1, std::memory_order_relaxed);
  return absl::OkStatus();
}

std::string RuleManager::loaded_at() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_at_;
}

}  // namespace kestrel::pipeline
