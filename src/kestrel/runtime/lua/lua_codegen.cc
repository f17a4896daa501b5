// IR -> Lua source; see lua_codegen.h.
// Recursion depth is bounded by kLuaMaxDepth (deeper subtrees become one kestrel_eval_node call).
#include "kestrel/runtime/lua/lua_codegen.h"

#include <cmath>
#include <cstdio>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "kestrel/host_api_v1.h"
#include "kestrel/runtime/host_api.h"

namespace kestrel::runtime {
namespace {

using eql::IrNode;
using eql::IrOp;
using event::Value;
using event::ValueKind;

std::string LuaString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03u", c);
      out += buf;
    }
  }
  return out + "\"";
}

// Integers a Lua number (double) holds exactly.
bool ExactInLua(int64_t v) { return v >= -(int64_t{1} << 53) && v <= (int64_t{1} << 53); }

class Generator {
 public:
  explicit Generator(const IrNode& root) {
    std::vector<const IrNode*> order = NumberNodes(root);
    for (size_t i = 0; i < order.size(); ++i) ids_[order[i]] = static_cast<uint32_t>(i);
  }

  // Emits statements that assign the condition value of `n` to the (declared) local `var`.
  void Gen(const IrNode& n, const std::string& var, int depth) {
    if (depth > kLuaMaxDepth || !Translate(n, var, depth)) {
      Line(var + " = evaln(" + std::to_string(ids_.at(&n)) + ")");
      ++delegated_;
    } else {
      ++compiled_;
    }
  }

  std::string body() const { return body_; }
  uint32_t compiled() const { return compiled_; }
  uint32_t delegated() const { return delegated_; }

 private:
  void Line(const std::string& s) { absl::StrAppend(&body_, std::string(indent_, ' '), s, "\n"); }
  std::string Fresh() { return absl::StrCat("v", next_var_++); }
  std::string Label() { return absl::StrCat("l", next_label_++); }

  static bool SimpleField(const IrNode& n) {
    return n.op == IrOp::kField && !n.event_index &&
           (!n.index || (*n.index >= INT32_MIN + 1 && *n.index <= INT32_MAX));
  }
  static std::string FieldArgs(const IrNode& f) {
    return absl::StrCat(f.field.value, ", ", f.index ? *f.index : int64_t{INT32_MIN});
  }

  // A Host API call comparing field `f` with constant `c` by `op`, or "" when not expressible.
  static std::string CompareCall(const IrNode& f, int op, uint32_t flags, const Value& c) {
    switch (c.kind()) {
      case ValueKind::kString:
        return absl::StrCat("match(", FieldArgs(f), ", ", op, ", ", flags, ", ",
                            LuaString(c.as_string()), ")");
      case ValueKind::kInt:
        if (!ExactInLua(c.as_int())) return "";
        return absl::StrCat("cmpi(", FieldArgs(f), ", ", op, ", ", flags, ", ", c.as_int(), ")");
      case ValueKind::kDouble: {
        if (!std::isfinite(c.as_double())) return "";
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", c.as_double());
        return absl::StrCat("cmpf(", FieldArgs(f), ", ", op, ", ", flags, ", ", buf, ")");
      }
      default:
        return "";
    }
  }

  // The negation of condition value `c` for node `n`: three-valued, or (a query negation,
  // IrNode::query_not) 1 for anything but true.
  static std::string Negation(const IrNode& n, const std::string& c) {
    if (n.query_not) return "(" + c + " == 1) and 0 or 1";
    return "(" + c + " == -1) and -1 or (1 - " + c + ")";
  }

  bool Translate(const IrNode& n, const std::string& var, int depth) {
    switch (n.op) {
      case IrOp::kConst:
        Line(var + " = " +
             (n.value.kind() == ValueKind::kBool ? (n.value.as_bool() ? "1" : "0") : "-1"));
        return true;
      case IrOp::kNot: {
        std::string c = Fresh();
        Line("local " + c);
        Gen(*n.children[0], c, depth + 1);
        Line(var + " = " + Negation(n, c));
        return true;
      }
      case IrOp::kAnd:
      case IrOp::kOr: {
        // and: the first false decides; otherwise null if any null, else true (or: dually).
        bool is_and = n.op == IrOp::kAnd;
        std::string decisive = is_and ? "0" : "1";
        std::string done = Label();
        Line(var + " = " + (is_and ? "1" : "0"));
        Line("do");
        indent_ += 2;
        for (const auto& child : n.children) {
          // One block per child, so that at most one child's locals are live at a time.
          std::string c = Fresh();
          Line("do");
          indent_ += 2;
          Line("local " + c);
          Gen(*child, c, depth + 1);
          Line("if " + c + " == " + decisive + " then " + var + " = " + decisive + " goto " + done +
               " end");
          Line("if " + c + " == -1 then " + var + " = -1 end");
          indent_ -= 2;
          Line("end");
        }
        indent_ -= 2;
        Line("end");
        Line("::" + done + "::");
        return true;
      }
      case IrOp::kCompare: {
        const IrNode& a = *n.children[0];
        const IrNode& b = *n.children[1];
        uint32_t flags = n.case_insensitive ? KESTREL_FLAG_CASE_INSENSITIVE : 0;
        std::string call;
        if (SimpleField(a) && b.is_const()) {
          call = CompareCall(a, static_cast<int>(n.compare), flags, b.value);
        } else if (SimpleField(b) && a.is_const()) {
          call =
              CompareCall(b, static_cast<int>(n.compare), flags | KESTREL_FLAG_REVERSED, a.value);
        }
        if (call.empty()) return false;
        Line(var + " = " + call);
        return true;
      }
      case IrOp::kIn: {
        const IrNode& f = *n.children[0];
        if (!SimpleField(f)) return false;
        uint32_t flags = n.case_insensitive ? KESTREL_FLAG_CASE_INSENSITIVE : 0;
        std::vector<std::string> calls;
        for (const Value& c : n.set) {
          std::string call = CompareCall(f, KESTREL_OP_EQ, flags, c);
          if (call.empty()) return false;
          calls.push_back(std::move(call));
        }
        std::string done = Label();
        std::string hit = n.negated ? "0" : "1";
        std::string miss = n.negated ? "1" : "0";
        // A missing field: null, or matched by a query negation (IrNode::query_not).
        Line("if kind(" + FieldArgs(f) + ") == 0 then " + var + " = " + (n.query_not ? "1" : "-1") +
             " goto " + done + " end");
        for (const std::string& call : calls) {
          Line("if " + call + " == 1 then " + var + " = " + hit + " goto " + done + " end");
        }
        Line(var + " = " + miss);
        Line("::" + done + "::");
        return true;
      }
      case IrOp::kWildcard:
      case IrOp::kRegex: {
        const IrNode& f = *n.children[0];
        if (!SimpleField(f)) return false;
        uint32_t flags = (n.case_insensitive ? KESTREL_FLAG_CASE_INSENSITIVE : 0) |
                         (n.question_mark ? KESTREL_FLAG_QUESTION_MARK : 0);
        int op = n.op == IrOp::kWildcard ? KESTREL_OP_WILDCARD : KESTREL_OP_REGEX;
        bool negated = n.op == IrOp::kWildcard && n.negated;
        for (const Value& p : n.set) {
          if (p.kind() != ValueKind::kString) return false;
        }
        std::string done = Label();
        std::string r = Fresh();
        // Null (not a string) for one pattern is null for all; the first match decides.
        Line("local " + r + " = 0");
        Line("do");
        indent_ += 2;
        for (const Value& p : n.set) {
          Line(r + " = match(" + FieldArgs(f) + ", " + std::to_string(op) + ", " +
               std::to_string(flags) + ", " + LuaString(p.as_string()) + ")");
          Line("if " + r + " ~= 0 then goto " + done + " end");
        }
        indent_ -= 2;
        Line("end");
        Line("::" + done + "::");
        if (negated) {
          Line(var + " = " + Negation(n, r));
        } else {
          Line(var + " = " + r);
        }
        return true;
      }
      case IrOp::kRelation:
        Line(var + " = lineage(" + std::to_string(ids_.at(&n)) + ")");
        return true;
      default:
        return false;
    }
  }

  absl::flat_hash_map<const IrNode*, uint32_t> ids_;
  std::string body_;
  int indent_ = 2;
  int next_var_ = 1;
  int next_label_ = 1;
  uint32_t compiled_ = 0;
  uint32_t delegated_ = 0;
};

}  // namespace

std::string GenerateLuaPredicate(const IrNode& root, uint32_t* compiled, uint32_t* delegated) {
  Generator g(root);
  g.Gen(root, "v0", 0);
  if (compiled != nullptr) *compiled += g.compiled();
  if (delegated != nullptr) *delegated += g.delegated();
  return "function()\n  local v0\n" + g.body() + "  return v0\nend";
}

LuaChunk GenerateLua(const eql::IrProgram& program) {
  LuaChunk chunk;
  for (const eql::IrStage& s : program.stages) chunk.stages.push_back(&s);
  if (program.until) chunk.stages.push_back(&*program.until);
  std::string& out = chunk.source;
  out = absl::StrCat("-- Kestrel rule predicates (generated), Host API v", KESTREL_HOST_API_VERSION,
                     "\nlocal kestrel = ...\nkestrel.require_api(", KESTREL_HOST_API_VERSION,
                     ")\n"
                     "local match, cmpi, cmpf, kind, evaln, lineage = kestrel.field_match, "
                     "kestrel.field_compare_i64, kestrel.field_compare_f64, kestrel.field_kind, "
                     "kestrel.eval_node, kestrel.lineage\n"
                     "local P = {}\n");
  for (size_t i = 0; i < chunk.stages.size(); ++i) {
    absl::StrAppend(&out, "P[", i + 1, "] = ",
                    GenerateLuaPredicate(*chunk.stages[i]->predicate, &chunk.compiled_nodes,
                                         &chunk.delegated_nodes),
                    "\n");
  }
  out += "return P\n";
  return chunk;
}

}  // namespace kestrel::runtime
