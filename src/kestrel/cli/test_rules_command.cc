// `kestrel test-rules`; see test_rules_command.h for the contract and docs/rules.md for the test
// file format. Cost: one rule-set build, then per case one Detector over the case's events.
#include "kestrel/cli/test_rules_command.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "kestrel/base/status.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/detector.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/rules/rule_test_file.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

struct Alert {
  std::string rule_id;
  std::vector<uint64_t> events;
  friend auto operator<=>(const Alert&, const Alert&) = default;
};

std::string Describe(const Alert& a) {
  return fmt::format("{} events [{}]", a.rule_id, fmt::join(a.events, ", "));
}

std::string Normalise(const fs::path& p) { return p.lexically_normal().string(); }

bool IsSequence(const rules::RuleSpec& spec) {
  std::string_view q = spec.query;
  size_t first = q.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && q.substr(first).starts_with("sequence");
}

// The test files below `dir`, sorted; hidden names are skipped as the rule loader does.
std::vector<fs::path> ListTestFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && rules::IsRuleTestFile(it->path())) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class Runner {
 public:
  explicit Runner(const TestRulesOptions& options) : options_(options) {
    // With --coverage the table owns stdout; case lines go to stderr, failures only.
    out_ = options.coverage ? stderr : stdout;
    show_passes_ = !options.coverage || options.verbose;
  }

  int Run(const fs::path& dir) {
    std::shared_ptr<const rules::SigmaMapping> mapping;
    if (!LoadSigmaMappingFlag(options_.sigma_mapping, &mapping)) return kExitUsage;
    rules::RuleSetOptions set_options;
    set_options.sigma_mapping = mapping.get();
    rules::RuleSetBuild build = rules::BuildRuleSet({dir.string()}, schema_, set_options);
    for (const std::string& m : build.messages) fmt::print(stderr, "{}", m);
    if (build.failed > 0) ++failures_;
    std::map<std::string, std::vector<const rules::CompiledRule*>> by_file;
    for (const rules::CompiledRule& rule : build.rules) {
      by_file[Normalise(rule.spec.file)].push_back(&rule);
      if (IsSequence(rule.spec)) ++sequences_;
    }
    std::map<std::string, std::pair<size_t, size_t>> cases_of;  // rule id -> (positive, negative)
    for (const fs::path& test_path : ListTestFiles(dir)) {
      RunFile(test_path, by_file, &cases_of);
    }
    size_t tested = 0, untested = 0, incomplete = 0;
    for (const rules::CompiledRule& rule : build.rules) {
      auto [pos, neg] = cases_of[rule.spec.id];
      if (pos == 0 && neg == 0) {
        ++untested;
        if (options_.allow_untested) {
          fmt::print(out_, "UNTESTED  {}  {}: no test cases (allowed by --allow-untested)\n",
                     rule.spec.file, rule.spec.id);
        } else {
          fmt::print(out_,
                     "FAIL  {}  {}: no test cases (write {} beside it, or pass "
                     "--allow-untested)\n",
                     rule.spec.file, rule.spec.id,
                     fs::path(rule.spec.file).replace_extension(".test.yaml").filename().string());
          ++failures_;
        }
      } else if (pos == 0 || neg == 0) {
        ++incomplete;
        fmt::print(out_,
                   "FAIL  {}  {}: needs at least one positive and one negative case "
                   "(has {} positive, {} negative)\n",
                   rule.spec.file, rule.spec.id, pos, neg);
        ++failures_;
      } else {
        ++tested;
      }
    }
    // Every number adds up: rules = tested + untested + incomplete + not loaded; cases = passed
    // + failed; and the test files that could not run count on their own.
    fmt::print(out_,
               "test-rules: {} rules ({} sequences): {} tested, {} untested, {} incomplete, {} not "
               "loaded; {} cases: {} passed, {} failed; {} test file errors\n",
               build.rules.size() + build.failed, sequences_, tested, untested, incomplete,
               build.failed, passed_ + failed_cases_, passed_, failed_cases_, file_errors_);
    std::fflush(out_);
    if (options_.coverage) PrintCoverage(build);
    return failures_ == 0 ? kExitOk : kExitFailure;
  }

 private:
  void RunFile(const fs::path& test_path,
               const std::map<std::string, std::vector<const rules::CompiledRule*>>& by_file,
               std::map<std::string, std::pair<size_t, size_t>>* cases_of) {
    rules::RuleTestLoad load = rules::LoadRuleTestFile(test_path);
    for (const rules::LoadDiagnostic& d : load.diagnostics) {
      fmt::print(stderr, "{}\n", rules::FormatLoadDiagnostic(d));
    }
    if (!load.test) {
      fmt::print(out_, "FAIL  {}: the test file has errors\n", test_path.string());
      ++failures_;
      ++file_errors_;
      return;
    }
    auto rule_file = rules::RuleFileForTest(test_path);
    auto found = rule_file ? by_file.find(Normalise(*rule_file)) : by_file.end();
    if (found == by_file.end()) {
      fmt::print(out_, "FAIL  {}: {}\n", test_path.string(),
                 rule_file
                     ? fmt::format("the rule file {} has no loaded rules", rule_file->string())
                     : std::string("no rule file beside it (same name without .test.yaml)"));
      ++failures_;
      ++file_errors_;
      return;
    }
    std::vector<const rules::CompiledRule*> under_test;
    for (const rules::CompiledRule* rule : found->second) {
      if (load.test->rule_id.empty() || rule->spec.id == load.test->rule_id) {
        under_test.push_back(rule);
      }
    }
    if (under_test.empty()) {
      fmt::print(out_, "FAIL  {}: no rule '{}' in {}\n", test_path.string(), load.test->rule_id,
                 rule_file->string());
      ++failures_;
      ++file_errors_;
      return;
    }
    for (const rules::RuleTestCase& c : load.test->cases) {
      std::vector<Alert> expected;
      bool resolved = true;
      for (const rules::ExpectedAlert& e : c.expected) {
        std::string id = e.rule_id;
        if (id.empty()) {
          if (under_test.size() != 1) {
            fmt::print(out_,
                       "FAIL  {}:{}:{}: case '{}': the file tests several rules; name the rule "
                       "of each expected alert ({{rule: ID, events: [..]}})\n",
                       test_path.string(), e.position.line, e.position.column, c.name);
            resolved = false;
            continue;
          }
          id = under_test[0]->spec.id;
        }
        expected.push_back({std::move(id), e.events});
      }
      if (!resolved) {
        ++failures_;
        ++failed_cases_;
        continue;
      }
      for (const rules::CompiledRule* rule : under_test) {
        bool alerts = std::any_of(expected.begin(), expected.end(),
                                  [&](const Alert& a) { return a.rule_id == rule->spec.id; });
        auto& counts = (*cases_of)[rule->spec.id];
        ++(alerts ? counts.first : counts.second);
      }
      RunCase(test_path, c, under_test, std::move(expected));
    }
  }

  void RunCase(const fs::path& test_path, const rules::RuleTestCase& c,
               const std::vector<const rules::CompiledRule*>& under_test,
               std::vector<Alert> expected) {
    std::string label = fmt::format("{}:{}  {} ({})", test_path.string(), c.position.line, c.name,
                                    c.positive() ? "positive" : "negative");
    std::vector<Alert> actual;
    std::string error;
    engine::Detector detector(schema_,
                              pipeline::StreamingLimits(100'000, int64_t{24} * 3600 * 1'000'000'000,
                                                        pipeline::kDefaultStateBudgetBytes));
    for (const rules::CompiledRule* rule : under_test) {
      if (absl::Status s = detector.AddRule(rule->program.get()); !s.ok()) {
        error = fmt::format("rule '{}' refused by the engine: {}", rule->spec.id, base::Message(s));
      }
    }
    if (error.empty()) {
      if (absl::Status s = detector.Seal(); !s.ok()) error = std::string(base::Message(s));
    }
    auto on_match = [&](size_t rule, engine::QueryMatch& match) {
      actual.push_back({under_test[rule]->spec.id, match.event_indexes});
    };
    if (error.empty()) {
      event::JsonDecoder decoder(&schema_);
      event::Event event;
      std::string buffer;
      for (size_t i = 0; i < c.events.size(); ++i) {
        buffer.assign(c.events[i]);
        size_t size = buffer.size();
        buffer.resize(size + event::JsonDecoder::kPadding);
        if (absl::Status s =
                decoder.Decode(std::string_view(buffer.data(), size), buffer.size(), &event);
            !s.ok()) {
          error = fmt::format("event {}: {}", i, base::Message(s));
          break;
        }
        detector.Process(event, i, on_match);
      }
      if (error.empty()) detector.Finish(on_match);
    }
    std::sort(expected.begin(), expected.end());
    std::sort(actual.begin(), actual.end());
    if (error.empty() && expected == actual) {
      ++passed_;
      if (show_passes_) fmt::print(out_, "PASS  {}\n", label);
      return;
    }
    ++failed_cases_;
    ++failures_;
    fmt::print(out_, "FAIL  {}\n", label);
    if (!error.empty()) {
      fmt::print(out_, "      error: {}\n", error);
      return;
    }
    auto list = [&](const char* title, const std::vector<Alert>& alerts) {
      fmt::print(out_, "      {}:{}\n", title, alerts.empty() ? " (none)" : "");
      for (const Alert& a : alerts) fmt::print(out_, "        {}\n", Describe(a));
    };
    list("expected alerts", expected);
    list("actual alerts", actual);
    fmt::print(out_, "      diff (- expected, + actual):\n");
    std::vector<Alert> missing, extra;
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::back_inserter(missing));
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::back_inserter(extra));
    for (const Alert& a : missing) fmt::print(out_, "      - {}\n", Describe(a));
    for (const Alert& a : extra) fmt::print(out_, "      + {}\n", Describe(a));
  }

  void PrintCoverage(const rules::RuleSetBuild& build) {
    struct Technique {
      std::string name;
      std::set<std::string> rules;
    };
    struct Tactic {
      std::string name;
      std::map<std::string, Technique> techniques;  // by id
      std::set<std::string> rules;
    };
    std::map<std::string, Tactic> tactics;  // by id
    std::set<std::string> unmapped, techniques_seen;
    for (const rules::CompiledRule& rule : build.rules) {
      bool mapped = false;
      for (const rules::ThreatMapping& t : rule.spec.threat) {
        if (t.tactic_id.empty()) continue;
        mapped = true;
        Tactic& tactic = tactics[t.tactic_id];
        if (tactic.name.empty()) tactic.name = t.tactic_name;
        tactic.rules.insert(rule.spec.id);
        for (size_t i = 0; i < t.technique_ids.size(); ++i) {
          Technique& tech = tactic.techniques[t.technique_ids[i]];
          if (tech.name.empty()) tech.name = t.technique_names[i];
          tech.rules.insert(rule.spec.id);
          techniques_seen.insert(t.technique_ids[i]);
        }
      }
      if (!mapped) unmapped.insert(rule.spec.id);
    }
    bool md = options_.format == "markdown";
    auto join = [md](const std::set<std::string>& ids) {
      std::vector<std::string> parts;
      for (const std::string& id : ids) parts.push_back(md ? fmt::format("`{}`", id) : id);
      return fmt::format("{}", fmt::join(parts, ", "));
    };
    auto titled = [](const std::string& id, const std::string& name) {
      return name.empty() ? id : fmt::format("{} {}", id, name);
    };
    if (md) {
      fmt::print("| Tactic | Technique | Rules |\n|---|---|---|\n");
    } else {
      fmt::print("MITRE ATT&CK coverage\n");
    }
    for (const auto& [tid, tactic] : tactics) {
      if (!md) fmt::print("{} ({} rules)\n", titled(tid, tactic.name), tactic.rules.size());
      for (const auto& [xid, tech] : tactic.techniques) {
        if (md) {
          fmt::print("| {} | {} | {} |\n", titled(tid, tactic.name), titled(xid, tech.name),
                     join(tech.rules));
        } else {
          fmt::print("  {:<48} {}\n", titled(xid, tech.name), join(tech.rules));
        }
      }
    }
    if (!unmapped.empty()) {
      if (md) {
        fmt::print("| (none) | (none) | {} |\n", join(unmapped));
      } else {
        fmt::print("(no ATT&CK mapping)\n  {}\n", join(unmapped));
      }
    }
    fmt::print("{}{} rules ({} sequences), {} tactics, {} techniques\n", md ? "\n" : "",
               build.rules.size(), sequences_, tactics.size(), techniques_seen.size());
  }

  const TestRulesOptions& options_;
  schema::Schema schema_;
  std::FILE* out_;
  bool show_passes_;
  size_t sequences_ = 0;
  size_t passed_ = 0;
  size_t failed_cases_ = 0;
  size_t failures_ = 0;
  size_t file_errors_ = 0;  // test files that did not run (malformed, no rule beside them)
};

}  // namespace

int TestRulesCommand(const TestRulesOptions& options) {
  if (options.format != "text" && options.format != "markdown") {
    fmt::print(stderr, "error: --format must be text or markdown\n");
    return kExitUsage;
  }
  std::string error;
  auto dir = pipeline::ResolveRulesDir(options.dir, &error);
  if (!dir) {
    fmt::print(stderr, "error: {}\n", error);
    return kExitUsage;
  }
  return Runner(options).Run(*dir);
}

}  // namespace kestrel::cli
