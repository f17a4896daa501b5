// The value parsers of run_config.h.
#include "kestrel/pipeline/run_config.h"

#include <cctype>
#include <cstdlib>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace kestrel::pipeline {
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

absl::StatusOr<size_t> ParseByteSize(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[digits])) != 0 || text[digits] == '.')) {
    ++digits;
  }
  std::string n(text.substr(0, digits));
  std::string unit;
  for (char c : text.substr(digits)) unit.push_back(static_cast<char>(std::tolower(c)));
  char* end = nullptr;
  double value = n.empty() ? -1 : std::strtod(n.c_str(), &end);
  bool number_ok = !n.empty() && end == n.c_str() + n.size() && value >= 0;
  if (number_ok && unit.empty()) {
    if (value == 0) return 0;
    return absl::InvalidArgumentError(
        fmt::format("Missing size unit. Did you mean {}MB? (units: B, KB, MB, GB)", n));
  }
  double scale = 0;
  if (unit == "b") scale = 1;
  if (unit == "k" || unit == "kb" || unit == "kib") scale = 1024.0;
  if (unit == "m" || unit == "mb" || unit == "mib") scale = 1024.0 * 1024;
  if (unit == "g" || unit == "gb" || unit == "gib") scale = 1024.0 * 1024 * 1024;
  if (!number_ok || scale == 0 || value * scale > 1099511627776.0) {
    return absl::InvalidArgumentError(fmt::format(
        "bad size '{}': expected e.g. 64MB, 512KB or 1GB (at most 1TB; 0: no limit)", text));
  }
  return static_cast<size_t>(value * scale);
}

absl::StatusOr<int64_t> ParseDuration(std::string_view text) {
  std::string_view number = text;
  double unit = 0;  // none given
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
  bool number_ok = !n.empty() && end == n.c_str() + n.size() && value >= 0;
  if (number_ok && unit == 0) {
    // A bare number: 0 is 0 in any unit; anything else needs one (10 meant as seconds must not
    // silently be read as something else), as EQL's maxspan does.
    if (value == 0) return 0;
    return absl::InvalidArgumentError(
        fmt::format("Missing time unit. Did you mean {}s? (units: ms, s, m, h, d)", n));
  }
  if (!number_ok || value * unit > 9.2e18) {
    return absl::InvalidArgumentError(
        fmt::format("bad duration '{}': expected e.g. 30s, 500ms, 5m, 2h or 1d", text));
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

absl::StatusOr<SourceSpec> ParseSourceSpec(std::string_view spec) {
  SourceSpec out;
  out.live = spec == "ebpf";
  size_t colon = spec.find(':');
  if (!out.live && (colon == std::string_view::npos || spec.substr(0, colon) != "ndjson" ||
                    colon + 1 == spec.size())) {
    return absl::InvalidArgumentError(
        fmt::format("unsupported --source '{}': expected ebpf, ndjson:PATH or ndjson:-", spec));
  }
#ifndef KESTREL_HAVE_EBPF
  if (out.live) {
    return absl::InvalidArgumentError(
        "--source ebpf: this build has no live eBPF collection (built with -DKESTREL_EBPF=OFF "
        "or not on Linux); read events from a file with --source ndjson:FILE instead");
  }
#endif
  if (!out.live) out.ndjson_path = std::string(spec.substr(colon + 1));
  return out;
}

}  // namespace kestrel::pipeline
