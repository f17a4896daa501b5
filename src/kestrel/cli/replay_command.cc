// `kestrel replay`; see replay_command.h for the design and docs/replay.md for the contract.
#include "kestrel/cli/replay_command.h"

#include <openssl/evp.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/alert_document.h"
#include "kestrel/actions/file_sink.h"
#include "kestrel/base/status.h"
#include "kestrel/base/time.h"
#include "kestrel/bus/parallel_detector.h"
#include "kestrel/cli/kafka_log_source.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/detector.h"
#include "kestrel/pipeline/alert_builder.h"
#include "kestrel/pipeline/idle_memory.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/rule_package.h"
#include "kestrel/sources/replay/replay_source.h"

namespace kestrel::cli {
namespace {

// SHA-256 of the alert stream (OpenSSL's EVP interface).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  std::string HexDigest() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, out, &n);
    std::string hex;
    for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", out[i]);
    return hex;
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::optional<int64_t> ParseTime(const std::string& text) {
  int64_t ns = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec == std::errc() && end == text.data() + text.size()) return ns;
  return base::ParseTimestamp(text);
}

}  // namespace

std::optional<double> ParseSpeed(const std::string& speed) {
  if (speed == "max") return 0.0;
  if (speed == "realtime") return 1.0;
  if (speed.size() < 2 || speed.back() != 'x') return std::nullopt;
  double factor = 0;
  auto [end, ec] = std::from_chars(speed.data(), speed.data() + speed.size() - 1, factor);
  if (ec != std::errc() || end != speed.data() + speed.size() - 1 || !(factor > 0)) {
    return std::nullopt;
  }
  return factor;
}

namespace {

// --source kafka://...: fetch this instance's logs, replay them, then commit (kafka_log_source.h).
int ReplayFromKafka(const ReplayCommandOptions& options) {
  if (!options.logs.empty()) {
    spdlog::error("replay: give log files or --source, not both");
    return kExitUsage;
  }
  auto parsed = ParseKafkaLogSource(*options.source);
  if (!parsed.ok()) {
    spdlog::error("{}", base::Message(parsed.status()));
    return kExitUsage;
  }
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "kestrel-replay-kafka.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    spdlog::error("cannot create a work directory in {}",
                  std::filesystem::temp_directory_path().string());
    return kExitFailure;
  }
  parsed->work_dir = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{tmpl};
  auto fetcher = KafkaLogFetcher::Open(*parsed);
  if (!fetcher.ok()) {
    spdlog::error("{}", base::Message(fetcher.status()));
    return kExitFailure;
  }
  auto logs = (*fetcher)->Fetch();
  if (!logs.ok()) {
    spdlog::error("{}", base::Message(logs.status()));
    return kExitFailure;
  }
  spdlog::info("kafka {}: {} logs for this instance (group {})", parsed->topic, logs->size(),
               parsed->group);
  if (logs->empty()) return kExitOk;
  ReplayCommandOptions local = options;
  local.source.reset();
  local.logs = std::move(*logs);
  int rc = Replay(local);
  if (rc != kExitOk) return rc;  // not committed: the logs are replayed again next time
  if (absl::Status s = (*fetcher)->Commit(); !s.ok()) {
    spdlog::error("{}", base::Message(s));
    return kExitFailure;
  }
  return kExitOk;
}

// The alert stream in its final order (bus::ParallelDetector's merger thread): digest, counts,
// and the output (a FileSink, as `run`'s --output: lines handed over in batches of its
// max_batch(), one write each; one by one in a paced replay).
struct AlertStream {
  Sha256 digest;
  std::atomic<uint64_t> alerts{0};  // also read by the reading thread (progress lines)
  uint64_t lost = 0;                // lines the output could not take
  actions::Sink* sink = nullptr;
  bool flush_each = false;  // paced replay: each alert is written out when it is delivered
  std::vector<actions::SinkMessage> slots;  // reused: their bodies keep their capacity
  size_t pending = 0;                       // slots[0, pending) wait to be written
  // What `kestrel run` adds to an alert (its message, process tree, rule metadata), so that a
  // replay writes the same bytes (suppression is not applied: a replay shows every match).
  std::unique_ptr<pipeline::ProcessTree> tree;
  std::unique_ptr<actions::AlertFormatter> formatter;

  void Add(std::string_view line) {
    alerts.fetch_add(1, std::memory_order_relaxed);
    digest.Update(line);
    digest.Update("\n");
    if (sink == nullptr) return;
    if (slots.size() == pending) slots.emplace_back();
    slots[pending++].body.assign(line);
    if (flush_each || pending >= sink->max_batch()) Flush();
  }
  // Writes what is pending; false when some of it was lost (counted, the first error logged).
  bool Flush() {
    if (sink == nullptr || pending == 0) return true;
    size_t delivered = 0;
    absl::Status s = sink->Deliver(std::span(slots.data(), pending), &delivered);
    delivered = std::min(delivered, pending);
    bool ok = s.ok() && delivered == pending;
    if (!ok) {
      if (lost == 0) {
        spdlog::error("{}", s.ok() ? std::string_view("short write of alerts") : base::Message(s));
      }
      lost += pending - delivered;
    }
    pending = 0;
    return ok;
  }
};

// Per-worker predicate and function runtimes (they must outlive the detector).
struct WorkerRuntimes {
  std::vector<std::unique_ptr<engine::PredicateRuntime>> predicates;
  std::vector<std::unique_ptr<engine::FunctionRuntime>> functions;
  int exit_code = kExitOk;  // why setup failed
};

// The rules on `workers` threads, rule i on worker i mod N, every event to every worker; each
// worker encodes its alerts, the merger hands the lines to `stream` in the order of one thread.
absl::StatusOr<std::unique_ptr<bus::ParallelDetector>> StartWorkers(
    schema::Schema& schema, const std::vector<const rules::CompiledRule*>& active,
    const engine::EngineLimits& limits, size_t workers, pipeline::OpenedPackage* package,
    const std::string& predicate_runtime, WorkerRuntimes* runtimes, AlertStream* stream) {
  const runtime::FunctionModule* function_module =
      package != nullptr ? package->functions() : nullptr;
  bus::ParallelOptions options;
  options.workers = workers;
  options.routing = bus::Routing::kByRule;
  options.policy = bus::FullPolicy::kBlock;
  options.limits = limits;
  options.setup = [&, runtimes](size_t, engine::Detector& detector) -> absl::Status {
    auto runtime = package != nullptr ? package->NewRuntime()
                                      : pipeline::MakePredicateRuntime(predicate_runtime);
    if (!runtime.ok()) {
      runtimes->exit_code = kExitUsage;
      return runtime.status();
    }
    detector.UsePredicateRuntime(runtime->get());  // this worker's own (nullptr: native)
    runtimes->predicates.push_back(std::move(*runtime));
    if (function_module != nullptr) {  // a package's custom functions
      auto made = function_module->NewInstance();
      if (!made.ok()) {
        runtimes->exit_code = kExitFailure;
        return made.status();
      }
      detector.UseFunctions(made->get());
      runtimes->functions.push_back(std::move(*made));
    }
    return absl::OkStatus();
  };
  std::vector<const eql::IrProgram*> programs;
  for (const rules::CompiledRule* rule : active) programs.push_back(rule->program.get());
  return bus::ParallelDetector::Create(
      schema, std::move(programs), options,
      [&schema, &active, stream](size_t, size_t rule, engine::QueryMatch& match, std::string* out) {
        engine::Alert alert = pipeline::MakeAlert(*active[rule], match, schema, stream->tree.get());
        stream->formatter->Append(actions::AlertFormat::kKestrel, alert, &active[rule]->spec, out);
      },
      [stream](size_t, std::string_view line) { stream->Add(line); });
}

// Reads every event of `source` and publishes it, paced by `speed` (0: as fast as possible).
// false: a read error (logged).
bool Feed(sources::ReplaySource& source, bus::ParallelDetector& parallel, double speed,
          const AlertStream& stream) {
  auto wall_start = std::chrono::steady_clock::now();
  std::optional<int64_t> first_time;
  event::Event event;  // refilled with the memory of an earlier event after each Publish
  for (uint64_t index = 1;; ++index) {
    auto next = source.Next(&event);
    if (!next.ok()) {
      spdlog::error("{}", base::Message(next.status()));
      return false;
    }
    if (!*next) return true;
    if (speed > 0) {
      // Pacing: event time since the first event, divided by the factor, in wall time. Only
      // when events are handed over changes; never what the engine decides.
      int64_t t = event.time_ns();
      if (!first_time) first_time = t;
      auto due = wall_start + std::chrono::nanoseconds(static_cast<int64_t>(
                                  static_cast<double>(t - *first_time) / speed));
      if (due > std::chrono::steady_clock::now()) std::this_thread::sleep_until(due);
    }
    stream.tree->Observe(event);
    parallel.Publish(std::move(event));
    if (index % 1'000'000 == 0) {
      spdlog::info("progress: {} events, {} alerts", index,
                   stream.alerts.load(std::memory_order_relaxed));
    }
  }
}

// Checks the options that need no file; fills `replay_options` and `speed`. nullopt: fine.
std::optional<int> CheckOptions(const ReplayCommandOptions& options,
                                sources::ReplayOptions* replay_options, double* speed) {
  if (options.logs.empty()) {
    spdlog::error("no log to replay: pass one or more files written by `kestrel record`");
    return kExitUsage;
  }
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    spdlog::error("unknown --dialect '{}': expected elasticsearch or endgame", options.dialect);
    return kExitUsage;
  }
  std::optional<double> parsed = ParseSpeed(options.speed);
  if (!parsed) {
    spdlog::error("bad --speed '{}': expected max, realtime or a factor such as 10x",
                  options.speed);
    return kExitUsage;
  }
  *speed = *parsed;
  if (options.workers < 1 || options.workers > 256) {
    spdlog::error("bad --workers {}: expected 1 to 256", options.workers);
    return kExitUsage;
  }
  replay_options->paths = options.logs;
  for (auto [flag, text, out] : {std::tuple{"--from", &options.from, &replay_options->from_ns},
                                 std::tuple{"--to", &options.to, &replay_options->to_ns}}) {
    if (!*text) continue;
    std::optional<int64_t> t = ParseTime(**text);
    if (!t) {
      spdlog::error("bad {} '{}': expected an RFC 3339 time or Unix nanoseconds", flag, **text);
      return kExitUsage;
    }
    *out = *t;
  }
  return std::nullopt;
}

}  // namespace

int Replay(const ReplayCommandOptions& options) {
  if (options.source) return ReplayFromKafka(options);
  schema::Schema schema;
  sources::ReplayOptions replay_options;
  double speed = 0;
  if (std::optional<int> bad = CheckOptions(options, &replay_options, &speed)) return *bad;
  auto source = sources::ReplaySource::Open(
      &schema, replay_options, pipeline::ReportDiagnostics("damaged log data skipped"));
  if (!source.ok()) {
    spdlog::error("{}", base::Message(source.status()));
    return kExitFailure;
  }

  // A rule package (rule_package.h) brings its rule sources, compiled predicates and functions.
  std::optional<std::string> rules_dir = options.rules_dir;
  bool endgame = options.dialect == "endgame";
  auto opened = pipeline::OpenPackageIfAny(&rules_dir, &endgame, options.predicate_runtime);
  if (!opened.ok()) {
    spdlog::error("{}", base::Message(opened.status()));
    return opened.status().code() == absl::StatusCode::kFailedPrecondition ? kExitUsage
                                                                           : kExitFailure;
  }
  std::unique_ptr<pipeline::OpenedPackage> package = std::move(*opened);
  std::shared_ptr<const rules::SigmaMapping> mapping;
  if (!LoadSigmaMappingFlag(options.sigma_mapping, &mapping)) return kExitUsage;
  if (absl::Status s = pipeline::CheckSigmaMappingWithPackage(package != nullptr, mapping.get());
      !s.ok()) {
    spdlog::error("{}", base::Message(s));
    return kExitUsage;
  }
  const runtime::FunctionModule* function_module =
      package != nullptr ? package->functions() : nullptr;
  engine::EngineLimits limits = pipeline::StreamingLimits(
      options.max_partials_per_rule, options.default_ttl_ns, options.state_budget_bytes);
  auto loaded = pipeline::LoadRules(
      rules_dir, endgame, schema, limits,
      function_module != nullptr ? &function_module->signatures() : nullptr, mapping.get());
  if (!loaded.ok()) {
    spdlog::error("{}", base::Message(loaded.status()));
    return kExitUsage;
  }
  if (package != nullptr) {
    if (absl::Status bound = package->Bind(loaded->build, schema); !bound.ok()) {
      spdlog::error("{}", base::Message(bound));
      return kExitFailure;
    }
    spdlog::info("rule package {}: target {}, {} rules, hashes verified", *options.rules_dir,
                 package->target(), loaded->active.size());
  }
  const std::vector<const rules::CompiledRule*>& active = loaded->active;

  AlertStream stream;
  stream.flush_each = speed > 0;
  std::string output = options.output.value_or(options.digest ? "" : "-");
  std::unique_ptr<actions::FileSink> sink;
  if (!output.empty()) {
    actions::FileSinkOptions file;
    file.path = output;
    auto opened = actions::FileSink::Open(file);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    sink = std::move(*opened);
    stream.sink = sink.get();
  }

  // Fewer workers than rules make no sense.
  size_t n = std::max<size_t>(1, std::min(options.workers, std::max<size_t>(active.size(), 1)));
  WorkerRuntimes runtimes;  // outlives `parallel`
  stream.tree = std::make_unique<pipeline::ProcessTree>(schema);
  stream.formatter = std::make_unique<actions::AlertFormatter>(&schema);
  auto parallel = StartWorkers(schema, active, limits, n, package.get(), options.predicate_runtime,
                               &runtimes, &stream);
  if (!parallel.ok()) {
    spdlog::error("{}", base::Message(parallel.status()));
    return runtimes.exit_code != kExitOk ? runtimes.exit_code : kExitFailure;
  }
  // Start-up's code (the vectorscan compiler, the rule parsers) and freed heap go back before
  // the events, as `run` does after Pipeline::Open (pipeline/idle_memory.h).
  pipeline::ReleaseStartupMemory();
  int exit_code = Feed(**source, **parallel, speed, stream) ? kExitOk : kExitFailure;
  (*parallel)->Finish();  // every alert delivered
  if (!stream.Flush()) exit_code = kExitFailure;

  sources::SourceStats stats = (*source)->stats();
  uint64_t expired = 0, evicted = 0, evicted_budget = 0;
  for (size_t r = 0; r < active.size(); ++r) {
    engine::EngineStats s = (*parallel)->stats(r);
    expired += s.expired;
    evicted += s.evicted;
    evicted_budget += s.evicted_budget;
  }
  uint64_t alerts = stream.alerts.load();
  std::string summary = fmt::format(
      "summary: events read: {}, damaged blocks: {}, alerts: {}, rules: {} loaded, {} failed, "
      "workers: {}",
      stats.events, (*source)->damaged_blocks(), alerts, active.size(), loaded->failed, n);
  if (expired > 0 || evicted > 0) {
    summary += fmt::format(", partial matches expired: {}, evicted (quota): {}", expired, evicted);
  }
  if (evicted_budget > 0) {
    summary += fmt::format(", evicted (state memory): {}", evicted_budget);
  }
  if (stream.lost > 0) {
    summary += fmt::format(", alerts lost (output failed): {}", stream.lost);
    exit_code = kExitFailure;
  }
  fmt::print(stderr, "{}\n", summary);
  if (options.digest) {
    fmt::print("sha256:{} alerts:{} events:{}\n", stream.digest.HexDigest(), alerts, stats.events);
    std::fflush(stdout);
  }
  return exit_code;
}

}  // namespace kestrel::cli
