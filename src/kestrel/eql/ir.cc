// IR dumps; see ir.h.
#include "kestrel/eql/ir.h"

#include <fmt/format.h>

#include "kestrel/event/json_writer.h"

namespace kestrel::eql {
namespace {

void AppendValue(const event::Value& v, std::string* out) {
  if (v.kind() == event::ValueKind::kString) {
    event::AppendJsonString(out, v.as_string());
  } else {
    event::AppendJsonValue(out, v);
  }
}

std::string_view CompareName(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
  }
  return "?";
}

std::string_view ArithName(ArithOp op) {
  switch (op) {
    case ArithOp::kAdd:
      return "+";
    case ArithOp::kSub:
      return "-";
    case ArithOp::kMul:
      return "*";
    case ArithOp::kDiv:
      return "/";
    case ArithOp::kMod:
      return "%";
  }
  return "?";
}

void Dump(const IrNode& n, const schema::Schema& schema, std::string* out) {
  auto children = [&] {
    for (const IrNodePtr& c : n.children) {
      out->push_back(' ');
      Dump(*c, schema, out);
    }
  };
  auto set = [&] {
    out->append(" [");
    for (size_t i = 0; i < n.set.size(); ++i) {
      if (i > 0) out->push_back(' ');
      AppendValue(n.set[i], out);
    }
    out->push_back(']');
  };
  switch (n.op) {
    case IrOp::kConst:
      AppendValue(n.value, out);
      return;
    case IrOp::kField:
      out->append("(field ");
      if (n.event_index) out->append(fmt::format("events[{}].", *n.event_index));
      out->append(schema.Info(n.field).name);
      if (n.index) out->append(fmt::format("[{}]", *n.index));
      out->append(")");
      return;
    case IrOp::kNot:
      out->append(n.query_not ? "(query-not" : "(not");
      break;
    case IrOp::kAnd:
      out->append("(and");
      break;
    case IrOp::kOr:
      out->append("(or");
      break;
    case IrOp::kNeg:
      out->append("(neg");
      break;
    case IrOp::kTruthy:
      out->append("(truthy");
      break;
    case IrOp::kCustomCall:
      out->append("(custom ");
      out->append(n.custom_name);
      break;
    case IrOp::kCompare:
      out->append("(");
      out->append(CompareName(n.compare));
      if (n.case_insensitive) out->append("~");
      break;
    case IrOp::kArith:
      out->append("(");
      out->append(ArithName(n.arith));
      break;
    case IrOp::kIn:
      out->append(n.negated ? (n.query_not ? "(query-not-in" : "(not-in") : "(in");
      if (n.case_insensitive) out->append("~");
      children();
      set();
      out->push_back(')');
      return;
    case IrOp::kWildcard:
      out->append(n.negated ? (n.query_not ? "(query-not-wildcard" : "(not-wildcard")
                            : "(wildcard");
      if (n.case_insensitive) out->append("~");
      if (n.question_mark) out->append(" ?");
      children();
      set();
      out->push_back(')');
      return;
    case IrOp::kRegex:
      out->append("(regex");
      if (n.case_insensitive) out->append("~");
      children();
      set();
      out->push_back(')');
      return;
    case IrOp::kCall:
      out->append("(call ");
      out->append(GetBuiltinInfo(n.builtin).name);
      if (n.case_insensitive) out->append("~");
      break;
    case IrOp::kRelation:
      out->append(fmt::format("(relation {} {}", static_cast<int>(n.relation),
                              n.category ? schema.CategoryName(*n.category) : "any"));
      break;
  }
  children();
  out->push_back(')');
}

void DumpStage(const IrStage& stage, std::string_view tag, const schema::Schema& schema,
               std::string* out) {
  out->append("(");
  out->append(tag);
  out->push_back(' ');
  out->append(stage.category ? schema.CategoryName(*stage.category) : "any");
  out->push_back(' ');
  Dump(*stage.predicate, schema, out);
  if (!stage.by.empty()) {
    out->append(" (by");
    for (const IrNodePtr& k : stage.by) {
      out->push_back(' ');
      Dump(*k, schema, out);
    }
    out->push_back(')');
  }
  if (stage.missing) out->append(" missing");
  if (stage.fork) out->append(" fork");
  if (stage.runs) out->append(fmt::format(" (runs {})", *stage.runs));
  out->push_back(')');
}

}  // namespace

std::string DumpIrNode(const IrNode& node, const schema::Schema& schema) {
  std::string out;
  Dump(node, schema, &out);
  return out;
}

std::string DumpIr(const IrProgram& program, const schema::Schema& schema) {
  static constexpr std::string_view kKinds[] = {"event", "sequence", "sample", "join"};
  std::string out = "(";
  out.append(kKinds[static_cast<int>(program.kind)]);
  if (program.maxspan_ns) out.append(fmt::format(" (maxspan_ns {})", *program.maxspan_ns));
  for (const IrStage& s : program.stages) {
    out.push_back(' ');
    DumpStage(s, "stage", schema, &out);
  }
  if (program.until) {
    out.push_back(' ');
    DumpStage(*program.until, "until", schema, &out);
  }
  for (const IrPipe& p : program.pipes) {
    out.append(" (pipe ");
    out.append(PipeKindName(p.kind));
    if (p.kind == PipeKind::kHead || p.kind == PipeKind::kTail) {
      out.append(fmt::format(" {}", p.limit));
    }
    for (const IrNodePtr& a : p.args) {
      out.push_back(' ');
      Dump(*a, schema, &out);
    }
    out.push_back(')');
  }
  out.push_back(')');
  return out;
}

}  // namespace kestrel::eql
