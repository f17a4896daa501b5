// IR -> Wasm binary; see wasm_codegen.h. Recursion depth is bounded by kWasmMaxDepth.
#include "kestrel/runtime/wasm/wasm_codegen.h"

#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "kestrel/host_api_v1.h"
#include "kestrel/runtime/host_api.h"

namespace kestrel::runtime {
namespace {

using eql::IrNode;
using eql::IrOp;
using event::Value;
using event::ValueKind;

// Opcodes and types used.
enum : uint8_t {
  kBlock = 0x02,
  kIf = 0x04,
  kElse = 0x05,
  kEnd = 0x0B,
  kBr = 0x0C,
  kReturn = 0x0F,
  kCall = 0x10,
  kLocalGet = 0x20,
  kLocalSet = 0x21,
  kLocalTee = 0x22,
  kI32Const = 0x41,
  kI64Const = 0x42,
  kF64Const = 0x44,
  kI32Eqz = 0x45,
  kI32Eq = 0x46,
  kI32Ne = 0x47,
  kI32Sub = 0x6B,
  kTypeI32 = 0x7F,
  kTypeI64 = 0x7E,
  kTypeF64 = 0x7C,
  kVoid = 0x40,
};

// Imported functions, in import order (function indexes 0..5), and their type indexes.
enum Import : uint32_t { kFieldKind, kFieldMatch, kCompareI64, kCompareF64, kLineage, kEvalNode };
constexpr uint32_t kPredicateFunc = 6, kVersionFunc = 7;
constexpr uint32_t kDataBase = 16;

void Uleb(std::vector<uint8_t>* out, uint64_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out->push_back(v != 0 ? (b | 0x80) : b);
  } while (v != 0);
}

void Sleb(std::vector<uint8_t>* out, int64_t v) {
  bool more = true;
  while (more) {
    uint8_t b = v & 0x7f;
    v >>= 7;  // arithmetic shift
    more = !((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40)));
    out->push_back(more ? (b | 0x80) : b);
  }
}

void Name(std::vector<uint8_t>* out, std::string_view s) {
  Uleb(out, s.size());
  out->insert(out->end(), s.begin(), s.end());
}

void Section(std::vector<uint8_t>* module, uint8_t id, const std::vector<uint8_t>& body) {
  module->push_back(id);
  Uleb(module, body.size());
  module->insert(module->end(), body.begin(), body.end());
}

class Emitter {
 public:
  Emitter(std::vector<uint8_t>* code, std::vector<uint8_t>* data) : code_(code), data_(data) {}

  void Predicate(const IrNode& root) {
    ids_.clear();
    std::vector<const IrNode*> order = NumberNodes(root);
    for (size_t i = 0; i < order.size(); ++i) ids_[order[i]] = static_cast<uint32_t>(i);
    Gen(root, 0);
  }
  uint32_t compiled() const { return compiled_; }
  uint32_t delegated() const { return delegated_; }
  // Locals used beyond the parameter: two per depth level.
  static constexpr uint32_t kLocals = 2 * (kWasmMaxDepth + 2);

 private:
  void Op(uint8_t op) { code_->push_back(op); }
  void I32(int64_t v) {
    Op(kI32Const);
    Sleb(code_, v);
  }
  void Call(uint32_t f) {
    Op(kCall);
    Uleb(code_, f);
  }
  void Local(uint8_t op, uint32_t index) {
    Op(op);
    Uleb(code_, index);
  }
  static uint32_t Acc(int depth) { return 1 + 2 * static_cast<uint32_t>(depth); }
  static uint32_t Tmp(int depth) { return 2 + 2 * static_cast<uint32_t>(depth); }

  // Offset of `s` in the data segment (constants are not deduplicated).
  uint32_t Constant(std::string_view s) {
    uint32_t offset = kDataBase + static_cast<uint32_t>(data_->size());
    data_->insert(data_->end(), s.begin(), s.end());
    return offset;
  }

  static bool SimpleField(const IrNode& n) {
    return n.op == IrOp::kField && !n.event_index &&
           (!n.index || (*n.index >= INT32_MIN + 1 && *n.index <= INT32_MAX));
  }
  void FieldArgs(const IrNode& f) {
    I32(static_cast<int32_t>(f.field.value));
    I32(f.index ? *f.index : int64_t{INT32_MIN});
  }
  static bool Comparable(const Value& c) {
    return c.kind() == ValueKind::kString || c.kind() == ValueKind::kInt ||
           (c.kind() == ValueKind::kDouble && std::isfinite(c.as_double()));
  }
  // Pushes the three-valued result of `f op c`. REQUIRES: Comparable(c).
  void CompareCall(const IrNode& f, int op, uint32_t flags, const Value& c) {
    FieldArgs(f);
    I32(op);
    I32(flags);
    if (c.kind() == ValueKind::kString) {
      I32(Constant(c.as_string()));
      I32(c.as_string().size());
      Call(kFieldMatch);
    } else if (c.kind() == ValueKind::kInt) {
      Op(kI64Const);
      Sleb(code_, c.as_int());
      Call(kCompareI64);
    } else {
      Op(kF64Const);
      double d = c.as_double();
      uint8_t b[8];
      std::memcpy(b, &d, 8);
      code_->insert(code_->end(), b, b + 8);
      Call(kCompareF64);
    }
  }
  // Stack: tri t -> (t == -1 ? -1 : 1 - t).
  void Negate(int depth) {
    Local(kLocalTee, Tmp(depth));
    I32(-1);
    Op(kI32Eq);
    Op(kIf);
    Op(kTypeI32);
    I32(-1);
    Op(kElse);
    I32(1);
    Local(kLocalGet, Tmp(depth));
    Op(kI32Sub);
    Op(kEnd);
  }

  // Negates the condition value on the stack for node `n`: three-valued, or (a query negation,
  // IrNode::query_not) 1 for anything but true.
  void NegateCondition(const IrNode& n, int depth) {
    if (n.query_not) {
      I32(1);
      Op(kI32Ne);
    } else {
      Negate(depth);
    }
  }

  // Pushes the condition value (i32: 1, 0, -1) of `n`.
  void Gen(const IrNode& n, int depth) {
    if (depth > kWasmMaxDepth || !Translatable(n)) {
      I32(ids_.at(&n));
      Call(kEvalNode);
      ++delegated_;
      return;
    }
    ++compiled_;
    switch (n.op) {
      case IrOp::kConst:
        I32(n.value.kind() == ValueKind::kBool ? (n.value.as_bool() ? 1 : 0) : -1);
        return;
      case IrOp::kNot:
        Gen(*n.children[0], depth + 1);
        NegateCondition(n, depth);
        return;
      case IrOp::kAnd:
      case IrOp::kOr: {
        bool is_and = n.op == IrOp::kAnd;
        Op(kBlock);
        Op(kTypeI32);
        I32(is_and ? 1 : 0);
        Local(kLocalSet, Acc(depth));
        for (const auto& child : n.children) {
          Gen(*child, depth + 1);
          Local(kLocalTee, Tmp(depth));
          if (is_and) {
            Op(kI32Eqz);
          } else {
            I32(1);
            Op(kI32Eq);
          }
          Op(kIf);
          Op(kVoid);
          I32(is_and ? 0 : 1);
          Op(kBr);
          Uleb(code_, 1);
          Op(kEnd);
          Local(kLocalGet, Tmp(depth));
          I32(-1);
          Op(kI32Eq);
          Op(kIf);
          Op(kVoid);
          I32(-1);
          Local(kLocalSet, Acc(depth));
          Op(kEnd);
        }
        Local(kLocalGet, Acc(depth));
        Op(kEnd);
        return;
      }
      case IrOp::kCompare: {
        const IrNode& a = *n.children[0];
        const IrNode& b = *n.children[1];
        uint32_t flags = n.case_insensitive ? KESTREL_FLAG_CASE_INSENSITIVE : 0;
        if (SimpleField(a) && b.is_const()) {
          CompareCall(a, static_cast<int>(n.compare), flags, b.value);
        } else {
          CompareCall(b, static_cast<int>(n.compare), flags | KESTREL_FLAG_REVERSED, a.value);
        }
        return;
      }
      case IrOp::kIn: {
        const IrNode& f = *n.children[0];
        uint32_t flags = n.case_insensitive ? KESTREL_FLAG_CASE_INSENSITIVE : 0;
        Op(kBlock);
        Op(kTypeI32);
        FieldArgs(f);
        Call(kFieldKind);
        Op(kI32Eqz);
        Op(kIf);
        Op(kVoid);
        I32(n.query_not ? 1 : -1);  // a missing field: null, or matched by a query negation
        Op(kBr);
        Uleb(code_, 1);
        Op(kEnd);
        for (const Value& c : n.set) {
          CompareCall(f, KESTREL_OP_EQ, flags, c);
          I32(1);
          Op(kI32Eq);
          Op(kIf);
          Op(kVoid);
          I32(n.negated ? 0 : 1);
          Op(kBr);
          Uleb(code_, 1);
          Op(kEnd);
        }
        I32(n.negated ? 1 : 0);
        Op(kEnd);
        return;
      }
      case IrOp::kWildcard:
      case IrOp::kRegex: {
        const IrNode& f = *n.children[0];
        uint32_t flags = (n.case_insensitive ? KESTREL_FLAG_CASE_INSENSITIVE : 0) |
                         (n.question_mark ? KESTREL_FLAG_QUESTION_MARK : 0);
        int op = n.op == IrOp::kWildcard ? KESTREL_OP_WILDCARD : KESTREL_OP_REGEX;
        Op(kBlock);
        Op(kTypeI32);
        for (const Value& p : n.set) {
          FieldArgs(f);
          I32(op);
          I32(flags);
          I32(Constant(p.as_string()));
          I32(p.as_string().size());
          Call(kFieldMatch);
          Local(kLocalTee, Tmp(depth));
          Op(kIf);
          Op(kVoid);
          Local(kLocalGet, Tmp(depth));
          Op(kBr);
          Uleb(code_, 1);
          Op(kEnd);
        }
        I32(0);
        Op(kEnd);
        if (n.op == IrOp::kWildcard && n.negated) NegateCondition(n, depth);
        return;
      }
      case IrOp::kRelation:
        I32(ids_.at(&n));
        Call(kLineage);
        return;
      default:
        return;  // not reached: Translatable() said no
    }
  }

  static bool Translatable(const IrNode& n) {
    switch (n.op) {
      case IrOp::kConst:
      case IrOp::kNot:
      case IrOp::kAnd:
      case IrOp::kOr:
      case IrOp::kRelation:
        return true;
      case IrOp::kCompare: {
        const IrNode& a = *n.children[0];
        const IrNode& b = *n.children[1];
        return (SimpleField(a) && b.is_const() && Comparable(b.value)) ||
               (SimpleField(b) && a.is_const() && Comparable(a.value));
      }
      case IrOp::kIn:
        if (!SimpleField(*n.children[0])) return false;
        for (const Value& c : n.set) {
          if (!Comparable(c)) return false;
        }
        return true;
      case IrOp::kWildcard:
      case IrOp::kRegex:
        if (!SimpleField(*n.children[0])) return false;
        for (const Value& p : n.set) {
          if (p.kind() != ValueKind::kString) return false;
        }
        return true;
      default:
        return false;
    }
  }

  std::vector<uint8_t>* code_;
  std::vector<uint8_t>* data_;
  absl::flat_hash_map<const IrNode*, uint32_t> ids_;
  uint32_t compiled_ = 0;
  uint32_t delegated_ = 0;
};

void FuncType(std::vector<uint8_t>* out, std::initializer_list<uint8_t> params,
              std::initializer_list<uint8_t> results) {
  out->push_back(0x60);
  Uleb(out, params.size());
  out->insert(out->end(), params.begin(), params.end());
  Uleb(out, results.size());
  out->insert(out->end(), results.begin(), results.end());
}

}  // namespace

WasmModuleCode GenerateWasm(const eql::IrProgram& program) {
  WasmModuleCode out;
  for (const eql::IrStage& s : program.stages) out.stages.push_back(&s);
  if (program.until) out.stages.push_back(&*program.until);

  // The predicate body: `if (stage == i) return <predicate i>;` for each stage, then -1.
  std::vector<uint8_t> body, data;
  Emitter emitter(&body, &data);
  for (size_t i = 0; i < out.stages.size(); ++i) {
    body.push_back(kLocalGet);
    Uleb(&body, 0);
    body.push_back(kI32Const);
    Sleb(&body, static_cast<int64_t>(i));
    body.push_back(kI32Eq);
    body.push_back(kIf);
    body.push_back(kVoid);
    emitter.Predicate(*out.stages[i]->predicate);
    body.push_back(kReturn);
    body.push_back(kEnd);
  }
  body.push_back(kI32Const);
  Sleb(&body, -1);
  body.push_back(kEnd);
  out.compiled_nodes = emitter.compiled();
  out.delegated_nodes = emitter.delegated();

  std::vector<uint8_t>& m = out.bytes;
  const uint8_t header[] = {0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00};
  m.assign(header, header + sizeof header);

  std::vector<uint8_t> types;
  Uleb(&types, 6);
  FuncType(&types, {kTypeI32, kTypeI32}, {kTypeI32});                                          // 0
  FuncType(&types, {kTypeI32, kTypeI32, kTypeI32, kTypeI32, kTypeI32, kTypeI32}, {kTypeI32});  // 1
  FuncType(&types, {kTypeI32, kTypeI32, kTypeI32, kTypeI32, kTypeI64}, {kTypeI32});            // 2
  FuncType(&types, {kTypeI32, kTypeI32, kTypeI32, kTypeI32, kTypeF64}, {kTypeI32});            // 3
  FuncType(&types, {kTypeI32}, {kTypeI32});                                                    // 4
  FuncType(&types, {}, {kTypeI32});                                                            // 5
  Section(&m, 1, types);

  std::vector<uint8_t> imports;
  const std::pair<const char*, uint32_t> kImports[] = {
      {"field_kind", 0},        {"field_match", 1}, {"field_compare_i64", 2},
      {"field_compare_f64", 3}, {"lineage", 4},     {"eval_node", 4}};
  Uleb(&imports, std::size(kImports));
  for (const auto& [name, type] : kImports) {
    Name(&imports, "kestrel");
    Name(&imports, name);
    imports.push_back(0x00);
    Uleb(&imports, type);
  }
  Section(&m, 2, imports);

  std::vector<uint8_t> funcs;
  Uleb(&funcs, 2);
  Uleb(&funcs, 4);  // kestrel_predicate_v1
  Uleb(&funcs, 5);  // kestrel_api_version
  Section(&m, 3, funcs);

  uint64_t need = kDataBase + data.size();
  uint64_t pages = std::max<uint64_t>(1, (need + 65535) / 65536);
  std::vector<uint8_t> memory;
  Uleb(&memory, 1);
  memory.push_back(0x01);  // min and max
  Uleb(&memory, pages);
  Uleb(&memory, pages);
  Section(&m, 5, memory);

  std::vector<uint8_t> exports;
  Uleb(&exports, 3);
  Name(&exports, "kestrel_predicate_v1");
  exports.push_back(0x00);
  Uleb(&exports, kPredicateFunc);
  Name(&exports, "kestrel_api_version");
  exports.push_back(0x00);
  Uleb(&exports, kVersionFunc);
  Name(&exports, "memory");
  exports.push_back(0x02);
  Uleb(&exports, 0);
  Section(&m, 7, exports);

  std::vector<uint8_t> code;
  Uleb(&code, 2);
  std::vector<uint8_t> fn;
  Uleb(&fn, 1);  // one local declaration: kLocals i32s
  Uleb(&fn, Emitter::kLocals);
  fn.push_back(kTypeI32);
  fn.insert(fn.end(), body.begin(), body.end());
  Uleb(&code, fn.size());
  code.insert(code.end(), fn.begin(), fn.end());
  std::vector<uint8_t> version = {0x00, kI32Const};
  Sleb(&version, KESTREL_HOST_API_VERSION);
  version.push_back(kEnd);
  Uleb(&code, version.size());
  code.insert(code.end(), version.begin(), version.end());
  Section(&m, 10, code);

  std::vector<uint8_t> segments;
  Uleb(&segments, 1);
  segments.push_back(0x00);  // active, memory 0
  segments.push_back(kI32Const);
  Sleb(&segments, kDataBase);
  segments.push_back(kEnd);
  Uleb(&segments, data.size());
  segments.insert(segments.end(), data.begin(), data.end());
  Section(&m, 11, segments);
  return out;
}

}  // namespace kestrel::runtime
