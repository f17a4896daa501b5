// `kestrel run`: wires the NDJSON source, the rule set (an engine::Detector) and the alert sink;
// see run_command.h. Single-threaded: events in input order, rules in load order, so the alert
// stream depends on the input and the rules only.
#include "kestrel/cli/run_command.h"

#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/alert_sink.h"
#include "kestrel/base/status.h"
#include "kestrel/cli/detection.h"
#include "kestrel/cli/predicate_runtime_option.h"
#include "kestrel/cli/rule_package.h"
#include "kestrel/engine/detector.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ndjson/ndjson_source.h"

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
  for (const fs::path& c : candidates) {
    if (fs::is_directory(c, ec)) return c;
  }
  *error = "no rule directory found (looked for ./rules and rules/ beside the executable)";
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

int Run(const RunOptions& options) {
  schema::Schema schema;

  // Source.
  std::string_view spec = options.source;
  if (spec.empty()) {
    spdlog::error(
        "no event source: pass --source ndjson:PATH (or ndjson:- for standard input); the live "
        "eBPF source is not part of this build yet");
    return kExitUsage;
  }
  size_t colon = spec.find(':');
  std::string_view kind = spec.substr(0, colon);
  if (colon == std::string_view::npos || kind != "ndjson" || colon + 1 == spec.size()) {
    spdlog::error("unsupported --source '{}': expected ndjson:PATH or ndjson:-", spec);
    return kExitUsage;
  }
  if (options.dialect != "elasticsearch" && options.dialect != "endgame") {
    spdlog::error("unknown --dialect '{}': expected elasticsearch or endgame", options.dialect);
    return kExitUsage;
  }
  bool endgame = options.dialect == "endgame";
  sources::NdjsonOptions ndjson;
  ndjson.path = std::string(spec.substr(colon + 1));
  if (absl::Status s =
          ApplyTimeOptions(endgame, options.time_field, options.time_format, &ndjson.decoder);
      !s.ok()) {
    spdlog::error("--time-format: {}", base::Message(s));
    return kExitUsage;
  }

  uint64_t reported = 0;
  auto on_diagnostic = [&](const sources::SourceDiagnostic& d) {
    if (reported < options.max_reported_malformed) {
      spdlog::warn("{}: malformed event skipped: {}", d.location, d.reason);
    } else if (reported == options.max_reported_malformed) {
      spdlog::warn("more malformed events: further ones are counted but not shown");
    }
    ++reported;
  };
  auto source = sources::NdjsonSource::Open(&schema, ndjson, on_diagnostic);
  if (!source.ok()) {
    spdlog::error("{}", base::Message(source.status()));
    return kExitFailure;
  }

  // Rules. A rule with an error is reported and left out; the others still run.
  engine::EngineLimits limits;
  limits.max_partials = options.max_partials_per_rule;
  limits.default_ttl_ns = options.default_ttl_ns;
  limits.streaming = true;
  // A rule package (rule_package.h) brings its rule sources and compiled predicates.
  std::unique_ptr<OpenedPackage> package;
  std::optional<std::string> rules_dir = options.rules_dir;
  bool rules_endgame = endgame;
  if (rules_dir && IsRulePackage(*rules_dir)) {
    auto opened = OpenRulePackage(*rules_dir);
    if (!opened.ok()) {
      spdlog::error("{}", base::Message(opened.status()));
      return kExitFailure;
    }
    package = std::move(*opened);
    rules_dir = package->rules_dir();
    rules_endgame = package->dialect() == "endgame";
    if (options.predicate_runtime != "native") {
      spdlog::error("--predicate-runtime: the rule package brings its own predicates (target {})",
                    package->target());
      return kExitUsage;
    }
  }
  runtime::LuaFunctions* functions = package != nullptr ? package->functions() : nullptr;
  auto loaded = LoadRules(rules_dir, rules_endgame, schema, limits,
                          functions != nullptr ? &functions->signatures() : nullptr);
  if (!loaded.ok()) {
    spdlog::error("{}", base::Message(loaded.status()));
    return kExitUsage;
  }
  const std::vector<const rules::CompiledRule*>& active = loaded->active;  // detector rule i
  size_t rules_failed = loaded->failed;
  engine::Detector detector(schema, limits);
  auto predicate_runtime = MakePredicateRuntime(options.predicate_runtime);
  if (!predicate_runtime.ok()) {
    spdlog::error("{}", base::Message(predicate_runtime.status()));
    return kExitUsage;
  }
  detector.UsePredicateRuntime(predicate_runtime->get());
  detector.UseFunctions(functions);
  if (package != nullptr) {
    auto bound = package->Bind(loaded->build, schema);
    if (!bound.ok()) {
      spdlog::error("{}", base::Message(bound.status()));
      return kExitFailure;
    }
    detector.UsePredicateRuntime(*bound);
    spdlog::info("rule package {}: target {}, {} rules, hashes verified", *options.rules_dir,
                 package->target(), loaded->active.size());
  }
  for (const rules::CompiledRule* rule : active) {
    if (absl::Status s = detector.AddRule(rule->program.get()); !s.ok()) {
      spdlog::error("{}", base::Message(s));  // accepted by LoadRules: not expected
      return kExitFailure;
    }
  }
  if (absl::Status s = detector.Seal(); !s.ok()) {
    spdlog::error("{}", base::Message(s));
    return kExitFailure;
  }
  const engine::RuleIndexStats& index_stats = detector.index_stats();
  spdlog::debug("rule index: {} of {} stages anchored, {} hashed values, {} patterns",
                index_stats.anchored_stages, index_stats.stages, index_stats.hashed_values,
                index_stats.patterns);
  std::vector<uint64_t> alerts_per_rule(active.size(), 0);

  // Output.
  auto sink = actions::JsonLinesSink::Open(&schema, options.output);
  if (!sink.ok()) {
    spdlog::error("{}", base::Message(sink.status()));
    return kExitFailure;
  }

  spdlog::info("reading events from {}", (*source)->name());
  event::Event event;
  int exit_code = kExitOk;
  uint64_t index = 0;
  uint64_t lost_alerts = 0;
  // Each alert is written as soon as its match completes; the Detector runs rules in load order,
  // so the output order is a function of the input order alone.
  auto on_match = [&](size_t rule, engine::QueryMatch& m) {
    engine::Alert alert = MakeAlert(*active[rule], m, schema);
    if (absl::Status s = (*sink)->Write(alert); !s.ok()) {
      if (lost_alerts++ == 0) spdlog::error("{}", base::Message(s));
      return;
    }
    ++alerts_per_rule[rule];
  };
  while (true) {
    auto more = (*source)->Next(&event);
    if (!more.ok()) {
      spdlog::error("{}", base::Message(more.status()));
      exit_code = kExitFailure;
      break;
    }
    if (!*more) break;
    detector.Process(event, index, on_match);
    ++index;
    if (index % 1'000'000 == 0) {
      spdlog::info("progress: {} events, {} alerts", index, (*sink)->written());
    }
  }
  detector.Finish(on_match);
  if (absl::Status s = (*sink)->Flush(); !s.ok()) {
    spdlog::error("{}", base::Message(s));
    exit_code = kExitFailure;
  }

  sources::SourceStats stats = (*source)->stats();
  std::string summary = fmt::format(
      "summary: events read: {}, malformed lines: {}, alerts: {}, rules: {} loaded, {} failed",
      stats.events, stats.malformed, (*sink)->written(), active.size(), rules_failed);
  if (stats.dropped_fields > 0) {
    summary += fmt::format(", fields dropped (schema budget): {}", stats.dropped_fields);
  }
  if (stats.missing_time > 0) {
    summary += fmt::format(", events without a time: {}", stats.missing_time);
  }
  if (lost_alerts > 0) {
    summary += fmt::format(", alerts lost (output failed): {}", lost_alerts);
    exit_code = kExitFailure;
  }
  uint64_t expired = 0, evicted = 0;
  for (size_t r = 0; r < active.size(); ++r) {
    const engine::EngineStats& s = detector.stats(r);
    expired += s.expired;
    evicted += s.evicted;
    if (alerts_per_rule[r] > 0 || s.evicted > 0) {
      spdlog::info("rule {}: {} alerts, {} partial matches expired, {} evicted", active[r]->spec.id,
                   alerts_per_rule[r], s.expired, s.evicted);
    }
  }
  if (expired > 0 || evicted > 0) {
    summary += fmt::format(", partial matches expired: {}, evicted (quota): {}", expired, evicted);
  }
  // The summary is printed whatever the log level: scripts and people rely on it.
  fmt::print(stderr, "{}\n", summary);
  return exit_code;
}

}  // namespace kestrel::cli
