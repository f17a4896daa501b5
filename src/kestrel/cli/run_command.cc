// `kestrel run`; see run_command.h.
#include "kestrel/cli/run_command.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/alert_sink.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/base/status.h"
#include "kestrel/event/json_decoder.h"
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
  sources::NdjsonOptions ndjson;
  ndjson.path = std::string(spec.substr(colon + 1));
  ndjson.decoder.time_field = options.time_field;
  auto format = event::ParseTimeFormat(options.time_format);
  if (!format.ok()) {
    spdlog::error("--time-format: {}", base::Message(format.status()));
    return kExitUsage;
  }
  ndjson.decoder.time_format = *format;

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
  size_t rules_loaded = 0;
  size_t rules_failed = 0;
  std::string rules_error;
  auto rules_dir = ResolveRulesDir(options.rules_dir, &rules_error);
  if (!rules_dir) {
    if (options.rules_dir) {
      spdlog::error("{}", rules_error);
      return kExitUsage;
    }
    spdlog::warn("{}; running without rules", rules_error);
  } else {
    rules::RuleSetBuild build = rules::BuildRuleSet({rules_dir->string()}, schema);
    for (const std::string& m : build.messages) {
      // Compiler-style diagnostics are multi-line; print them as they are.
      fmt::print(stderr, "{}", m);
    }
    spdlog::info("rule directory {}: {}", rules_dir->string(), build.Summary());
    rules_loaded = build.ok;
    rules_failed = build.failed;
    spdlog::warn(
        "rule evaluation is not in this build yet (the detection engine is the next milestone): "
        "rules are compiled and events are read and validated, no alerts are raised");
  }

  // Output.
  auto sink = actions::JsonLinesSink::Open(&schema, options.output);
  if (!sink.ok()) {
    spdlog::error("{}", base::Message(sink.status()));
    return kExitFailure;
  }

  spdlog::info("reading events from {}", (*source)->name());
  event::Event event;
  int exit_code = kExitOk;
  while (true) {
    auto more = (*source)->Next(&event);
    if (!more.ok()) {
      spdlog::error("{}", base::Message(more.status()));
      exit_code = kExitFailure;
      break;
    }
    if (!*more) break;
  }
  if (absl::Status s = (*sink)->Flush(); !s.ok()) {
    spdlog::error("{}", base::Message(s));
    exit_code = kExitFailure;
  }

  sources::SourceStats stats = (*source)->stats();
  std::string summary = fmt::format(
      "summary: events read: {}, malformed lines: {}, alerts: {}, rules: {} loaded, {} failed",
      stats.events, stats.malformed, (*sink)->written(), rules_loaded, rules_failed);
  if (stats.dropped_fields > 0) {
    summary += fmt::format(", fields dropped (schema budget): {}", stats.dropped_fields);
  }
  if (stats.missing_time > 0) {
    summary += fmt::format(", events without a time: {}", stats.missing_time);
  }
  // The summary is printed whatever the log level: scripts and people rely on it.
  fmt::print(stderr, "{}\n", summary);
  return exit_code;
}

}  // namespace kestrel::cli
