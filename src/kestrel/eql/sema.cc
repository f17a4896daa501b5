// Semantic analysis: the public entry points; see sema.h for the contract and sema_internal.h
// for where the rest lives. Analyze() lowers each stage of a query (sema_lower.cc), checks that
// every stage joins on the same number of keys, lowers the pipes and sorts the diagnostics by
// position; the program is returned only if none is an error.
// Tested by sema_test.cc and conformance_sema_test.cc.
#include "kestrel/eql/sema.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kestrel/eql/sema_internal.h"

namespace kestrel::eql {

using internal::Analyzer;

std::string_view IrTypeName(IrType type) {
  switch (type) {
    case IrType::kNull:
      return "null";
    case IrType::kBool:
      return "a boolean";
    case IrType::kNumber:
      return "a number";
    case IrType::kString:
      return "a string";
    case IrType::kIp:
      return "an IP address";
    case IrType::kAny:
      return "a value";
  }
  return "a value";
}

CompileResult Analyze(const Query& query, schema::Schema& schema, const CompileOptions& options) {
  CompileResult result;
  auto program = std::make_unique<IrProgram>();
  program->kind = query.body->kind();
  program->dialect = options.dialect;
  program->case_insensitive = options.dialect == Dialect::kEndgame && !options.case_sensitive;
  Analyzer analyzer(schema, options, &program->constants, &result.diagnostics);
  const QueryNode& body = *query.body;
  auto lower_stages = [&](const std::vector<Stage>& stages, const std::vector<ExprPtr>& by) {
    for (const Stage& s : stages) {
      IrStage stage;
      analyzer.LowerStage(s, by, &stage);
      program->stages.push_back(std::move(stage));
    }
  };
  switch (body.kind()) {
    case QueryKind::kEvent: {
      IrStage stage;
      analyzer.LowerEventQuery(body.Cast<EventQuery>(), &stage);
      program->stages.push_back(std::move(stage));
      break;
    }
    case QueryKind::kSequence: {
      const auto& seq = body.Cast<SequenceQuery>();
      lower_stages(seq.stages, seq.by);
      if (seq.maxspan) {
        int64_t ms = seq.maxspan->Milliseconds();
        // Elasticsearch refuses a span of zero; the Endgame reference reads it as a zero span
        // (only events of the same time), as Kestrel does in that dialect.
        if (ms <= 0 && options.dialect == Dialect::kElasticsearch) {
          result.diagnostics.push_back(Diagnostic{
              Severity::kError, seq.maxspan->span,
              fmt::format("a positive maxspan value is required; found [{}]", seq.maxspan->value),
              "Elasticsearch refuses maxspan=0; give a positive span, or drop `with maxspan`"});
        }
        program->maxspan_ns = ms > INT64_MAX / 1'000'000 ? INT64_MAX : ms * 1'000'000;
      }
      if (seq.until) {
        IrStage until;
        analyzer.LowerStage(*seq.until, seq.by, &until);
        program->until = std::move(until);
      }
      break;
    }
    case QueryKind::kSample: {
      const auto& sample = body.Cast<SampleQuery>();
      lower_stages(sample.stages, sample.by);
      break;
    }
    case QueryKind::kJoin: {
      const auto& join = body.Cast<JoinQuery>();
      lower_stages(join.stages, join.by);
      if (join.until) {
        IrStage until;
        analyzer.LowerStage(*join.until, join.by, &until);
        program->until = std::move(until);
      }
      break;
    }
  }
  if (options.dialect == Dialect::kElasticsearch) {
    bool joined = body.kind() == QueryKind::kSequence || body.kind() == QueryKind::kSample;
    for (IrStage& s : program->stages) {
      if (!s.predicate) continue;
      if (joined) analyzer.RequireJoinKeys(&s);
      MarkQueryNegations(*s.predicate);
    }
    if (program->until && program->until->predicate) {
      MarkQueryNegations(*program->until->predicate);
    }
  }
  // Every stage of a multi-stage query joins on the same number of keys.
  if (program->stages.size() > 1) {
    size_t keys = program->stages[0].by.size();
    for (const IrStage& s : program->stages) {
      if (s.by.size() != keys) {
        result.diagnostics.push_back(
            Diagnostic{Severity::kError, s.span,
                       fmt::format("this stage joins on {} key{} but the first joins on {}",
                                   s.by.size(), s.by.size() == 1 ? "" : "s", keys),
                       "give every stage the same number of `by` fields"});
      }
    }
  }
  for (const Pipe& p : query.pipes) {
    IrPipe pipe;
    pipe.kind = p.kind;
    pipe.span = p.span;
    pipe.limit = p.limit;
    for (const ExprPtr& a : p.args) {
      if (p.kind == PipeKind::kHead || p.kind == PipeKind::kTail) break;
      IrNodePtr x = analyzer.LowerExpr(*a);
      if (x) pipe.args.push_back(std::move(x));
    }
    program->pipes.push_back(std::move(pipe));
  }
  analyzer.FinishDiagnostics(query.body->span);
  std::stable_sort(
      result.diagnostics.begin(), result.diagnostics.end(),
      [](const Diagnostic& a, const Diagnostic& b) { return a.span.offset < b.span.offset; });
  bool has_error = std::any_of(result.diagnostics.begin(), result.diagnostics.end(),
                               [](const Diagnostic& d) { return d.severity == Severity::kError; });
  if (!has_error) result.program = std::move(program);
  return result;
}

CompileResult Compile(std::string_view text, schema::Schema& schema,
                      const CompileOptions& options) {
  ParseOptions parse_options;
  parse_options.dialect = options.dialect;
  parse_options.max_depth = options.max_depth;
  ParseResult parsed = ParseQuery(text, parse_options);
  if (!parsed.ok()) {
    CompileResult result;
    result.diagnostics = std::move(parsed.diagnostics);
    return result;
  }
  CompileResult result = Analyze(*parsed.query, schema, options);
  result.diagnostics.insert(result.diagnostics.begin(), parsed.diagnostics.begin(),
                            parsed.diagnostics.end());
  return result;
}

ExpressionResult CompileExpression(std::string_view text, schema::Schema& schema,
                                   const CompileOptions& options, base::StringArena* arena) {
  ExpressionResult result;
  std::string query = "any where " + std::string(text);
  ParseOptions parse_options;
  parse_options.dialect = options.dialect;
  parse_options.max_depth = options.max_depth;
  ParseResult parsed = ParseQuery(query, parse_options);
  result.diagnostics = std::move(parsed.diagnostics);
  if (!parsed.ok()) return result;
  const auto& q = parsed.query->body->Cast<EventQuery>();
  Analyzer analyzer(schema, options, arena, &result.diagnostics);
  IrNodePtr node = analyzer.LowerExpr(*q.condition);
  analyzer.FinishDiagnostics(q.condition->span);
  if (!analyzer.has_error()) result.node = std::move(node);
  if (result.node && options.dialect == Dialect::kElasticsearch) MarkQueryNegations(*result.node);
  return result;
}

}  // namespace kestrel::eql
