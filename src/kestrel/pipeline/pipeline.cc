// Pipeline; see pipeline.h.
#include "kestrel/pipeline/pipeline.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/file_sink.h"
#include "kestrel/base/files.h"
#include "kestrel/base/status.h"
#include "kestrel/engine/eval_timing.h"
#include "kestrel/pipeline/idle_memory.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/sinks_option.h"
#include "kestrel/pipeline/stop.h"
#include "kestrel/sources/ndjson/ndjson_source.h"
#ifdef KESTREL_HAVE_EBPF
#include "kestrel/sources/ebpf/ebpf_source.h"
#endif

namespace kestrel::pipeline {
namespace {

// What the user must change is INVALID_ARGUMENT; anything else is a failure.
absl::Status Usage(const absl::Status& s) { return absl::InvalidArgumentError(s.message()); }
absl::Status Failure(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ? absl::InternalError(s.message()) : s;
}

constexpr std::chrono::milliseconds kSinkDrainAfterSignal{500};

}  // namespace

Pipeline::Pipeline(const RunConfig& config)
    : config_(config), schema_(std::make_unique<schema::Schema>()) {}

Pipeline::~Pipeline() {
  StopTimer();
  // The bus and the guard call into the alert path: they stop first (member order does the rest).
  guard_.reset();
  parallel_.reset();
}

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Open(const RunConfig& config) {
  std::unique_ptr<Pipeline> p(new Pipeline(config));
  for (auto step : {&Pipeline::OpenSource, &Pipeline::OpenRules, &Pipeline::OpenOutputs,
                    &Pipeline::OpenBlocking, &Pipeline::OpenWorkers, &Pipeline::OpenMetrics}) {
    if (absl::Status s = ((*p).*step)(); !s.ok()) return s;
  }
  // Start-up is over: the compiler's pages and freed heap go back (idle_memory.h).
  ReleaseStartupMemory();
  return p;
}

absl::Status Pipeline::OpenSource() {
  std::string default_source = DefaultSource();
  std::string_view text =
      config_.source.empty() ? std::string_view(default_source) : std::string_view(config_.source);
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "no event source: pass --source ndjson:PATH (or ndjson:- for standard input); this "
        "build has no live eBPF collection (built with -DKESTREL_EBPF=OFF or not on Linux)");
  }
  auto spec = ParseSourceSpec(text);
  if (!spec.ok()) return spec.status();
  live_ = spec->live;
  if (config_.dialect != "elasticsearch" && config_.dialect != "endgame") {
    return absl::InvalidArgumentError(
        fmt::format("unknown --dialect '{}': expected elasticsearch or endgame", config_.dialect));
  }
  endgame_ = config_.dialect == "endgame";
  sources::NdjsonOptions ndjson;
  ndjson.path = spec->ndjson_path;
  if (absl::Status s =
          ApplyTimeOptions(endgame_, config_.time_field, config_.time_format, &ndjson.decoder);
      !s.ok()) {
    return absl::InvalidArgumentError(fmt::format("--time-format: {}", base::Message(s)));
  }
  auto enforce = RunEnforceMode(config_, live_);
  if (!enforce.ok()) return Usage(enforce.status());
  enforce_ = *enforce;
  // Every source stops on SIGINT/SIGTERM: the live one through its stop flag, NDJSON through
  // the stop pipe (standard input and FIFOs are interrupted at once).
  InstallStopSignals();
  auto on_diagnostic = ReportDiagnostics("malformed event skipped", config_.max_reported_malformed);
  if (live_) {
#ifdef KESTREL_HAVE_EBPF
    sources::EbpfOptions ebpf;
    ebpf.ignore_comms = config_.ignore_comms;
    ebpf.ignore_paths = config_.ignore_paths;
    ebpf.auditd_compat = config_.auditd_compat;
    ebpf.host = config_.host;
    ebpf.env_vars = config_.env_vars;
    ebpf.env_value_max = config_.env_value_max;
    ebpf.agent_version = config_.version;
    ebpf.stop = &StopFlag();
    auto opened = sources::EbpfSource::Open(schema_.get(), ebpf, on_diagnostic);
    if (!opened.ok()) return Failure(opened.status());
    spdlog::info("watching this machine: {}; {} processes already running read from /proc",
                 (*opened)->mechanism(), (*opened)->processes_at_start());
    ebpf_ = opened->get();
    source_ = std::move(*opened);
#endif
    return absl::OkStatus();
  }
  ndjson.stop_fd = StopFd();
  auto opened = sources::NdjsonSource::Open(schema_.get(), ndjson, on_diagnostic);
  if (!opened.ok()) return Failure(opened.status());
  source_ = std::move(*opened);
  return absl::OkStatus();
}

absl::Status Pipeline::OpenRules() {
  workers_ = config_.workers == 0 ? std::max<size_t>(1, std::thread::hardware_concurrency())
                                  : config_.workers;
  if (workers_ > 256) {
    return absl::InvalidArgumentError(
        fmt::format("bad --workers {}: expected 0 (one per core) to 256", config_.workers));
  }
  RuleManagerOptions options;
  options.rules_dir = config_.rules_dir;
  options.endgame = endgame_;
  options.predicate_runtime = config_.predicate_runtime;
  options.limits = StreamingLimits(config_.max_partials_per_rule, config_.default_ttl_ns,
                                   config_.state_budget_bytes);
  options.watch = config_.reload;
  options.build_detector = workers_ <= 1;
  options.budget.time_ns = config_.reload_compile_budget_ns;
  options.budget.index_bytes = config_.reload_memory_budget_bytes;
  options.refuse_unsafe_permissions = enforce_ == actions::blocking::EnforceMode::kOn;
  options.strict_rules = config_.strict_rules;
  auto mapping = LoadSigmaMappingOption(config_.sigma_mapping);
  if (!mapping.ok()) return mapping.status();  // INVALID_ARGUMENT: a usage error
  options.sigma_mapping = std::move(*mapping);
  if (config_.config_file) {
    // The configuration names the rules, the actions and the sinks: whoever can change it can
    // turn Kestrel against the host, as with the rules.
    std::vector<std::string> unsafe = base::WritableByOthers(*config_.config_file);
    if (!unsafe.empty()) {
      std::string list;
      for (const std::string& u : unsafe) list += "\n  " + u;
      if (options.refuse_unsafe_permissions) {
        return absl::FailedPreconditionError(
            fmt::format("--enforce on: the configuration could be changed by another user; fix the "
                        "ownership and mode of:{}",
                        list));
      }
      spdlog::warn(
          "the configuration could be changed by another user, who could redirect alerts or "
          "add block and kill rules; fix the ownership and mode of:{}",
          list);
    }
  }
  auto opened = RuleManager::Open(options, *schema_);
  if (!opened.ok()) {
    return opened.status().code() == absl::StatusCode::kNotFound ? Usage(opened.status())
                                                                 : opened.status();
  }
  rules_ = std::move(*opened);
  queue_policy_ = live_ ? bus::FullPolicy::kDrop : bus::FullPolicy::kBlock;
  if (config_.queue_full == "drop") {
    queue_policy_ = bus::FullPolicy::kDrop;
  } else if (config_.queue_full == "block") {
    queue_policy_ = bus::FullPolicy::kBlock;
  } else if (!config_.queue_full.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("bad --queue-full '{}': expected drop or block", config_.queue_full));
  }
  return absl::OkStatus();
}

absl::Status Pipeline::OpenOutputs() {
  // --output: written inline, one write per alert (actions/sink_set.h).
  sinks_ = std::make_unique<actions::SinkSet>(schema_.get());
  if (!config_.sinks.empty()) {
    auto built = BuildSinks(config_.sinks, schema_.get());
    if (!built.ok()) return built.status();  // INVALID_ARGUMENT: a usage error
    sinks_ = std::move(*built);
  }
  actions::FileSinkOptions output;
  output.path = config_.output;
  auto file = actions::FileSink::Open(output);
  if (!file.ok()) return Failure(file.status());
  auto format = actions::ParseAlertFormat(config_.output_format);
  if (!format) {
    return absl::InvalidArgumentError(
        fmt::format("--format: '{}' is not kestrel or ecs", config_.output_format));
  }
  sinks_->AddDirect(std::move(*file), *format);

  if (config_.flight_recorder) {
    absl::StatusOr<int64_t> window = ParseDuration(*config_.flight_recorder);
    if (!window.ok() || *window <= 0) {
      return absl::InvalidArgumentError(
          fmt::format("bad --flight-recorder '{}': expected a duration such as 30s or 5m",
                      *config_.flight_recorder));
    }
    namespace fs = std::filesystem;
    actions::FlightRecorderOptions recorder;
    recorder.window_ns = *window;
    if (config_.flight_recorder_dir) {
      recorder.directory = *config_.flight_recorder_dir;
    } else if (config_.output != "-") {
      recorder.directory = (fs::path(config_.output).parent_path() / "flight-recordings").string();
    } else {
      recorder.directory = "flight-recordings";
    }
    log::LogMetadata meta;
    meta.kestrel_version = config_.version;
    recorder_ = std::make_unique<actions::FlightRecorder>(*schema_, recorder, meta);
    spdlog::info("flight recorder: {} of history per host, recordings in {}",
                 *config_.flight_recorder, recorder.directory);
  }
  alerts_ =
      std::make_unique<AlertBuilder>(*schema_, sinks_.get(), recorder_.get(), enforce_, live_);
  alerts_->UseRules(&rules_->current().rules.active);
  alerts_->SetDefaultSuppression(config_.suppress);
  return absl::OkStatus();
}

absl::Status Pipeline::OpenBlocking() {
  // The guard judges held execs/opens with the block rules on its own threads; each verdict is
  // an alert. A block sequence's held access is judged once the live stream has caught up.
  std::function<void(uint64_t)> request_flush;
#ifdef KESTREL_HAVE_EBPF
  if (ebpf_ != nullptr) {
    request_flush = [ebpf = ebpf_](uint64_t ticket) { ebpf->RequestFlush(ticket); };
  }
#endif
  auto guard = BlockingGuard::Start(
      config_, live_, rules_->active(), *schema_,
      [alerts = alerts_.get()](engine::Alert& alert) { alerts->OnVerdict(alert); }, request_flush);
  if (!guard.ok()) return guard.status();  // INVALID_ARGUMENT: usage; else a failure
  guard_ = std::move(*guard);
  ArmKill();
#ifdef KESTREL_HAVE_EBPF
  if (ebpf_ != nullptr && guard_ != nullptr) {
    ebpf_->OnFlushed([g = guard_.get()](uint64_t ticket) { g->Flushed(ticket); });
  }
#endif
  return absl::OkStatus();
}

void Pipeline::ArmKill() {
  // `kill` rules on exact executables are enforced in the kernel at exec as well (re-armed at
  // every reload).
#ifdef KESTREL_HAVE_EBPF
  if (ebpf_ == nullptr || enforce_ != actions::blocking::EnforceMode::kOn) return;
  std::vector<std::string> paths = KillAtExecPaths(rules_->active());
  for (const std::string& error : ebpf_->ArmKill(paths)) {
    spdlog::warn("kill at exec not armed for {}", error);
  }
  if (!paths.empty()) {
    spdlog::info("kill at exec armed for {} executable{}", paths.size(),
                 paths.size() == 1 ? "" : "s");
  }
#endif
}

absl::Status Pipeline::OpenWorkers() {
  if (workers_ <= 1) return absl::OkStatus();
  bus::ParallelOptions options;
  options.workers = workers_;
  options.policy = queue_policy_;
  // Under `drop`, a full worker queue is waited on this long before an event is dropped: the
  // eBPF source's reader hands over what the kernel buffered in bursts, and its own buffers
  // (ring buffer, record queue) hold what arrives meanwhile (bus/parallel_detector.h).
  options.drop_wait = std::chrono::milliseconds(20);
  options.limits = StreamingLimits(config_.max_partials_per_rule, config_.default_ttl_ns,
                                   config_.state_budget_bytes);
  // Each worker's Detectors get their own predicate and function runtimes.
  options.setup = [rules = rules_.get()](size_t, engine::Detector& detector) {
    return rules->SetUpWorker(detector);
  };
  std::vector<const eql::IrProgram*> programs;
  for (const rules::CompiledRule* rule : rules_->active()) programs.push_back(rule->program.get());
  auto created = bus::ParallelDetector::Create(
      *schema_, std::move(programs), options,
      [alerts = alerts_.get()](size_t rule, engine::QueryMatch& m) { alerts->OnMatch(rule, m); });
  if (!created.ok()) return Failure(created.status());
  parallel_ = std::move(*created);
  rules_->UseBus(parallel_.get());
  spdlog::info(
      "{} workers: {} rules on every worker (state within one process), {} on worker "
      "0; queues {} when full",
      workers_, parallel_->local_rules(), parallel_->global_rules(),
      queue_policy_ == bus::FullPolicy::kDrop ? "drop" : "block");
  return absl::OkStatus();
}

absl::Status Pipeline::OpenMetrics() {
  if (!config_.metrics_addr) return absl::OkStatus();
  auto started = MetricsPublisher::Start(*config_.metrics_addr, config_.metrics_allow_remote);
  if (!started.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("--metrics-addr: {}", base::Message(started.status())));
  }
  metrics_ = std::move(*started);
  spdlog::info("metrics: http://{}:{}/metrics", metrics_->host(), metrics_->port());
  RefreshMetrics();
  PublishMetrics();
  return absl::OkStatus();
}

engine::EngineStats Pipeline::RuleStats(size_t rule) const {
  return parallel_ != nullptr ? parallel_->stats(rule) : rules_->current().detector->stats(rule);
}

void Pipeline::RefreshMetrics() {
  metrics::Snapshot s;
  sources::SourceStats st = source_->stats();
  s.source = std::string(source_->name());
  s.malformed = st.malformed;
  s.kernel_drops = st.kernel_drops;
  s.user_drops = st.user_drops;
  if (guard_ != nullptr) s.guard_accesses = guard_->Counts();
  if (parallel_ != nullptr) {
    for (const bus::PartitionStats& p : parallel_->partition_stats()) {
      s.queue_drops += p.dropped;
      s.partitions.push_back({p.routed, p.dropped, p.depth});
    }
  }
  s.eval_sample_interval = engine::EvalTimeHistogram::kSampleInterval;
  for (int b = 0; b < engine::EvalTimeHistogram::kBuckets; ++b) {
    s.eval_bounds_ns.push_back(engine::EvalTimeHistogram::UpperBoundNs(b));
  }
  const RuleGeneration& g = rules_->current();
  for (size_t r = 0; r < g.rules.active.size(); ++r) {
    metrics::RuleSnapshot rs;
    rs.id = g.rules.active[r]->spec.id;
    engine::EngineStats es = RuleStats(r);
    rs.partials = es.partials;
    rs.expired = es.expired;
    rs.evicted = es.evicted;
    rs.evicted_budget = es.evicted_budget;
    rs.predicate_errors =
        parallel_ ? parallel_->predicate_errors(r) : g.detector->predicate_errors(r);
    engine::EvalTimeHistogram::Snapshot times =
        parallel_ ? parallel_->eval_time(r) : g.detector->eval_time(r).Read();
    rs.eval_buckets.assign(times.buckets.begin(), times.buckets.end());
    rs.eval_count = times.count;
    rs.eval_sum_ns = times.sum_ns;
    s.rules.push_back(std::move(rs));
  }
  metrics_->Refresh(std::move(s));
}

void Pipeline::PublishMetrics() {
  metrics::Snapshot live;
  live.events = events_.load(std::memory_order_relaxed);
  live.alerts = alerts_->written();
  live.alerts_lost = alerts_->lost();
  live.rule_set_version = rules_->version();
  live.rule_set_loaded_at = rules_->loaded_at();
  live.reloads = rules_->reloads();
  live.reload_failures = rules_->refused();
  AddSinkMetrics(*sinks_, &live);
  metrics_->Publish(std::move(live), alerts_->PerRule(), *schema_, alerts_->SuppressedPerRule());
}

void Pipeline::StartTimer() {
  if (!rules_->watching() && metrics_ == nullptr) return;  // nothing to do: no wake-ups
  timer_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(timer_mu_);
    for (uint64_t tick = 1; !timer_stop_; ++tick) {
      timer_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return timer_stop_; });
      if (timer_stop_) break;
      lock.unlock();
      rules_->Poll();
      // A live run's suppressed alerts are written once event time passes their window
      // even when no further match comes (files: at the next match or the end of input).
      if (live_) alerts_->ReleaseDue(last_time_ns_.load(std::memory_order_relaxed));
      if (metrics_ != nullptr && tick % 5 == 0) PublishMetrics();
      lock.lock();
    }
  });
}

void Pipeline::StopTimer() {
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    timer_stop_ = true;
  }
  timer_cv_.notify_all();
  if (timer_.joinable()) timer_.join();
}

void Pipeline::ApplyReload() {
  std::optional<CompiledGeneration> compiled = rules_->TakeCompiled();
  if (!compiled) return;
  const std::vector<const rules::CompiledRule*>& next = compiled->generation.rules.active;
  if (guard_ != nullptr) {
    // The block rules first: with --enforce on, a set that cannot be enforced is refused whole
    // (the old one, guard included, keeps running).
    if (absl::Status s = guard_->Reload(next); !s.ok()) {
      if (enforce_ == actions::blocking::EnforceMode::kOn) {
        rules_->CountRefused();
        spdlog::error(
            "rule reload refused, version {} keeps running: --enforce on: the block rules "
            "cannot be armed: {}",
            rules_->version(), base::Message(s));
        return;
      }
      spdlog::warn("the new block rules are not evaluated inline: {}", base::Message(s));
    }
  }
  if (parallel_ != nullptr) {
    // Every worker switches between the same two events; the old set's matches are all
    // delivered (named in the old set, still current) before this returns.
    absl::Status s;
    if (compiled->bus_reload != nullptr) {
      s = parallel_->Reload(std::move(compiled->bus_reload));  // indexes built off this thread
    } else {
      std::vector<const eql::IrProgram*> programs;
      for (const rules::CompiledRule* rule : next) programs.push_back(rule->program.get());
      s = parallel_->Reload(std::move(programs), compiled->keep);
    }
    if (!s.ok()) {
      spdlog::error("rule reload: a worker refused the new set: {}", base::Message(s));
    }
  }
  ReloadOutcome outcome = compiled->outcome;
  absl::Status committed;
  alerts_->WithRulesLocked([&] {
    alerts_->ReleaseAllLocked();  // held alerts name rules of the old set
    committed = rules_->Commit(std::move(*compiled));
  });
  if (!committed.ok()) {
    spdlog::error("rule reload refused, version {} keeps running: {}", rules_->version(),
                  base::Message(committed));
    return;
  }
  ArmKill();
  if (metrics_ != nullptr) RefreshMetrics();
  spdlog::info(
      "rules reloaded: version {} at {}: {} rules ({} unchanged, state kept; {} added, "
      "{} changed, {} removed)",
      rules_->version(), rules_->loaded_at(), rules_->active().size(), outcome.kept, outcome.added,
      outcome.changed, outcome.removed);
}

void Pipeline::TakeLosses() {
  source_->TakeLosses(&losses_);
  if (!losses_.empty()) {
    alerts_->RecordLosses(losses_, source_->stats());
    losses_.clear();
  } else if (alerts_->warning_pending()) {
    alerts_->WarnLosses(false, source_->stats());
  }
}

void Pipeline::Detect(event::Event& event) {
  uint64_t index = events_.load(std::memory_order_relaxed);
  alerts_->Observe(event);
  if (live_) last_time_ns_.store(event.time_ns(), std::memory_order_relaxed);
  if (guard_ != nullptr) guard_->Observe(event);
  const schema::CategoryId category = event.primary_category();
  if (parallel_ != nullptr) {
    // Moved, not copied: a Defend-shaped process event is ~120 fields.
    parallel_->Publish(std::move(event));
    event.Clear();
  } else {
    rules_->current().detector->Process(
        event, index, [this](size_t rule, engine::QueryMatch& m) { alerts_->OnMatch(rule, m); });
  }
  events_.store(index + 1, std::memory_order_relaxed);
  if (metrics_ != nullptr) {
    metrics_->CountEvent(category);
    if (metrics_->RefreshDue()) RefreshMetrics();
  }
  if ((index + 1) % 1'000'000 == 0) {
    spdlog::info("progress: {} events, {} alerts", index + 1, alerts_->written());
  }
}

absl::Status Pipeline::Run() {
  spdlog::info("reading events from {}", source_->name());
  absl::Status result;
  StartTimer();
  {
    DurationTimer duration(live_ ? config_.duration_ns : 0);
    event::Event event;
    while (true) {
      auto more = source_->Next(&event);
      TakeLosses();
      if (!more.ok()) {
        result = Failure(more.status());
        spdlog::error("{}", base::Message(more.status()));
        break;
      }
      if (!*more) break;
      if (rules_->ReloadReady()) ApplyReload();
      Detect(event);
    }
  }
  if (int sig = StopSignalNumber(); sig != 0) {
    spdlog::info("{} received: stopping (draining the workers and the sinks)",
                 sig == SIGINT ? "SIGINT" : "SIGTERM");
  }
  Drain();
  summary_ = Summarize();
  // The summary is printed whatever the log level: scripts and people rely on it.
  fmt::print(stderr, "{}\n", summary_);
  if (alerts_->lost() > 0 && result.ok()) {
    result = absl::DataLossError(fmt::format("{} alerts lost", alerts_->lost()));
  }
  return result;
}

void Pipeline::Drain() {
  if (guard_ != nullptr) guard_->Stop();  // answers what it holds; its last verdicts are alerts
  if (parallel_ != nullptr) {
    parallel_->Finish();  // drains every queue and delivers every match
  } else {
    rules_->current().detector->Finish(
        [this](size_t rule, engine::QueryMatch& m) { alerts_->OnMatch(rule, m); });
  }
  alerts_->ReleaseAll();  // suppressed alerts are never lost at the end or a stop
  alerts_->WarnLosses(true, source_->stats());
  StopTimer();
  // What a sink has not delivered by then stays spooled for the next start.
  sinks_->Close(StopSignalNumber() != 0 ? kSinkDrainAfterSignal : kSinkCloseDeadline);
  if (metrics_ != nullptr) {
    RefreshMetrics();
    PublishMetrics();
  }
}

std::string Pipeline::Summarize() {
  sources::SourceStats stats = source_->stats();
  const RuleGeneration& g = rules_->current();
  std::string summary = fmt::format(
      "summary: events read: {}, malformed lines: {}, alerts: {}, rules: {} loaded, {} failed",
      stats.events, stats.malformed, alerts_->written(), g.rules.active.size(), g.rules.failed);
  if (live_ || stats.kernel_drops > 0 || stats.user_drops > 0) {
    summary += fmt::format(", kernel drops: {}, user drops: {}, parse failures: {}",
                           stats.kernel_drops, stats.user_drops, stats.malformed);
  }
  if (parallel_ != nullptr) {
    uint64_t queue_drops = 0;
    for (const bus::PartitionStats& p : parallel_->partition_stats()) queue_drops += p.dropped;
    summary += fmt::format(", workers: {}, queue drops: {}", workers_, queue_drops);
  }
  if (guard_ != nullptr) summary += guard_->Summary();
  if (stats.dropped_fields > 0) {
    summary += fmt::format(", fields dropped (schema budget): {}", stats.dropped_fields);
  }
  if (stats.missing_time > 0) {
    summary += fmt::format(", events without a time: {}", stats.missing_time);
  }
  summary += SinkSummary(*sinks_);
  if (alerts_->lost() > 0) {
    summary += fmt::format(", alerts lost (output failed): {}", alerts_->lost());
  }
  absl::flat_hash_map<std::string, uint64_t> suppressed = alerts_->SuppressedPerRule();
  if (!suppressed.empty()) {
    uint64_t total = 0;
    for (const auto& [rule, n] : suppressed) total += n;
    std::vector<std::string> ids;
    for (const auto& [rule, n] : suppressed) ids.push_back(fmt::format("{} {}", rule, n));
    std::sort(ids.begin(), ids.end());
    summary += fmt::format(", alerts suppressed: {} ({})", total, fmt::join(ids, ", "));
  }
  uint64_t expired = 0, evicted = 0, evicted_budget = 0;
  absl::flat_hash_map<std::string, uint64_t> per_rule = alerts_->PerRule();
  for (size_t r = 0; r < g.rules.active.size(); ++r) {
    engine::EngineStats s = RuleStats(r);
    expired += s.expired;
    evicted += s.evicted;
    evicted_budget += s.evicted_budget;
    const std::string& id = g.rules.active[r]->spec.id;
    uint64_t alerts = per_rule.contains(id) ? per_rule[id] : 0;
    if (alerts > 0 || s.evicted > 0 || s.evicted_budget > 0) {
      spdlog::info("rule {}: {} alerts, {} partial matches expired, {} evicted{}", id, alerts,
                   s.expired, s.evicted,
                   s.evicted_budget > 0
                       ? fmt::format(", {} evicted (state memory)", s.evicted_budget)
                       : std::string());
    }
  }
  if (rules_->reloads() + rules_->refused() > 0) {
    summary += fmt::format(", rule reloads: {} ({} refused), rule set version: {}",
                           rules_->reloads(), rules_->refused(), rules_->version());
  }
  if (expired > 0 || evicted > 0) {
    summary += fmt::format(", partial matches expired: {}, evicted (quota): {}", expired, evicted);
  }
  if (evicted_budget > 0) {
    summary += fmt::format(", evicted (state memory, --state-memory): {}", evicted_budget);
  }
  return summary;
}

absl::Status RunPipeline(const RunConfig& config) {
  auto pipeline = Pipeline::Open(config);
  if (!pipeline.ok()) return pipeline.status();
  return (*pipeline)->Run();
}

}  // namespace kestrel::pipeline
