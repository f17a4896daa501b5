// `kestrel query`; see query_command.h.
#include "kestrel/cli/query_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "kestrel/base/status.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/sources/ndjson/ndjson_source.h"

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

  sources::NdjsonOptions ndjson;
  ndjson.path = options.input;
  if (absl::Status s = pipeline::ApplyTimeOptions(endgame, options.time_field, options.time_format,
                                                  &ndjson.decoder);
      !s.ok()) {
    fmt::print(stderr, "error: --time-format: {}\n", base::Message(s));
    return kExitUsage;
  }
  uint64_t malformed = 0;
  auto source =
      sources::NdjsonSource::Open(&schema, ndjson, [&](const sources::SourceDiagnostic& d) {
        if (malformed++ < 100)
          fmt::print(stderr, "warning: {}: malformed event skipped: {}\n", d.location, d.reason);
      });
  if (!source.ok()) {
    fmt::print(stderr, "error: {}\n", base::Message(source.status()));
    return kExitFailure;
  }
  event::Event e;
  uint64_t index = 0;
  while (true) {
    auto more = (*source)->Next(&e);
    if (!more.ok()) {
      fmt::print(stderr, "error: {}\n", base::Message(more.status()));
      return kExitFailure;
    }
    if (!*more) break;
    (*engine)->Process(e, index++);
  }
  std::vector<engine::QueryMatch> results = (*engine)->Finish();
  if (options.count) {
    fmt::print("{}\n", results.size());
    return kExitOk;
  }
  std::string line;
  for (const engine::QueryMatch& m : results) {
    for (const auto& ev : m.events) {
      line.clear();
      event::AppendEventJson(*ev, schema, &line);
      line.push_back('\n');
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace kestrel::cli
