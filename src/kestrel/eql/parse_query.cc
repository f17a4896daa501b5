// Query-level rules of the EQL parser (grammar in parser.h): event queries, sequence / sample /
// join with their stages, `by` keys and `maxspan`, pipes, and Endgame macro definitions.
#include <string>
#include <utility>

#include "fmt/format.h"
#include "kestrel/eql/parser_internal.h"

namespace kestrel::eql::internal {

namespace {

constexpr std::string_view kPipeHint =
    "the pipes are head, tail, filter, count, unique, unique_count and sort";

struct PipeName {
  std::string_view name;
  PipeKind kind;
};
constexpr PipeName kPipes[] = {
    {"head", PipeKind::kHead},
    {"tail", PipeKind::kTail},
    {"count", PipeKind::kCount},
    {"unique", PipeKind::kUnique},
    {"unique_count", PipeKind::kUniqueCount},
    {"filter", PipeKind::kFilter},
    {"sort", PipeKind::kSort},
};

bool IsTimeUnit(std::string_view s) {
  return s == "ms" || s == "s" || s == "m" || s == "h" || s == "d";
}

}  // namespace

std::optional<Query> Parser::ParseWholeQuery() {
  if (At(TokenKind::kEnd)) {
    Fail(Peek().span, "the query is empty",
         "write a query such as: process where process.name == \"bash\"");
    return std::nullopt;
  }
  if (At(TokenKind::kLBracket) || At(TokenKind::kBang)) {
    Fail(Peek().span, "a query cannot start with a bracketed stage",
         "stages belong to sequence, sample or join: sequence [a where ...] [b where ...]");
    return std::nullopt;
  }
  Query query;
  query.dialect = options_.dialect;
  Span start = Peek().span;
  query.body = ParseBody();
  if (!query.body) return std::nullopt;
  while (At(TokenKind::kPipe)) {
    Span bar = Advance().span;
    Pipe pipe;
    if (!ParsePipe(&pipe)) return std::nullopt;
    pipe.span = SpanFrom(bar);
    query.pipes.push_back(std::move(pipe));
  }
  if (!At(TokenKind::kEnd)) {
    std::string hint = query.pipes.empty() && query.body->kind() == QueryKind::kEvent
                           ? "combine conditions with 'and' / 'or'; start a pipe with '|'"
                           : "start a pipe with '|'";
    Fail(Peek().span,
         fmt::format("unexpected {} after the end of the query",
                     Peek().kind == TokenKind::kIdentifier
                         ? fmt::format("'{}'", Peek().text)
                         : std::string(TokenKindName(Peek().kind))),
         std::move(hint));
    return std::nullopt;
  }
  query.span = SpanFrom(start);
  return query;
}

std::unique_ptr<QueryNode> Parser::ParseBody() {
  switch (Peek().kind) {
    case TokenKind::kSequence:
      return ParseSequence();
    case TokenKind::kSample:
      return ParseSample();
    case TokenKind::kJoin:
      return ParseJoin();
    default:
      return ParseEventQuery();
  }
}

std::unique_ptr<EventQuery> Parser::ParseEventQuery() {
  const Token& cat = Peek();
  auto q = std::make_unique<EventQuery>(cat.span);
  if (cat.kind == TokenKind::kAny) {
    Advance();
  } else if ((cat.kind == TokenKind::kIdentifier && cat.text.find('.') == std::string::npos) ||
             cat.kind == TokenKind::kQuotedIdentifier || cat.kind == TokenKind::kString ||
             IsSoftKeyword(cat.kind)) {
    q->category = cat.text;
    q->category_span = cat.span;
    Advance();
  } else if (cat.kind == TokenKind::kSequence || cat.kind == TokenKind::kSample ||
             cat.kind == TokenKind::kJoin) {
    Fail(cat.span, fmt::format("'{}' cannot be nested inside another query", cat.text),
         "a stage holds one event query: [category where condition]");
    return nullptr;
  } else {
    FailExpected("expected an event category or 'any'",
                 "a query starts like: process where ..., or any where ...");
    return nullptr;
  }
  if (!At(TokenKind::kWhere)) {
    FailExpected(q->category.empty()
                     ? std::string("expected 'where' after 'any'")
                     : fmt::format("expected 'where' after the event category '{}'", q->category),
                 "write <category> where <condition>, e.g. process where true");
    return nullptr;
  }
  Advance();
  q->condition = ParseExpr();
  if (!q->condition) return nullptr;
  q->span = SpanFrom(q->span);
  return q;
}

bool Parser::ParseByKeys(std::vector<ExprPtr>* out) {
  Advance();  // by
  while (true) {
    if (!CanStartExpr(Peek())) {
      return FailExpected(
          out->empty() ? "expected a field after 'by'" : "expected a field after ','",
          "write by field1, field2");
    }
    ExprPtr key = ParseExpr();
    if (!key) return false;
    out->push_back(std::move(key));
    if (!Match(TokenKind::kComma)) return true;
  }
}

bool Parser::ParseMaxspan(std::optional<TimeSpan>* out) {
  Span start = Advance().span;  // with
  Advance();                    // maxspan
  if (!Expect(TokenKind::kAssign, "expected '=' after 'maxspan'", "write with maxspan=5m")) {
    return false;
  }
  TimeSpan span;
  if (At(TokenKind::kTimeSpan)) {
    const Token& t = Advance();
    span.value = t.int_value;
    span.unit = t.text;
  } else if (At(TokenKind::kInteger)) {
    const Token& number = Advance();
    span.value = number.int_value;
    if (At(TokenKind::kIdentifier) && IsTimeUnit(Peek().text)) {
      span.unit = Advance().text;
    } else {
      // Both references refuse a bare number (the Endgame one: "Missing time unit. Did you mean
      // 150s?"; Elasticsearch: "No time unit specified, did you mean [s] as in [150s]?"); a
      // silent default unit would turn 10 (meant as seconds) into 10 ms.
      return Fail(number.span,
                  fmt::format("Missing time unit. Did you mean {}s?", number.int_value),
                  "time units are ms, s, m, h and d (e.g. 500ms, 30s, 5m)");
    }
  } else {
    return FailExpected("expected a time span after 'maxspan='",
                        "for example 500ms, 30s, 5m, 1h or 2d");
  }
  span.span = SpanFrom(start);
  *out = std::move(span);
  return true;
}

bool Parser::ParseStage(std::string_view construct, bool allow_missing, bool allow_runs,
                        Stage* out) {
  Span start = Peek().span;
  if (At(TokenKind::kBang)) {
    if (!allow_missing) {
      return Fail(Peek().span,
                  fmt::format("a missing-event stage '![...]' is not allowed in {}", construct),
                  "missing events may only appear among the stages of a sequence");
    }
    Advance();
    out->missing = true;
  }
  if (!Expect(TokenKind::kLBracket, fmt::format("expected '[' to open the {} stage", construct),
              "every stage is written [category where condition]")) {
    return false;
  }
  out->query = ParseEventQuery();
  if (!out->query) return false;
  if (!Expect(TokenKind::kRBracket, fmt::format("expected ']' to close the {} stage", construct),
              "every stage is written [category where condition]")) {
    return false;
  }
  while (true) {
    if (At(TokenKind::kBy)) {
      if (!out->by.empty()) {
        return Fail(Peek().span, "this stage already has 'by' keys",
                    "list all keys in one clause: by a, b");
      }
      if (!ParseByKeys(&out->by)) return false;
    } else if (At(TokenKind::kWith) && Peek(1).kind == TokenKind::kRuns) {
      if (!allow_runs || out->runs) {
        return Fail(Cover(Peek().span, Peek(1).span),
                    fmt::format("'with runs' is not allowed here in {}", construct),
                    "'with runs=N' may follow each sequence stage once");
      }
      Advance();
      Advance();
      if (!Expect(TokenKind::kAssign, "expected '=' after 'runs'", "write with runs=3")) {
        return false;
      }
      if (!At(TokenKind::kInteger) || Peek().int_value < 1) {
        return FailExpected("expected a positive integer after 'runs='", "write with runs=3");
      }
      out->runs = Advance().int_value;
    } else if (At(TokenKind::kWith) && Peek(1).kind != TokenKind::kMaxspan) {
      Advance();
      return FailExpected("expected 'runs=N' or 'maxspan=...' after 'with'");
    } else if (AtIdentifierText("fork")) {
      if (options_.dialect != Dialect::kEndgame) {
        return Fail(Peek().span, "'fork' is only supported in the Endgame dialect");
      }
      Advance();
      out->fork = true;
      if (Match(TokenKind::kAssign)) {
        if (!At(TokenKind::kTrue) && !At(TokenKind::kFalse)) {
          return FailExpected("expected 'true' or 'false' after 'fork='");
        }
        out->fork = Advance().kind == TokenKind::kTrue;
      }
    } else {
      break;
    }
  }
  out->span = SpanFrom(start);
  return true;
}

std::unique_ptr<QueryNode> Parser::ParseSequence() {
  Span start = Advance().span;
  auto q = std::make_unique<SequenceQuery>(start);
  if (At(TokenKind::kBy) && !ParseByKeys(&q->by)) return nullptr;
  if (At(TokenKind::kWith)) {
    if (Peek(1).kind != TokenKind::kMaxspan) {
      Advance();
      FailExpected("expected 'maxspan' after 'with'", "write sequence with maxspan=5m");
      return nullptr;
    }
    if (!ParseMaxspan(&q->maxspan)) return nullptr;
    if (At(TokenKind::kBy)) {
      Fail(Peek().span, "'by' must come before 'with maxspan'",
           "write sequence by field with maxspan=5m");
      return nullptr;
    }
  }
  while (At(TokenKind::kLBracket) || At(TokenKind::kBang)) {
    Stage stage;
    if (!ParseStage("sequence", /*allow_missing=*/true, /*allow_runs=*/true, &stage)) {
      return nullptr;
    }
    q->stages.push_back(std::move(stage));
    if (At(TokenKind::kWith) && Peek(1).kind == TokenKind::kMaxspan) {
      // Trailing form: [a] [b] with maxspan=5s.
      if (q->maxspan) {
        Fail(Cover(Peek().span, Peek(1).span), "'maxspan' is given twice",
             "give 'with maxspan=...' once, after 'sequence' and its 'by' keys");
        return nullptr;
      }
      if (!ParseMaxspan(&q->maxspan)) return nullptr;
      if (At(TokenKind::kLBracket) || At(TokenKind::kBang)) {
        Fail(Peek().span, "no stage may follow a trailing 'with maxspan=...'",
             "put 'with maxspan=...' right after 'sequence' and its 'by' keys");
        return nullptr;
      }
      break;
    }
  }
  // `with runs=N` repeats a stage N times, so `[a] with runs=3` alone is a 3-stage sequence.
  int64_t expanded = 0;
  for (const Stage& s : q->stages) expanded += s.runs.value_or(1);
  if (expanded < 2) {
    if (q->stages.empty()) {
      FailExpected("expected '[' to open the first sequence stage",
                   "a sequence is written sequence [a where ...] [b where ...]");
    } else {
      FailExpected("a sequence needs at least two stages",
                   "add another stage [category where condition]");
    }
    return nullptr;
  }
  if (Match(TokenKind::kUntil)) {
    Stage until;
    if (!ParseStage("until", /*allow_missing=*/false, /*allow_runs=*/false, &until)) {
      return nullptr;
    }
    q->until = std::move(until);
  }
  q->span = SpanFrom(start);
  return q;
}

bool Parser::ParseStageList(std::string_view construct, std::vector<Stage>* out) {
  while (At(TokenKind::kLBracket) || At(TokenKind::kBang)) {
    Stage stage;
    if (!ParseStage(construct, /*allow_missing=*/false, /*allow_runs=*/false, &stage)) {
      return false;
    }
    out->push_back(std::move(stage));
  }
  return true;
}

std::unique_ptr<QueryNode> Parser::ParseSample() {
  Span start = Advance().span;
  auto q = std::make_unique<SampleQuery>(start);
  if (At(TokenKind::kBy) && !ParseByKeys(&q->by)) return nullptr;
  if (!ParseStageList("sample", &q->stages)) return nullptr;
  if (q->stages.empty()) {
    FailExpected("expected '[' to open the first sample stage",
                 "a sample is written sample by host.id [a where ...] [b where ...]");
    return nullptr;
  }
  q->span = SpanFrom(start);
  return q;
}

std::unique_ptr<QueryNode> Parser::ParseJoin() {
  Span start = Advance().span;
  auto q = std::make_unique<JoinQuery>(start);
  if (At(TokenKind::kBy) && !ParseByKeys(&q->by)) return nullptr;
  if (!ParseStageList("join", &q->stages)) return nullptr;
  if (q->stages.size() < 2) {
    FailExpected(q->stages.empty() ? "expected '[' to open the first join stage"
                                   : "a join needs at least two stages",
                 "a join is written join by field [a where ...] [b where ...]");
    return nullptr;
  }
  if (Match(TokenKind::kUntil)) {
    Stage until;
    if (!ParseStage("until", /*allow_missing=*/false, /*allow_runs=*/false, &until)) {
      return nullptr;
    }
    q->until = std::move(until);
  }
  q->span = SpanFrom(start);
  return q;
}

bool Parser::ParsePipe(Pipe* out) {
  const Token& name = Peek();
  if (name.kind != TokenKind::kIdentifier) {
    return FailExpected("expected a pipe name after '|'", std::string(kPipeHint));
  }
  const PipeName* found = nullptr;
  for (const PipeName& p : kPipes) {
    if (p.name == name.text) found = &p;
  }
  if (found == nullptr) {
    return Fail(name.span, fmt::format("unknown pipe '{}'", name.text), std::string(kPipeHint));
  }
  out->kind = found->kind;
  Advance();
  switch (found->kind) {
    case PipeKind::kHead:
    case PipeKind::kTail: {
      // Elasticsearch folds any constant integer expression here (`| head 2 * 5`); Kestrel
      // takes a literal (a deliberate difference: the count is read at parse time).
      auto not_literal = [&](Span at) {
        return Fail(at,
                    fmt::format("'{}' takes an integer literal, not an expression (a deliberate "
                                "difference from Elasticsearch, which folds a constant one)",
                                found->name),
                    fmt::format("write the number: | {} 10", found->name));
      };
      if (!At(TokenKind::kInteger)) {
        if (CanStartExpr(Peek()) && !At(TokenKind::kFloat) && !At(TokenKind::kString) &&
            !At(TokenKind::kMinus)) {
          return not_literal(Peek().span);
        }
        return FailExpected(fmt::format("expected the number of results after '{}'", found->name),
                            fmt::format("for example | {} 10", found->name));
      }
      if (Peek(1).kind == TokenKind::kPlus || Peek(1).kind == TokenKind::kMinus ||
          Peek(1).kind == TokenKind::kStar || Peek(1).kind == TokenKind::kSlash ||
          Peek(1).kind == TokenKind::kPercent) {
        return not_literal(Cover(Peek().span, Peek(1).span));
      }
      const Token& n = Advance();
      auto lit = std::make_unique<LiteralExpr>(n.span);
      lit->literal_kind = LiteralKind::kInt;
      lit->int_value = n.int_value;
      out->limit = n.int_value;
      out->args.push_back(std::move(lit));
      return true;
    }
    case PipeKind::kFilter: {
      if (!CanStartExpr(Peek())) {
        return FailExpected("expected a condition after 'filter'",
                            "for example | filter process.pid > 4");
      }
      ExprPtr cond = ParseExpr();
      if (!cond) return false;
      out->args.push_back(std::move(cond));
      return true;
    }
    default:
      break;
  }
  while (CanStartExpr(Peek())) {
    ExprPtr arg = ParseExpr();
    if (!arg) return false;
    out->args.push_back(std::move(arg));
    if (Match(TokenKind::kComma) && !CanStartExpr(Peek())) {
      return FailExpected(fmt::format("expected a field after ',' in '{}'", found->name));
    }
  }
  if (out->args.empty() && found->kind != PipeKind::kCount) {
    return FailExpected(fmt::format("expected a field after '{}'", found->name),
                        fmt::format("for example | {} process.name", found->name));
  }
  return true;
}

bool Parser::ParseMacro(MacroDefinition* out) {
  Span start = Peek().span;
  if (!Expect(TokenKind::kMacro, "expected 'macro'", "write macro NAME(arg1, arg2) expression")) {
    return false;
  }
  if (!At(TokenKind::kIdentifier) || Peek().text.find('.') != std::string::npos) {
    return FailExpected("expected the macro name after 'macro'");
  }
  out->name = Advance().text;
  if (!Expect(TokenKind::kLParen, "expected '(' after the macro name",
              "write macro NAME(arg1, arg2) expression; use () when there are no arguments")) {
    return false;
  }
  if (!Match(TokenKind::kRParen)) {
    while (true) {
      if (!At(TokenKind::kIdentifier) || Peek().text.find('.') != std::string::npos) {
        return FailExpected("expected a parameter name");
      }
      const Token& p = Advance();
      for (const std::string& existing : out->params) {
        if (existing == p.text) {
          return Fail(p.span, fmt::format("parameter '{}' is declared twice", p.text));
        }
      }
      out->params.push_back(p.text);
      if (Match(TokenKind::kComma)) continue;
      if (!Expect(TokenKind::kRParen, "expected ',' or ')' in the macro parameters")) return false;
      break;
    }
  }
  out->body = ParseExpr();
  if (!out->body) return false;
  out->span = SpanFrom(start);
  return true;
}

bool Parser::ParseMacroFile(std::vector<MacroDefinition>* out) {
  while (!At(TokenKind::kEnd)) {
    MacroDefinition macro;
    if (!ParseMacro(&macro)) return false;
    out->push_back(std::move(macro));
  }
  return true;
}

}  // namespace kestrel::eql::internal
