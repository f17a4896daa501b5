// `kestrel query`; see query_command.h.
#include "kestrel/cli/query_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "kestrel/base/status.h"
#include "kestrel/cli/query_input.h"
#include "kestrel/cli/query_output.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/cli/saved_hunts.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/run_config.h"

namespace kestrel::cli {
namespace {

int RunQuery(const QueryOptions& options) {
  auto started = std::chrono::steady_clock::now();
  QueryOutputOptions output;
  if (options.format) {
    auto format = ParseQueryFormat(*options.format);
    if (!format) {
      fmt::print(stderr, "error: --format: '{}' is not table, json or ndjson\n", *options.format);
      return kExitUsage;
    }
    output.format = *format;
  } else {
    output.format = DefaultQueryFormat();
  }
  if (options.case_sensitive && options.case_insensitive) {
    fmt::print(stderr, "error: --case-sensitive and --case-insensitive exclude each other\n");
    return kExitUsage;
  }
  bool endgame = options.dialect == "endgame";
  schema::Schema schema;
  eql::CompileOptions compile;
  compile.dialect = endgame ? eql::Dialect::kEndgame : eql::Dialect::kElasticsearch;
  compile.case_sensitive = options.case_sensitive;
  std::unique_ptr<runtime::FunctionModule> module;
  std::unique_ptr<engine::FunctionRuntime> functions;
  if (!options.declared_functions.empty() && !options.functions) {
    fmt::print(stderr, "error: --function declares a function of a --functions module\n");
    return kExitUsage;
  }
  if (options.functions) {
    auto loaded = pipeline::LoadFunctionModule(*options.functions, options.declared_functions);
    if (!loaded.ok()) {
      fmt::print(stderr, "error: --functions: {}\n", base::Message(loaded.status()));
      return kExitFailure;
    }
    module = std::move(*loaded);
    auto instance = module->NewInstance();
    if (!instance.ok()) {
      fmt::print(stderr, "error: --functions: {}\n", base::Message(instance.status()));
      return kExitFailure;
    }
    functions = std::move(*instance);
    compile.functions = &module->signatures();
  }
  eql::CompileResult compiled = eql::Compile(options.query, schema, compile);
  for (const eql::Diagnostic& d : compiled.diagnostics) {
    std::string rendered = eql::RenderDiagnostic(d, "query", options.query);
    if (rendered.empty() || rendered.back() != '\n') rendered.push_back('\n');
    fmt::print(stderr, "{}", rendered);
  }
  if (!compiled.ok()) return kExitFailure;
  auto engine = engine::QueryEngine::Create(compiled.program.get(), schema);
  if (!engine.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(engine.status()));
    return kExitFailure;
  }
  if (functions != nullptr) (*engine)->UseFunctions(functions.get());
  auto predicate_runtime = pipeline::MakePredicateRuntime(options.predicate_runtime);
  if (!predicate_runtime.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(predicate_runtime.status()));
    return kExitUsage;
  }
  if (*predicate_runtime != nullptr) {
    auto predicates = (*predicate_runtime)->Compile(*compiled.program);
    if (!predicates.ok()) {
      fmt::print(stderr, "error: {}\n", base::Message(predicates.status()));
      return kExitFailure;
    }
    (*engine)->UsePredicates(std::move(*predicates));
  }
  // Saved only once the query compiled and the engine accepts it: a hunt always runs.
  if (options.save) {
    std::string error;
    auto dir = pipeline::ResolveRulesDir(options.rules_dir, &error);
    if (!dir) {
      fmt::print(stderr, "error: --save: {} (--rules DIR names one)\n", error);
      return kExitFailure;
    }
    SavedHunt hunt = HuntFromOptions(*options.save, options, options.given);
    if (absl::Status s = SaveHunt(*dir, hunt, options.force); !s.ok()) {
      fmt::print(stderr, "error: --save: {}\n", base::Message(s));
      return kExitFailure;
    }
    fmt::print(stderr, "saved hunt '{}' to {}; rerun it with: kestrel query --run {} [INPUT]\n",
               hunt.name, HuntPath(*dir, hunt.name).string(), hunt.name);
    if (options.given.count("--input") == 0 && options.inputs.empty()) return kExitOk;
  }

  QueryInputOptions input_options;
  if (options.inputs.empty() || options.input != "-") input_options.paths.push_back(options.input);
  input_options.paths.insert(input_options.paths.end(), options.inputs.begin(),
                             options.inputs.end());
  // A count prints no event: log events then carry only the fields the query reads (when it
  // reads nothing else: FieldsRead), which is most of the cost of a full scan.
  if (options.count && options.predicate_runtime == "native" && !options.functions) {
    input_options.only_fields = FieldsRead(*compiled.program);
  }
  input_options.from = options.from;
  input_options.to = options.to;
  input_options.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (absl::Status s = pipeline::ApplyTimeOptions(endgame, options.time_field, options.time_format,
                                                  &input_options.decoder);
      !s.ok()) {
    fmt::print(stderr, "error: --time-format: {}\n", base::Message(s));
    return kExitUsage;
  }
  uint64_t malformed = 0;
  auto input = QueryInput::Open(&schema, input_options, [&](const sources::SourceDiagnostic& d) {
    if (malformed++ < 100) {
      fmt::print(stderr, "warning: {}: malformed input skipped: {}\n", d.location, d.reason);
    }
  });
  if (!input.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(input.status()));
    return input.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  ProgressLine progress(isatty(STDERR_FILENO) == 1, stderr);
  // A count of a query without pipes keeps no result: they are counted and freed as they come,
  // so a full scan's memory stays flat.
  const bool drain = options.count && !(*engine)->HasPipes();
  uint64_t drained = 0;
  event::Event e;
  uint64_t index = 0;
  while (true) {
    auto more = (*input)->Next(&e);
    if (!more.ok()) {
      progress.Clear();
      fmt::print(stderr, "error: {}\n", base::Message(more.status()));
      return kExitFailure;
    }
    if (!*more) break;
    (*engine)->Process(e, index++);
    if (drain && (*engine)->ResultsSoFar() >= 4096) drained += (*engine)->TakeResults().size();
    progress.Tick(index, drained + (*engine)->ResultsSoFar());
  }
  progress.Clear();
  if (options.stats) {
    QueryInputCounters c = (*input)->counters();
    fmt::print(stderr,
               "input: {} files, blocks {} total / {} read / {} pruned, events {} read / {} in "
               "range, {} malformed\n",
               c.files, c.blocks_total, c.blocks_read, c.blocks_pruned, c.events_read,
               c.events_in_range, c.malformed);
  }
  std::vector<engine::QueryMatch> results = (*engine)->Finish();
  output.count_only = options.count;
  output.counted_before = drained;
  output.fields = options.fields;
  // `_index`: the input, or every input joined as an Elasticsearch index list names them.
  output.index.clear();
  for (const std::string& path : input_options.paths) {
    if (!output.index.empty()) output.index.push_back(',');
    output.index += path;
  }
  if (output.format == QueryFormat::kTable) output.width = TerminalWidth();
  output.took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  WriteQueryResults(*compiled.program, schema, results, output, [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
  std::fflush(stdout);
  return kExitOk;
}

std::optional<std::filesystem::path> HuntsRulesDir(const QueryOptions& options,
                                                   std::string_view flag) {
  std::string error;
  auto dir = pipeline::ResolveRulesDir(options.rules_dir, &error);
  if (!dir) fmt::print(stderr, "error: {}: {} (--rules DIR names one)\n", flag, error);
  return dir;
}

}  // namespace

int QueryCommand(const QueryOptions& options) {
  int modes = (options.save ? 1 : 0) + (options.run ? 1 : 0) + (options.to_rule ? 1 : 0) +
              (options.list ? 1 : 0);
  if (modes > 1) {
    fmt::print(stderr, "error: --save, --run, --list and --to-rule exclude each other\n");
    return kExitUsage;
  }
  for (const std::optional<std::string>* name : {&options.save, &options.run, &options.to_rule}) {
    if (*name) {
      if (absl::Status s = ValidateHuntName(**name); !s.ok()) {
        fmt::print(stderr, "error: {}\n", base::Message(s));
        return kExitUsage;
      }
    }
  }
  if (options.list) {
    auto dir = HuntsRulesDir(options, "--list");
    if (!dir) return kExitFailure;
    std::vector<std::string> warnings;
    std::vector<SavedHunt> hunts = ListHunts(*dir, &warnings);
    for (const std::string& w : warnings) fmt::print(stderr, "warning: {}\n", w);
    if (hunts.empty()) fmt::print(stderr, "no saved hunts in {}\n", (*dir / "hunts").string());
    size_t width = 4;
    for (const SavedHunt& h : hunts) width = std::max(width, h.name.size());
    for (const SavedHunt& h : hunts) {
      std::string query = h.query;
      for (char& c : query) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
      }
      fmt::print("{:<{}}  {:<13}  {}\n", h.name, width, h.dialect, ElideMiddle(query, 100));
    }
    return kExitOk;
  }
  if (options.to_rule) {
    auto dir = HuntsRulesDir(options, "--to-rule");
    if (!dir) return kExitFailure;
    std::vector<std::string> warnings;
    auto hunt = LoadHunt(*dir, *options.to_rule, &warnings);
    for (const std::string& w : warnings) fmt::print(stderr, "warning: {}\n", w);
    if (!hunt.ok()) {
      fmt::print(stderr, "error: --to-rule: {}\n", base::Message(hunt.status()));
      return kExitFailure;
    }
    auto written = PromoteHunt(*dir, *hunt);
    if (!written.ok()) {
      fmt::print(stderr, "error: --to-rule: {}\n", base::Message(written.status()));
      return kExitFailure;
    }
    fmt::print(
        "wrote {} and {}\n"
        "fill in: the description, severity and risk_score, tags, tactic and technique, "
        "references, false_positives (docs/rules.md, \"Rule fields\"), and a positive and a "
        "negative test case in {}; then\n"
        "  kestrel check --strict {}\n  kestrel test-rules {}\n",
        written->rule.string(), written->tests.string(), written->tests.string(),
        written->rule.string(), dir->string());
    if (hunt->case_sensitive) {
      fmt::print(stderr,
                 "warning: the hunt compares strings with case (--case-sensitive); a rule "
                 "cannot say so: check the rule's matches\n");
    }
    return kExitOk;
  }
  if (options.run) {
    auto dir = HuntsRulesDir(options, "--run");
    if (!dir) return kExitFailure;
    std::vector<std::string> warnings;
    auto hunt = LoadHunt(*dir, *options.run, &warnings);
    for (const std::string& w : warnings) fmt::print(stderr, "warning: {}\n", w);
    if (!hunt.ok()) {
      fmt::print(stderr, "error: --run: {}\n", base::Message(hunt.status()));
      return kExitFailure;
    }
    QueryOptions run = options;
    // `kestrel query --run NAME INPUT...`: the positional arguments are the inputs.
    if (!options.query.empty()) {
      run.inputs.insert(run.inputs.begin(), options.query);
      run.given.insert("--input");
    }
    ApplyHunt(*hunt, run.given, &run);
    run.run.reset();
    return RunQuery(run);
  }
  if (options.query.empty()) {
    fmt::print(stderr,
               "error: query: a query is required (or --run NAME, --list, --to-rule NAME)\n");
    return kExitUsage;
  }
  return RunQuery(options);
}

}  // namespace kestrel::cli
