// `kestrel run`: wires the source (live eBPF or NDJSON), the rule set (an engine::Detector) and
// the alert sink; see run_command.h. Single-threaded: events in input order, rules in load order,
// so the alert stream depends on the input and the rules only. A live source is stopped by
// --duration or SIGINT/SIGTERM; the events already collected are still processed.
#include "kestrel/cli/run_command.h"

#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/alert_sink.h"
#include "kestrel/actions/flight_recorder.h"
#include "kestrel/base/status.h"
#include "kestrel/bus/parallel_detector.h"
#include "kestrel/cli/blocking.h"
#include "kestrel/cli/detection.h"
#include "kestrel/cli/log_commands.h"
#include "kestrel/cli/predicate_runtime_option.h"
#include "kestrel/cli/rule_package.h"
#include "kestrel/cli/rule_reloader.h"
#include "kestrel/cli/sinks_option.h"
#include "kestrel/engine/detector.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ndjson/ndjson_source.h"
#ifdef KESTREL_HAVE_EBPF
#include "kestrel/sources/ebpf/ebpf_source.h"
#endif

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> ExecutableDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return std::nullopt;
  return exe.parent_path();
}

}  // namespace

std::optional<fs::path> ResolveRulesDir(const std::optional<std::string>& flag,
                                        std::string* error) {
  std::error_code ec;
  if (flag) {
    if (fs::is_directory(*flag, ec)) return fs::path(*flag);
    *error = fmt::format("rule directory '{}' does not exist or is not a directory", *flag);
    return std::nullopt;
  }
  std::vector<fs::path> candidates = {fs::path("rules")};
  if (auto dir = ExecutableDir()) {
    candidates.push_back(*dir / "rules");
    candidates.push_back(*dir / ".." / "share" / "kestrel" / "rules");
  }
#ifdef KESTREL_BUILD_RULES_DIR
  // A build that is run where it was built (build/release/kestrel): the source tree's rules.
  candidates.push_back(fs::path(KESTREL_BUILD_RULES_DIR));
#endif
  for (const fs::path& c : candidates) {
    if (fs::is_directory(c, ec)) return c;
  }
  *error =
      "no rule directory found (looked for ./rules, rules/ beside the executable, "
      "../share/kestrel/rules and the source tree's rules/); pass --rules DIR";
  return std::nullopt;
}

absl::Status ApplyTimeOptions(bool endgame, const std::optional<std::string>& field,
                              const std::optional<std::string>& format,
                              event::DecoderOptions* decoder) {
  decoder->time_field = field.value_or(endgame ? "timestamp" : "@timestamp");
  auto parsed = event::ParseTimeFormat(format.value_or(endgame && !field ? "filetime" : "auto"));
  if (!parsed.ok()) return parsed.status();
  decoder->time_format = *parsed;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  std::string_view number = text;
  double unit = 1e9;
  for (auto [suffix, ns] : {std::pair<std::string_view, double>{"ms", 1e6},
                            {"s", 1e9},
                            {"m", 60e9},
                            {"h", 3600e9},
                            {"d", 86400e9}}) {
    if (text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix) {
      number = text.substr(0, text.size() - suffix.size());
      unit = ns;
      break;
    }
  }
  std::string n(number);
  char* end = nullptr;
  double value = n.empty() ? -1 : std::strtod(n.c_str(), &end);
  if (n.empty() || end != n.c_str() + n.size() || !(value >= 0) || value * unit > 9.2e18) {
    return absl::InvalidArgumentError(
        fmt::format("bad duration '{}': expected e.g. 30s, 500ms, 5m, 2h, 1d or seconds", text));
  }
  return static_cast<int64_t>(value * unit);
}

std::string DefaultSource() {
#ifdef KESTREL_HAVE_EBPF
  return "ebpf";
#else
  return "";
#endif
}

int Run(const RunOptions& options) {
  schema::Schema schema;

  // Source.
  std::string default_source = DefaultSource();
  std::string_view spec =
      options.source.empty() ? std::string_view(default_source) : std::string_view(options.source);
  if (spec.empty()) {
    spdlog::error(
        "no event source: pass --source ndjson:PATH (or ndjson:- for standard input); this "
        "build has no live eBPF collection (built with -DKESTREL_EBPF=OFF or not on Linux)");
    return kExitUsage;
  }
  bool live = false;
  sources::NdjsonOptions ndjson;
  if (!ParseSourceSpec(spec, &live, &ndjson.path)) return kExitUsage;
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    spdlog::error("unknown --dialect '{}': expected elasticsearch or endgame", options.dialect);
    return kExitUsage;
  }
  bool endgame = options.dialect == "endgame";
  if (absl::Status s =
          ApplyTimeOptions(endgame, options.time_field, options.time_format, &ndjson.decoder);
      !s.ok()) {
    spdlog::error("--time-format: {}", base::Message(s));
    return kExitUsage;
  }

  auto on_diagnostic = ReportDiagnostics("malformed event skipped", options.max_reported_malformed);
  auto enforce = RunEnforceMode(options, live);
  if (!enforce.ok()) {
    spdlog::error("{}", base::Message(enforce.status()));
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<sources::Source>> source;
#ifdef KESTREL_HAVE_EBPF
  sources::EbpfSource* ebpf_source = nullptr;
#endif
  if (live) {
#ifdef KESTREL_HAVE_EBPF
    InstallStopSignals();
    sources::EbpfOptions ebpf;
    ebpf.ignore_comms = options.ignore_comms;
    ebpf.ignore_paths = options.ignore_paths;
    ebpf.stop = &StopFlag();
    auto opened = sources::EbpfSource::Open(&schema, ebpf, on_diagnostic);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    spdlog::info("watching this machine: {}; {} processes already running read from /proc",
                 (*opened)->mechanism(), (*opened)->processes_at_start());
    ebpf_source = opened->get();
    source = std::unique_ptr<sources::Source>(std::move(*opened));
#endif
  } else {
    auto opened = sources::NdjsonSource::Open(&schema, ndjson, on_diagnostic);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    source = std::unique_ptr<sources::Source>(std::move(*opened));
  }

  // Rules. A rule with an error is reported and left out; the others still run.
  engine::EngineLimits limits =
      StreamingLimits(options.max_partials_per_rule, options.default_ttl_ns);
  // A rule package (rule_package.h) brings its rule sources and compiled predicates.
  std::optional<std::string> rules_dir = options.rules_dir;
  bool rules_endgame = endgame;
  auto opened = OpenPackageIfAny(&rules_dir, &rules_endgame, options.predicate_runtime);
  if (!opened.ok()) {
    spdlog::error("{}", base::Message(opened.status()));
    return opened.status().code() == absl::StatusCode::kFailedPrecondition ? kExitUsage
                                                                           : kExitFailure;
  }
  std::unique_ptr<OpenedPackage> package = std::move(*opened);
  // Predicate and function runtimes are per thread: one for this thread (workers 1) and one
  // for each bus worker. `new_runtime` makes another (a package's after Bind(); nullptr when
  // predicates are evaluated natively).
  const runtime::FunctionModule* function_module =
      package != nullptr ? package->functions() : nullptr;
  const std::vector<eql::CustomFunction>* signatures =
      function_module != nullptr ? &function_module->signatures() : nullptr;
  std::vector<std::unique_ptr<engine::PredicateRuntime>> runtimes;
  std::vector<std::unique_ptr<engine::FunctionRuntime>> function_runtimes;
  auto new_runtime = [&]() -> absl::StatusOr<engine::PredicateRuntime*> {
    auto made = package != nullptr ? package->NewRuntime()
                                   : MakePredicateRuntime(options.predicate_runtime);
    if (!made.ok()) return made.status();
    runtimes.push_back(std::move(*made));
    return runtimes.back().get();
  };
  auto new_functions = [&]() -> absl::StatusOr<engine::FunctionRuntime*> {
    if (function_module == nullptr) return nullptr;
    auto made = function_module->NewInstance();
    if (!made.ok()) return made.status();
    function_runtimes.push_back(std::move(*made));
    return function_runtimes.back().get();
  };
  if (package == nullptr) {
    if (auto probe = MakePredicateRuntime(options.predicate_runtime); !probe.ok()) {
      spdlog::error("{}", base::Message(probe.status()));
      return kExitUsage;
    }
  }
  std::function<absl::StatusOr<engine::PredicateRuntime*>(const LoadedRules&)> bind =
      [&](const LoadedRules& loaded) -> absl::StatusOr<engine::PredicateRuntime*> {
    if (package != nullptr) {
      if (absl::Status bound = package->Bind(loaded.build, schema); !bound.ok()) return bound;
      spdlog::info("rule package {}: target {}, {} rules, hashes verified", *options.rules_dir,
                   package->target(), loaded.active.size());
    }
    return new_runtime();
  };
  auto this_thread_functions = new_functions();
  if (!this_thread_functions.ok()) {
    spdlog::error("{}", base::Message(this_thread_functions.status()));
    return kExitFailure;
  }
  auto first = FirstGeneration(rules_dir, rules_endgame, schema, limits, nullptr, bind, signatures,
                               *this_thread_functions);
  if (!first.ok()) {
    spdlog::error("{}", base::Message(first.status()));
    return first.status().code() == absl::StatusCode::kNotFound ? kExitUsage : kExitFailure;
  }
  RuleGeneration generation = std::move(*first);
  // Rule i of the running set (the Detector's rule i); replaced by a reload.
  const std::vector<const rules::CompiledRule*>* active = &generation.rules.active;
  size_t rules_failed = generation.rules.failed;
  const engine::RuleIndexStats& index_stats = generation.detector->index_stats();
  spdlog::debug("rule index: {} of {} stages anchored, {} hashed values, {} patterns",
                index_stats.anchored_stages, index_stats.stages, index_stats.hashed_values,
                index_stats.patterns);
  absl::flat_hash_map<std::string, uint64_t> alerts_per_rule;  // by rule id
  // 0: one worker per core (the reading thread then shares a core with one of them).
  const size_t workers = options.workers == 0
                             ? std::max<size_t>(1, std::thread::hardware_concurrency())
                             : options.workers;
  if (workers > 256) {
    spdlog::error("bad --workers {}: expected 0 (one per core) to 256", options.workers);
    return kExitUsage;
  }
  bus::FullPolicy queue_policy = live ? bus::FullPolicy::kDrop : bus::FullPolicy::kBlock;
  if (options.queue_full == "drop") {
    queue_policy = bus::FullPolicy::kDrop;
  } else if (options.queue_full == "block") {
    queue_policy = bus::FullPolicy::kBlock;
  } else if (!options.queue_full.empty()) {
    spdlog::error("bad --queue-full '{}': expected drop or block", options.queue_full);
    return kExitUsage;
  }

  // Output.
  auto sink = actions::JsonLinesSink::Open(&schema, options.output);
  if (!sink.ok()) {
    spdlog::error("{}", base::Message(sink.status()));
    return kExitFailure;
  }

  // Alert sinks (--sink, run.sinks): each delivers on its own thread (sinks_option.h).
  std::unique_ptr<actions::SinkSet> sinks;
  if (!options.sinks.empty()) {
    auto built = BuildSinks(options.sinks, &schema);
    if (!built.ok()) {
      spdlog::error("{}", base::Message(built.status()));
      return built.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                         : kExitFailure;
    }
    sinks = std::move(*built);
  }

  // Flight recorder.
  std::unique_ptr<actions::FlightRecorder> recorder;
  if (options.flight_recorder) {
    absl::StatusOr<int64_t> window = ParseDuration(*options.flight_recorder);
    if (!window.ok() || *window <= 0) {
      spdlog::error("bad --flight-recorder '{}': expected a duration such as 30s or 5m",
                    *options.flight_recorder);
      return kExitUsage;
    }
    actions::FlightRecorderOptions recorder_options;
    recorder_options.window_ns = *window;
    if (options.flight_recorder_dir) {
      recorder_options.directory = *options.flight_recorder_dir;
    } else if (options.output != "-") {
      recorder_options.directory =
          (fs::path(options.output).parent_path() / "flight-recordings").string();
    } else {
      recorder_options.directory = "flight-recordings";
    }
    log::LogMetadata meta;
    meta.kestrel_version = options.version;
    recorder = std::make_unique<actions::FlightRecorder>(schema, recorder_options, meta);
    spdlog::info("flight recorder: {} of history per host, recordings in {}",
                 *options.flight_recorder, recorder_options.directory);
  }

  spdlog::info("reading events from {}", (*source)->name());
  event::Event event;
  int exit_code = kExitOk;
  uint64_t index = 0;
  uint64_t lost_alerts = 0;
  // Each alert is written as soon as its match completes; the Detector runs rules in load order,
  // so the output order is a function of the input order alone.
  // Events a live source lost: alerts over them say so (context.degraded), and a warning
  // (at most one a second) gives the count.
  engine::LossLedger ledger;
  std::vector<sources::SourceLoss> losses;
  uint64_t unwarned_kernel = 0, unwarned_user = 0;
  auto last_warning = std::chrono::steady_clock::now() - std::chrono::seconds(2);
  auto warn_losses = [&](bool force) {
    if (unwarned_kernel + unwarned_user == 0) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_warning < std::chrono::seconds(1)) return;
    last_warning = now;
    sources::SourceStats st = (*source)->stats();
    spdlog::warn(
        "events dropped: {} in the kernel (ring buffer full), {} in user space (queue full) "
        "since the last warning; {} and {} in total. Alerts over that time carry "
        "context.degraded",
        unwarned_kernel, unwarned_user, st.kernel_drops, st.user_drops);
    unwarned_kernel = unwarned_user = 0;
  };
  // With workers, matches arrive on the bus's merger thread while this thread reads events: the
  // ledger, the flight recorder and the sink are shared under this lock (uncontended otherwise).
  std::mutex alert_mu;
  auto on_match = [&](size_t rule, engine::QueryMatch& m) {
    std::lock_guard<std::mutex> lock(alert_mu);
    const rules::CompiledRule& compiled = *(*active)[rule];
    engine::Alert alert = MakeAlert(compiled, m, schema);
    if (compiled.spec.action == rules::RuleAction::kKill) ApplyKill(*enforce, live, &alert);
    ledger.Mark(&alert);
    if (recorder) {
      auto path = recorder->Dump(alert);
      if (path.ok()) {
        alert.flight_recording = *path;
      } else {
        spdlog::warn("flight recording of alert {} failed: {}", alert.id,
                     base::Message(path.status()));
      }
    }
    if (sinks) sinks->Submit(alert, &(*active)[rule]->spec);  // queued; counted by each sink
    if (absl::Status s = (*sink)->Write(alert); !s.ok()) {
      if (lost_alerts++ == 0) spdlog::error("{}", base::Message(s));
      return;
    }
    ++alerts_per_rule[(*active)[rule]->spec.id];
  };
  // Blocking (--enforce): the guard judges held execs/opens with the block rules on its own
  // threads; each verdict is an alert to the same sink, under the same lock.
  // A block sequence's held access is judged once the live stream has caught up with it.
  std::function<void(uint64_t)> request_flush;
#ifdef KESTREL_HAVE_EBPF
  if (ebpf_source != nullptr) {
    request_flush = [ebpf_source](uint64_t ticket) { ebpf_source->RequestFlush(ticket); };
  }
#endif
  auto guard = BlockingGuard::Start(
      options, live, *active, schema,
      [&](engine::Alert& alert) {
        std::lock_guard<std::mutex> lock(alert_mu);
        if (absl::Status s = (*sink)->Write(alert); !s.ok()) {
          if (lost_alerts++ == 0) spdlog::error("{}", base::Message(s));
          return;
        }
        ++alerts_per_rule[alert.rule_id];
      },
      request_flush);
  if (!guard.ok()) {
    spdlog::error("{}", base::Message(guard.status()));
    return guard.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  // `kill` rules on exact executables are enforced in the kernel at exec as well (re-armed at
  // every reload).
  auto arm_kill = [&] {
#ifdef KESTREL_HAVE_EBPF
    if (ebpf_source == nullptr || *enforce != actions::blocking::EnforceMode::kOn) return;
    std::vector<std::string> paths = KillAtExecPaths(*active);
    for (const std::string& error : ebpf_source->ArmKill(paths)) {
      spdlog::warn("kill at exec not armed for {}", error);
    }
    if (!paths.empty()) {
      spdlog::info("kill at exec armed for {} executable{}", paths.size(),
                   paths.size() == 1 ? "" : "s");
    }
#endif
  };
  arm_kill();
#ifdef KESTREL_HAVE_EBPF
  if (ebpf_source != nullptr && *guard) {
    BlockingGuard* g = guard->get();
    ebpf_source->OnFlushed([g](uint64_t ticket) { g->Flushed(ticket); });
  }
#endif
  // Hot reload: the rule directory is watched (inotify) and SIGHUP asks for a reload.
  std::unique_ptr<RuleWatcher> watcher;
  uint64_t reloads = 0, reload_failures = 0;
  if (options.reload && package == nullptr && !generation.rules.directory.empty()) {
    auto started = RuleWatcher::Start(generation.rules.directory);
    if (started.ok()) {
      watcher = std::move(*started);
    } else {
      spdlog::warn("rule directory not watched ({}); changes need a restart",
                   base::Message(started.status()));
    }
  }
  std::unique_ptr<bus::ParallelDetector> parallel;
  if (workers > 1) {
    bus::ParallelOptions bus_options;
    bus_options.workers = workers;
    bus_options.policy = queue_policy;
    bus_options.limits = limits;
    // Each worker's Detectors get their own predicate and function runtimes.
    bus_options.setup = [&](size_t, engine::Detector& detector) -> absl::Status {
      auto runtime = new_runtime();
      if (!runtime.ok()) return runtime.status();
      auto functions = new_functions();
      if (!functions.ok()) return functions.status();
      detector.UsePredicateRuntime(*runtime);
      detector.UseFunctions(*functions);
      return absl::OkStatus();
    };
    std::vector<const eql::IrProgram*> programs;
    for (const rules::CompiledRule* rule : *active) programs.push_back(rule->program.get());
    auto created =
        bus::ParallelDetector::Create(schema, std::move(programs), bus_options, on_match);
    if (!created.ok()) {
      spdlog::error("{}", base::Message(created.status()));
      return kExitFailure;
    }
    parallel = std::move(*created);
    spdlog::info(
        "{} workers: {} rules on every worker (state within one process), {} on worker "
        "0; queues {} when full",
        workers, parallel->local_rules(), parallel->global_rules(),
        queue_policy == bus::FullPolicy::kDrop ? "drop" : "block");
  }
  // Metrics (`--metrics-addr`): this thread publishes a snapshot now and then; the server
  // thread only renders the latest one.
  metrics::Registry registry;
  std::unique_ptr<metrics::MetricsServer> metrics_server;
  std::array<uint64_t, schema::Schema::kMaxCategories> events_by_category{};
  auto publish = [&] {
    if (!metrics_server) return;
    metrics::Snapshot snap;
    sources::SourceStats st = (*source)->stats();
    snap.source = std::string((*source)->name());
    snap.events = st.events;
    for (size_t c = 0; c < events_by_category.size(); ++c) {
      if (events_by_category[c] == 0) continue;
      snap.events_by_category.emplace_back(
          std::string(schema.CategoryName(static_cast<schema::CategoryId>(c))),
          events_by_category[c]);
    }
    snap.malformed = st.malformed;
    snap.kernel_drops = st.kernel_drops;
    snap.user_drops = st.user_drops;
    snap.rule_set_version = generation.version;
    snap.rule_set_loaded_at = generation.loaded_at;
    snap.reloads = reloads;
    snap.reload_failures = reload_failures;
    if (*guard) snap.guard_accesses = (*guard)->Counts();
    if (parallel) {
      for (const bus::PartitionStats& p : parallel->partition_stats()) {
        snap.queue_drops += p.dropped;
        snap.partitions.push_back({p.routed, p.dropped, p.depth});
      }
    }
    std::lock_guard<std::mutex> lock(alert_mu);
    snap.alerts = (*sink)->written();
    snap.alerts_lost = lost_alerts;
    snap.eval_sample_interval = engine::EvalTimeHistogram::kSampleInterval;
    for (int b = 0; b < engine::EvalTimeHistogram::kBuckets; ++b) {
      snap.eval_bounds_ns.push_back(engine::EvalTimeHistogram::UpperBoundNs(b));
    }
    if (sinks) AddSinkMetrics(*sinks, &snap);
    for (size_t r = 0; r < active->size(); ++r) {
      metrics::RuleSnapshot rs;
      rs.id = (*active)[r]->spec.id;
      auto it = alerts_per_rule.find(rs.id);
      rs.alerts = it == alerts_per_rule.end() ? 0 : it->second;
      if (!parallel) {  // worker engines are read only by their threads
        const engine::EngineStats& es = generation.detector->stats(r);
        rs.partials = es.partials;
        rs.expired = es.expired;
        rs.evicted = es.evicted;
        rs.predicate_errors = generation.detector->predicate_errors(r);
      }
      engine::EvalTimeHistogram::Snapshot times =
          parallel ? parallel->eval_time(r) : generation.detector->eval_time(r).Read();
      rs.eval_buckets.assign(times.buckets.begin(), times.buckets.end());
      rs.eval_count = times.count;
      rs.eval_sum_ns = times.sum_ns;
      snap.rules.push_back(std::move(rs));
    }
    registry.Publish(std::move(snap));
  };
  if (options.metrics_addr) {
    auto started = metrics::MetricsServer::Start(*options.metrics_addr, &registry);
    if (!started.ok()) {
      spdlog::error("--metrics-addr: {}", base::Message(started.status()));
      return kExitUsage;
    }
    metrics_server = std::move(*started);
    spdlog::info("metrics: http://{}:{}/metrics", metrics_server->host(), metrics_server->port());
    publish();
  }
  // A ticker asks for a fresh snapshot twice a second (checked between events: one relaxed load).
  std::atomic<bool> publish_due{false}, ticker_done{false};
  std::thread ticker;
  if (metrics_server) {
    ticker = std::thread([&] {
      while (!ticker_done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        for (int i = 0; i < 4 && !ticker_done.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        publish_due.store(true, std::memory_order_relaxed);
      }
    });
  }
  struct TickerStop {
    std::atomic<bool>& done;
    std::thread& thread;
    ~TickerStop() {
      done.store(true);
      if (thread.joinable()) thread.join();
    }
  } ticker_stop{ticker_done, ticker};

  DurationTimer timer(live ? options.duration_ns : 0);
  while (true) {
    auto more = (*source)->Next(&event);
    (*source)->TakeLosses(&losses);
    if (!losses.empty()) {
      std::lock_guard<std::mutex> lock(alert_mu);
      for (const sources::SourceLoss& l : losses) {
        ledger.Record(l.begin_ns, l.end_ns, l.count);
        (l.kernel ? unwarned_kernel : unwarned_user) += l.count;
      }
      losses.clear();
    }
    warn_losses(false);
    if (!more.ok()) {
      spdlog::error("{}", base::Message(more.status()));
      exit_code = kExitFailure;
      break;
    }
    if (!*more) break;
    if (watcher && watcher->ReloadDue()) {
      {
        ReloadOutcome outcome;
        // The rule set at the rule directory; `generation` untouched if it does not compile.
        auto next =
            NextGeneration(generation, endgame, schema, limits, runtimes.front().get(), &outcome);
        if (next.ok() && *guard) {
          // The block rules first: with --enforce on, a set that cannot be enforced is refused
          // whole (the old one, guard included, keeps running).
          if (absl::Status s = (*guard)->Reload(next->rules.active); !s.ok()) {
            if (*enforce == actions::blocking::EnforceMode::kOn) {
              next = absl::FailedPreconditionError(fmt::format(
                  "--enforce on: the block rules cannot be armed: {}", base::Message(s)));
            } else {
              spdlog::warn("the new block rules are not evaluated inline: {}", base::Message(s));
            }
          }
        }
        if (next.ok() && parallel) {
          // Unchanged rules keep their program (and so their engines, on every worker).
          absl::flat_hash_map<const eql::IrProgram*, int64_t> old_rules;
          for (size_t j = 0; j < active->size(); ++j) {
            old_rules.emplace((*active)[j]->program.get(), static_cast<int64_t>(j));
          }
          std::vector<const eql::IrProgram*> programs;
          std::vector<int64_t> keep;
          for (const rules::CompiledRule* rule : next->rules.active) {
            programs.push_back(rule->program.get());
            auto it = old_rules.find(rule->program.get());
            keep.push_back(it == old_rules.end() ? -1 : it->second);
          }
          // Every worker switches between the same two events; the old set's matches are all
          // delivered (through `active`, still the old set) before this returns.
          if (absl::Status s = parallel->Reload(std::move(programs), std::move(keep)); !s.ok()) {
            spdlog::error("rule reload: a worker refused the new set: {}", base::Message(s));
          }
        }
        if (next.ok()) {
          {
            std::lock_guard<std::mutex> lock(alert_mu);  // the merger reads `active`
            generation = std::move(*next);  // between two events: no event sees half a set
          }
          ++reloads;
          arm_kill();
          publish();
          spdlog::info(
              "rules reloaded: version {} at {}: {} rules ({} unchanged, state kept; {} added, "
              "{} changed, {} removed)",
              generation.version, generation.loaded_at, active->size(), outcome.kept, outcome.added,
              outcome.changed, outcome.removed);
        } else {
          ++reload_failures;
          spdlog::error("rule reload refused, version {} keeps running: {}", generation.version,
                        base::Message(next.status()));
        }
      }
    }
    if (recorder) {
      std::lock_guard<std::mutex> lock(alert_mu);
      recorder->Observe(event);
    }
    if (*guard) (*guard)->Observe(event);
    if (parallel) {
      parallel->Publish(event);
    } else {
      generation.detector->Process(event, index, on_match);
    }
    ++index;
    if (metrics_server) {
      ++events_by_category[event.primary_category()];
      if (publish_due.load(std::memory_order_relaxed)) {
        publish_due.store(false, std::memory_order_relaxed);
        publish();
      }
    }
    if (index % 1'000'000 == 0) {
      std::lock_guard<std::mutex> lock(alert_mu);
      spdlog::info("progress: {} events, {} alerts", index, (*sink)->written());
    }
  }
  if (*guard) (*guard)->Stop();  // answers what it holds; its last verdicts reach the sink
  uint64_t queue_drops = 0;
  if (parallel) {
    parallel->Finish();  // drains every queue and delivers every match
    for (const bus::PartitionStats& p : parallel->partition_stats()) queue_drops += p.dropped;
  } else {
    generation.detector->Finish(on_match);
  }
  warn_losses(true);
  if (sinks) sinks->Close(kSinkCloseDeadline);  // what is not delivered by then stays spooled
  publish();
  if (absl::Status s = (*sink)->Flush(); !s.ok()) {
    spdlog::error("{}", base::Message(s));
    exit_code = kExitFailure;
  }

  sources::SourceStats stats = (*source)->stats();
  std::string summary = fmt::format(
      "summary: events read: {}, malformed lines: {}, alerts: {}, rules: {} loaded, {} failed",
      stats.events, stats.malformed, (*sink)->written(), active->size(), rules_failed);
  if (live || stats.kernel_drops > 0 || stats.user_drops > 0) {
    summary += fmt::format(", kernel drops: {}, user drops: {}, parse failures: {}",
                           stats.kernel_drops, stats.user_drops, stats.malformed);
  }
  if (parallel) {
    summary += fmt::format(", workers: {}, queue drops: {}", workers, queue_drops);
  }
  if (*guard) summary += (*guard)->Summary();
  if (stats.dropped_fields > 0) {
    summary += fmt::format(", fields dropped (schema budget): {}", stats.dropped_fields);
  }
  if (stats.missing_time > 0) {
    summary += fmt::format(", events without a time: {}", stats.missing_time);
  }
  if (sinks) summary += SinkSummary(*sinks);
  if (lost_alerts > 0) {
    summary += fmt::format(", alerts lost (output failed): {}", lost_alerts);
    exit_code = kExitFailure;
  }
  uint64_t expired = 0, evicted = 0;
  for (size_t r = 0; r < active->size(); ++r) {
    engine::EngineStats s = parallel ? parallel->stats(r) : generation.detector->stats(r);
    expired += s.expired;
    evicted += s.evicted;
    const std::string& id = (*active)[r]->spec.id;
    uint64_t alerts = alerts_per_rule.contains(id) ? alerts_per_rule[id] : 0;
    if (alerts > 0 || s.evicted > 0) {
      spdlog::info("rule {}: {} alerts, {} partial matches expired, {} evicted", id, alerts,
                   s.expired, s.evicted);
    }
  }
  if (reloads + reload_failures > 0) {
    summary += fmt::format(", rule reloads: {} ({} refused), rule set version: {}", reloads,
                           reload_failures, generation.version);
  }
  if (expired > 0 || evicted > 0) {
    summary += fmt::format(", partial matches expired: {}, evicted (quota): {}", expired, evicted);
  }
  // The summary is printed whatever the log level: scripts and people rely on it.
  fmt::print(stderr, "{}\n", summary);
  return exit_code;
}

}  // namespace kestrel::cli
