// `kestrel import sigma`; see import_command.h.
#include "kestrel/cli/import_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/cli/command_line.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/eql/sema.h"
#include "kestrel/rules/loader.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/sigma_mapping.h"
#include "kestrel/schema/schema.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

// A YAML double-quoted scalar.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string QuoteList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Quote(items[i]);
  return out + "]";
}

std::string TagValue(const rules::RuleSpec& spec, std::string_view prefix) {
  for (const std::string& t : spec.tags) {
    if (t.starts_with(prefix)) return t.substr(prefix.size());
  }
  return "";
}

// The Kestrel YAML rule file of a converted Sigma rule (docs/rules.md, YAML rule maps).
std::string RuleFileText(const rules::RuleSpec& spec) {
  std::string out =
      fmt::format("# Converted by `kestrel import sigma` from the Sigma rule {} ({}:{}).\n",
                  spec.id, spec.file, spec.position.line);
  std::string status = TagValue(spec, "sigma.status:");
  std::string author = TagValue(spec, "sigma.author:");
  if (!status.empty() || !author.empty()) {
    out += fmt::format("# Sigma status: {}; author: {}\n", status.empty() ? "-" : status,
                       author.empty() ? "-" : author);
  }
  out += fmt::format("id: {}\nname: {}\n", Quote(spec.id), Quote(spec.name));
  if (!spec.description.empty()) out += fmt::format("description: {}\n", Quote(spec.description));
  out += fmt::format("severity: {}\nrisk_score: {}\n", engine::SeverityName(spec.severity),
                     spec.risk_score);
  if (!spec.tags.empty()) out += fmt::format("tags: {}\n", QuoteList(spec.tags));
  if (!spec.threat.empty()) {
    out += "threat:\n";
    for (const rules::ThreatMapping& t : spec.threat) {
      out += fmt::format("  - framework: {}\n", Quote(t.framework));
      if (!t.tactic_id.empty()) {
        out += fmt::format("    tactic: {{id: {}, name: {}}}\n", Quote(t.tactic_id),
                           Quote(t.tactic_name));
      }
      if (!t.technique_ids.empty()) {
        out += fmt::format("    techniques: {}\n", QuoteList(t.technique_ids));
      }
    }
  }
  if (!spec.references.empty()) out += fmt::format("references: {}\n", QuoteList(spec.references));
  if (!spec.false_positives.empty()) {
    out += fmt::format("false_positives: {}\n", QuoteList(spec.false_positives));
  }
  out += "action: alert\ndialect: elasticsearch\nquery: |-\n";
  size_t start = 0;
  while (start <= spec.query.size()) {
    size_t nl = spec.query.find('\n', start);
    out += "  " + spec.query.substr(start, nl == std::string::npos ? nl : nl - start) + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// A file name for `spec` in the output directory, unique in this run.
std::string OutputName(const rules::RuleSpec& spec, std::set<std::string>* used) {
  std::string stem = fs::path(spec.file).stem().string();
  std::string name = stem + ".yaml";
  if (!used->insert(name).second) {
    std::string id;
    for (char c : spec.id) {
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-') {
        id += c;
      }
    }
    name = fmt::format("{}-{}.yaml", stem, id.substr(0, 36));
    for (int n = 2; !used->insert(name).second; ++n) name = fmt::format("{}-{}.yaml", stem, n);
  }
  return name;
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  auto fd = base::OpenPrivateFile(path, O_WRONLY | O_TRUNC);
  if (!fd.ok()) return fd.status();
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(*fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(*fd);
      return absl::InternalError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  if (::close(*fd) != 0) {
    return absl::InternalError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  }
  return absl::OkStatus();
}

// The reason of a diagnostic without the rule's name, for grouping.
std::string Reason(std::string_view message) {
  if (message.starts_with("Sigma rule '")) {
    size_t end = message.find("': ");
    if (end != std::string_view::npos) message.remove_prefix(end + 3);
  }
  if (message.ends_with("; not loaded")) message.remove_suffix(12);
  return std::string(message);
}

}  // namespace

int ImportSigmaCommand(const ImportSigmaOptions& options) {
  if (options.print_mapping) {
    fmt::print("{}", rules::SigmaMapping::DefaultText());
    return kExitOk;
  }
  if (options.sources.empty() || options.out.empty()) {
    fmt::print(stderr, "error: import sigma needs SRC... and --out DIR (or --print-mapping)\n");
    return kExitUsage;
  }
  rules::SigmaMapping mapping = rules::SigmaMapping::Default();
  if (!options.sigma_mapping.empty()) {
    std::vector<std::string> errors = rules::LoadSigmaMapping(options.sigma_mapping, &mapping);
    for (const std::string& e : errors) fmt::print(stderr, "error: {}\n", e);
    if (!errors.empty()) return kExitUsage;
  }
  if (absl::Status s = base::CreatePrivateDirectories(options.out); !s.ok()) {
    fmt::print(stderr, "error: --out: {}\n", std::string(s.message()));
    return kExitUsage;
  }
  rules::LoadOptions load_options{&mapping};
  rules::LoadResult loaded = rules::LoadRulePaths(options.sources, load_options);
  size_t converted = 0, unsupported = loaded.skipped, failed = loaded.failed;
  std::map<std::string, size_t> unsupported_reasons, failed_reasons;
  for (const rules::LoadDiagnostic& d : loaded.diagnostics) {
    if (d.kind == rules::LoadDiagnostic::Kind::kWarning) continue;
    fmt::print("{}\n", rules::FormatLoadDiagnostic(d));
    auto& group =
        d.kind == rules::LoadDiagnostic::Kind::kSkipped ? unsupported_reasons : failed_reasons;
    ++group[Reason(d.message)];
  }
  std::set<std::string> used;
  for (const rules::RuleSpec& spec : loaded.rules) {
    if (spec.format != rules::RuleFormat::kSigma) {
      fmt::print("{}: rule '{}' is not a Sigma rule; not imported\n", spec.file, spec.id);
      continue;
    }
    auto fail = [&](std::string reason, rules::SourcePosition pos) {
      fmt::print("{}:{}:{}: error: Sigma rule '{}': {}\n", spec.file, pos.line, pos.column,
                 spec.name, reason);
      ++failed_reasons[reason];
      ++failed;
    };
    schema::Schema schema;
    eql::CompileOptions compile_options;
    compile_options.dialect = eql::Dialect::kElasticsearch;
    eql::CompileResult compiled = eql::Compile(spec.query, schema, compile_options);
    if (!compiled.ok()) {
      for (const eql::Diagnostic& d : compiled.diagnostics) {
        if (d.severity != eql::Severity::kError) continue;
        fail(fmt::format("its EQL does not compile: {}", d.message),
             spec.PositionOf(d.span.offset));
        break;
      }
      continue;
    }
    std::string path = (fs::path(options.out) / OutputName(spec, &used)).string();
    std::string text = RuleFileText(spec);
    if (absl::Status s = WriteText(path, text); !s.ok()) {
      fail(fmt::format("cannot write the rule: {}", std::string(s.message())), spec.position);
      continue;
    }
    // The written file must read back as the same rule.
    rules::LoadResult back = rules::LoadRuleText(path, rules::RuleFormat::kYaml, text);
    if (back.rules.size() != 1 || back.rules[0].query != spec.query ||
        back.rules[0].id != spec.id) {
      fail(fmt::format("{} does not read back as the same rule (a bug; please report it)", path),
           spec.position);
      continue;
    }
    ++converted;
  }
  fmt::print("{} rules: {} converted, {} unsupported, {} failed\n",
             converted + unsupported + failed, converted, unsupported, failed);
  for (const auto& [title, group] :
       {std::pair{"unsupported", &unsupported_reasons}, std::pair{"failed", &failed_reasons}}) {
    if (group->empty()) continue;
    std::vector<std::pair<size_t, std::string>> sorted;
    for (const auto& [reason, n] : *group) sorted.emplace_back(n, reason);
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    fmt::print("{}:\n", title);
    for (const auto& [n, reason] : sorted) fmt::print("  {:5}  {}\n", n, reason);
  }
  return failed == 0 ? kExitOk : kExitFailure;
}

Command AddImportCommand(CLI::App& app) {
  auto options = std::make_shared<ImportSigmaOptions>();
  CLI::App* import_cmd =
      app.add_subcommand("import", "Convert rules of another format to Kestrel rule files");
  import_cmd->require_subcommand(1);
  CLI::App* sigma = import_cmd->add_subcommand(
      "sigma", "Convert Sigma rules to Kestrel YAML rule files (EQL, full metadata)");
  sigma->add_option("sources", options->sources, "Sigma rule files and directories (recursive)");
  sigma->add_option("--out", options->out, "Directory to write the converted rules to");
  sigma->add_flag(
      "--print-mapping", options->print_mapping,
      "Print the built-in Sigma -> ECS mapping (the format of --sigma-mapping) and exit");
  sigma->add_option("--sigma-mapping", options->sigma_mapping,
                    "YAML file extending or overriding the built-in Sigma -> ECS field mapping "
                    "(docs/sigma.md)");
  sigma->footer(kExitCodesHelp);
  return {sigma, [options] { return ImportSigmaCommand(*options); }};
}

}  // namespace kestrel::cli
