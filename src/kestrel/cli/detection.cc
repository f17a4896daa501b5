// LoadRules and MakeAlert; see detection.h.
#include "kestrel/cli/detection.h"

#include <chrono>
#include <csignal>

#include <memory>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/base/status.h"
#include "kestrel/cli/run_command.h"

namespace kestrel::cli {

absl::StatusOr<LoadedRules> LoadRules(const std::optional<std::string>& dir_flag, bool endgame,
                                      schema::Schema& schema, const engine::EngineLimits& limits,
                                      const std::vector<eql::CustomFunction>* functions) {
  LoadedRules out;
  std::string error;
  auto dir = ResolveRulesDir(dir_flag, &error);
  if (!dir) {
    if (dir_flag) return absl::NotFoundError(error);
    spdlog::warn("{}; running without rules", error);
    return out;
  }
  out.directory = dir->string();
  rules::RuleSetOptions options;
  options.functions = functions;
  options.default_dialect =
      endgame ? rules::RuleDialect::kEndgame : rules::RuleDialect::kElasticsearch;
  out.build = rules::BuildRuleSet({out.directory}, schema, options);
  // Compiler-style diagnostics are multi-line; print them as they are.
  for (const std::string& m : out.build.messages) fmt::print(stderr, "{}", m);
  out.failed = out.build.failed;
  for (const rules::CompiledRule& rule : out.build.rules) {
    auto engine = engine::QueryEngine::Create(rule.program.get(), schema, limits);
    if (!engine.ok()) {
      spdlog::error("{}: rule '{}' not loaded: {}", rule.spec.file, rule.spec.id,
                    base::Message(engine.status()));
      ++out.failed;
      continue;
    }
    out.active.push_back(&rule);
  }
  spdlog::info("rule directory {}: {} rules loaded, {} failed, {} skipped", out.directory,
               out.active.size(), out.failed, out.build.skipped);
  return out;
}

engine::EngineLimits StreamingLimits(size_t max_partials_per_rule, int64_t default_ttl_ns) {
  engine::EngineLimits limits;
  limits.max_partials = max_partials_per_rule;
  limits.default_ttl_ns = default_ttl_ns;
  limits.streaming = true;
  return limits;
}

sources::DiagnosticSink ReportDiagnostics(std::string what, size_t limit) {
  auto reported = std::make_shared<uint64_t>(0);
  return [reported, what = std::move(what), limit](const sources::SourceDiagnostic& d) {
    if (*reported < limit) {
      spdlog::warn("{}: {}: {}", d.location, what, d.reason);
    } else if (*reported == limit) {
      spdlog::warn("more {}: further ones are counted but not shown", what);
    }
    ++*reported;
  };
}

engine::Alert MakeAlert(const rules::CompiledRule& rule, engine::QueryMatch& match,
                        const schema::Schema& schema) {
  engine::Alert alert;
  alert.rule_id = rule.spec.id;
  alert.rule_name = rule.spec.name;
  alert.severity = rule.spec.severity;
  alert.entity_key = std::move(match.entity_key);
  alert.events = std::move(match.events);
  engine::FinalizeAlert(schema, &alert);
  return alert;
}

bool ParseSourceSpec(std::string_view spec, bool* live, std::string* ndjson_path) {
  *live = spec == "ebpf";
  size_t colon = spec.find(':');
  if (!*live && (colon == std::string_view::npos || spec.substr(0, colon) != "ndjson" ||
                 colon + 1 == spec.size())) {
    spdlog::error("unsupported --source '{}': expected ebpf, ndjson:PATH or ndjson:-", spec);
    return false;
  }
#ifndef KESTREL_HAVE_EBPF
  if (*live) {
    spdlog::error(
        "--source ebpf: this build has no live eBPF collection (built with -DKESTREL_EBPF=OFF "
        "or not on Linux); read events from a file with --source ndjson:FILE instead");
    return false;
  }
#endif
  if (!*live) *ndjson_path = std::string(spec.substr(colon + 1));
  return true;
}

std::atomic<bool>& StopFlag() {
  static std::atomic<bool> stop{false};
  return stop;
}

void InstallStopSignals() {
  StopFlag().store(false);
  std::signal(SIGINT, [](int) { StopFlag().store(true); });
  std::signal(SIGTERM, [](int) { StopFlag().store(true); });
}

DurationTimer::DurationTimer(int64_t duration_ns) {
  if (duration_ns <= 0) return;
  thread_ = std::thread([this, duration_ns] {
    auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(duration_ns);
    while (!done_.load() && !StopFlag().load()) {
      if (std::chrono::steady_clock::now() >= end) {
        StopFlag().store(true);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // few wake-ups: CPU at idle
    }
  });
}

DurationTimer::~DurationTimer() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace kestrel::cli
