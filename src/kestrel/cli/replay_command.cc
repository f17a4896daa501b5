// `kestrel replay`; see replay_command.h for the design and docs/replay.md for the contract.
#include "kestrel/cli/replay_command.h"

#include <openssl/evp.h>
#include <stdlib.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/alert_sink.h"
#include "kestrel/base/status.h"
#include "kestrel/base/time.h"
#include "kestrel/cli/kafka_log_source.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/detector.h"
#include "kestrel/pipeline/alert_builder.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/rule_package.h"
#include "kestrel/sources/replay/replay_source.h"

namespace kestrel::cli {
namespace {

constexpr size_t kBatchEvents = 4096;
constexpr size_t kInFlight = 4;  // batches being processed at once (memory: 4 x 4096 events)

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

// One alert line and where it belongs in the merged stream.
struct TaggedAlert {
  uint64_t event_index;  // the event that completed the match; UINT64_MAX: end of input
  uint32_t rule;         // the rule's position in load order
  uint32_t order;        // delivery order within (event, rule)
  std::string line;      // AppendAlertJson, without the newline
  friend bool operator<(const TaggedAlert& a, const TaggedAlert& b) {
    if (a.event_index != b.event_index) return a.event_index < b.event_index;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.order < b.order;
  }
};

struct Batch {
  std::vector<event::Event> events;  // slots reused from batch to batch
  size_t size = 0;
  uint64_t first_index = 0;
  bool end = false;  // no events: the end of input (engines finish)
};

// A worker thread running its share of the rules over every batch.
class Worker {
 public:
  Worker(schema::Schema& schema, const engine::EngineLimits& limits,
         const std::vector<const rules::CompiledRule*>& rules, std::vector<uint32_t> global,
         std::unique_ptr<engine::PredicateRuntime> runtime,
         std::unique_ptr<engine::FunctionRuntime> functions)
      : schema_(schema),
        detector_(schema, limits),
        rules_(rules),
        global_(std::move(global)),
        runtime_(std::move(runtime)),
        functions_(std::move(functions)) {}

  absl::Status Init() {
    detector_.UsePredicateRuntime(runtime_.get());  // this worker's own (nullptr: native)
    detector_.UseFunctions(functions_.get());       // a package's custom functions, if any
    for (uint32_t g : global_) {
      if (absl::Status s = detector_.AddRule(rules_[g]->program.get()); !s.ok()) return s;
    }
    return detector_.Seal();
  }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }

  // Queues a batch; REQUIRES: it stays unchanged until its results are taken.
  void Submit(const Batch* batch) {
    std::lock_guard lock(mu_);
    input_.push_back(batch);
    cv_.notify_all();
  }

  // The alerts of the oldest submitted batch whose results were not taken yet (waits for them).
  std::vector<TaggedAlert> Take() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !output_.empty(); });
    std::vector<TaggedAlert> out = std::move(output_.front());
    output_.pop_front();
    return out;
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

  const engine::Detector& detector() const { return detector_; }

 private:
  void Loop() {
    while (true) {
      const Batch* batch;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !input_.empty(); });
        if (input_.empty()) return;
        batch = input_.front();
        input_.pop_front();
      }
      std::vector<TaggedAlert> alerts;
      uint64_t last_event = UINT64_MAX;
      uint32_t last_rule = UINT32_MAX, order = 0;
      uint64_t event_index = UINT64_MAX;
      auto on_match = [&](size_t local, engine::QueryMatch& m) {
        uint32_t rule = global_[local];
        if (event_index != last_event || rule != last_rule) order = 0;
        last_event = event_index;
        last_rule = rule;
        engine::Alert alert = pipeline::MakeAlert(*rules_[rule], m, schema_);
        TaggedAlert& t = alerts.emplace_back(TaggedAlert{event_index, rule, order++, {}});
        engine::AppendAlertJson(schema_, alert, &t.line);
      };
      if (batch->end) {
        detector_.Finish(on_match);
      } else {
        for (size_t i = 0; i < batch->size; ++i) {
          event_index = batch->first_index + i;
          if (i + 4 < batch->size) batch->events[i + 4].Prefetch();
          detector_.Process(batch->events[i], event_index, on_match);
        }
      }
      std::lock_guard lock(mu_);
      output_.push_back(std::move(alerts));
      cv_.notify_all();
    }
  }

  schema::Schema& schema_;
  engine::Detector detector_;
  const std::vector<const rules::CompiledRule*>& rules_;
  std::vector<uint32_t> global_;                       // local rule -> position in load order
  std::unique_ptr<engine::PredicateRuntime> runtime_;  // used by this worker's thread only
  std::unique_ptr<engine::FunctionRuntime> functions_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<const Batch*> input_;               // guarded by mu_
  std::deque<std::vector<TaggedAlert>> output_;  // guarded by mu_
  bool stop_ = false;                            // guarded by mu_
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

}  // namespace

int Replay(const ReplayCommandOptions& options) {
  if (options.source) return ReplayFromKafka(options);
  schema::Schema schema;
  if (options.logs.empty()) {
    spdlog::error("no log to replay: pass one or more files written by `kestrel record`");
    return kExitUsage;
  }
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    spdlog::error("unknown --dialect '{}': expected elasticsearch or endgame", options.dialect);
    return kExitUsage;
  }
  std::optional<double> speed = ParseSpeed(options.speed);
  if (!speed) {
    spdlog::error("bad --speed '{}': expected max, realtime or a factor such as 10x",
                  options.speed);
    return kExitUsage;
  }
  if (options.workers < 1 || options.workers > 256) {
    spdlog::error("bad --workers {}: expected 1 to 256", options.workers);
    return kExitUsage;
  }
  sources::ReplayOptions replay_options;
  replay_options.paths = options.logs;
  for (auto [flag, text, out] : {std::tuple{"--from", &options.from, &replay_options.from_ns},
                                 std::tuple{"--to", &options.to, &replay_options.to_ns}}) {
    if (!*text) continue;
    std::optional<int64_t> t = ParseTime(**text);
    if (!t) {
      spdlog::error("bad {} '{}': expected an RFC 3339 time or Unix nanoseconds", flag, **text);
      return kExitUsage;
    }
    *out = *t;
  }

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
  const runtime::FunctionModule* function_module =
      package != nullptr ? package->functions() : nullptr;
  engine::EngineLimits limits =
      pipeline::StreamingLimits(options.max_partials_per_rule, options.default_ttl_ns);
  auto loaded =
      pipeline::LoadRules(rules_dir, endgame, schema, limits,
                          function_module != nullptr ? &function_module->signatures() : nullptr);
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

  std::string output = options.output.value_or(options.digest ? "" : "-");
  std::unique_ptr<actions::JsonLinesSink> sink;
  if (!output.empty()) {
    auto opened = actions::JsonLinesSink::Open(&schema, output);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    sink = std::move(*opened);
  }

  // Workers: rule i on worker i mod N (fewer workers than rules make no sense).
  size_t n = std::max<size_t>(1, std::min(options.workers, std::max<size_t>(active.size(), 1)));
  std::vector<std::unique_ptr<Worker>> workers;
  for (size_t w = 0; w < n; ++w) {
    std::vector<uint32_t> mine;
    for (size_t r = w; r < active.size(); r += n) mine.push_back(static_cast<uint32_t>(r));
    auto runtime = package != nullptr ? package->NewRuntime()
                                      : pipeline::MakePredicateRuntime(options.predicate_runtime);
    if (!runtime.ok()) {
      spdlog::error("{}", base::Message(runtime.status()));
      return kExitUsage;
    }
    std::unique_ptr<engine::FunctionRuntime> functions;
    if (function_module != nullptr) {
      auto made = function_module->NewInstance();
      if (!made.ok()) {
        spdlog::error("{}", base::Message(made.status()));
        return kExitFailure;
      }
      functions = std::move(*made);
    }
    workers.push_back(std::make_unique<Worker>(schema, limits, active, std::move(mine),
                                               std::move(*runtime), std::move(functions)));
    if (absl::Status s = workers.back()->Init(); !s.ok()) {
      spdlog::error("{}", base::Message(s));
      return kExitFailure;
    }
  }
  for (auto& w : workers) w->Start();

  Sha256 digest;
  uint64_t alerts = 0, lost = 0;
  std::vector<uint64_t> alerts_per_rule(active.size(), 0);
  auto collect = [&]() {
    std::vector<TaggedAlert> merged;
    for (auto& w : workers) {
      std::vector<TaggedAlert> part = w->Take();
      merged.insert(merged.end(), std::make_move_iterator(part.begin()),
                    std::make_move_iterator(part.end()));
    }
    std::sort(merged.begin(), merged.end());
    for (const TaggedAlert& a : merged) {
      ++alerts;
      ++alerts_per_rule[a.rule];
      digest.Update(a.line);
      digest.Update("\n");
      if (sink) {
        if (absl::Status s = sink->WriteLine(a.line); !s.ok() && lost++ == 0) {
          spdlog::error("{}", base::Message(s));
        }
      }
    }
    if (sink && !merged.empty()) (void)sink->Flush();
  };

  // Read, dispatch, merge: batch b goes to every worker; the results of batch b - kInFlight + 1
  // are merged before slot b % kInFlight is refilled.
  std::vector<Batch> slots(kInFlight);
  uint64_t submitted = 0, collected = 0, index = 0;
  int exit_code = kExitOk;
  auto wall_start = std::chrono::steady_clock::now();
  std::optional<int64_t> first_time;
  bool more = true;
  while (more) {
    if (submitted - collected == kInFlight) {
      collect();
      ++collected;
    }
    Batch& batch = slots[submitted % kInFlight];
    batch.first_index = index;
    batch.size = 0;
    batch.end = false;
    while (batch.size < kBatchEvents) {
      if (batch.events.size() <= batch.size) batch.events.emplace_back();
      auto next = (*source)->Next(&batch.events[batch.size]);
      if (!next.ok()) {
        spdlog::error("{}", base::Message(next.status()));
        exit_code = kExitFailure;
        more = false;
        break;
      }
      if (!*next) {
        more = false;
        break;
      }
      if (*speed > 0) {
        // Pacing: event time since the first event, divided by the factor, in wall time. Only
        // when events are handed over changes; never what the engine decides.
        int64_t t = batch.events[batch.size].time_ns();
        if (!first_time) first_time = t;
        auto due = wall_start + std::chrono::nanoseconds(static_cast<int64_t>(
                                    static_cast<double>(t - *first_time) / *speed));
        if (due > std::chrono::steady_clock::now()) {
          if (batch.size > 0) break;  // hand over what is due first
          std::this_thread::sleep_until(due);
        }
      }
      ++batch.size;
      ++index;
      if (*speed > 0) break;  // paced: one event per batch, delivered when due
    }
    if (batch.size == 0 && more) continue;
    if (batch.size > 0) {
      for (auto& w : workers) w->Submit(&batch);
      ++submitted;
    }
    if (index > 0 && index % 1'000'000 < batch.size) {
      spdlog::info("progress: {} events, {} alerts", index, alerts);
    }
  }
  while (collected < submitted) {
    collect();
    ++collected;
  }
  Batch end;
  end.end = true;
  for (auto& w : workers) w->Submit(&end);
  collect();
  for (auto& w : workers) w->Stop();
  if (sink) {
    if (absl::Status s = sink->Flush(); !s.ok()) {
      spdlog::error("{}", base::Message(s));
      exit_code = kExitFailure;
    }
  }

  sources::SourceStats stats = (*source)->stats();
  uint64_t expired = 0, evicted = 0;
  for (const auto& w : workers) {
    for (size_t r = 0; r < w->detector().rule_count(); ++r) {
      expired += w->detector().stats(r).expired;
      evicted += w->detector().stats(r).evicted;
    }
  }
  std::string summary = fmt::format(
      "summary: events read: {}, damaged blocks: {}, alerts: {}, rules: {} loaded, {} failed, "
      "workers: {}",
      stats.events, (*source)->damaged_blocks(), alerts, active.size(), loaded->failed, n);
  if (expired > 0 || evicted > 0) {
    summary += fmt::format(", partial matches expired: {}, evicted (quota): {}", expired, evicted);
  }
  if (lost > 0) {
    summary += fmt::format(", alerts lost (output failed): {}", lost);
    exit_code = kExitFailure;
  }
  fmt::print(stderr, "{}\n", summary);
  if (options.digest) {
    fmt::print("sha256:{} alerts:{} events:{}\n", digest.HexDigest(), alerts, stats.events);
    std::fflush(stdout);
  }
  return exit_code;
}

}  // namespace kestrel::cli
