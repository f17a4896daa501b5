// `kestrel query`; see query_command.h.
#include "kestrel/cli/query_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <vector>

#include "kestrel/base/status.h"
#include "kestrel/cli/query_input.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/pipeline/predicate_runtime_option.h"

namespace kestrel::cli {

int QueryCommand(const QueryOptions& options) {
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
  if (options.count) {
    fmt::print("{}\n", drained + results.size());
    return kExitOk;
  }
  std::string line;
  for (const engine::QueryMatch& m : results) {
    for (const auto& ev : m.events) {
      line.clear();
      event::AppendEventJson(*ev, schema, &line, event::EventJsonOptions{.add_timestamp = true});
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace kestrel::cli
