// Host API v1 over the engine's Event and IR evaluator; see include/kestrel/host_api_v1.h.
//
// Every comparison delegates to the same functions the IR evaluator uses (eql::Compare,
// eql::WildcardMatch, eql::CallBuiltin, RE2 with sema's options), so a predicate that calls the
// Host API gives exactly the engine's result. Field reads follow ir_eval.cc's Field() for the
// current event (no arraySearch locals, no `events[i]` of pipes).
// Tested by host_api_test.cc.
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/host_api_internal.h"

#include <re2/re2.h>

#include <cmath>

#include "kestrel/eql/functions.h"

namespace kestrel::runtime {

RegexCache::RegexCache() = default;
RegexCache::~RegexCache() = default;

const re2::RE2* RegexCache::Get(std::string_view pattern, bool case_insensitive) {
  auto& cache = cache_[case_insensitive ? 1 : 0];
  absl::string_view key(pattern.data(), pattern.size());  // heterogeneous lookup: no allocation
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache_[0].size() + cache_[1].size() >= kMaxEntries) {
      cache_[0].clear();
      cache_[1].clear();
      ++clears_;
    }
    // sema's options and size cap (eql::CompileRegex): an invalid or too large pattern is
    // cached as nullptr and never matches.
    std::string error;
    it = cache.emplace(std::string(pattern), eql::CompileRegex(pattern, case_insensitive, &error))
             .first;
  }
  return it->second.get();
}

std::vector<const eql::IrNode*> NumberNodes(const eql::IrNode& root) {
  std::vector<const eql::IrNode*> out;
  std::vector<const eql::IrNode*> stack = {&root};
  while (!stack.empty()) {
    const eql::IrNode* n = stack.back();
    stack.pop_back();
    out.push_back(n);
    for (size_t i = n->children.size(); i-- > 0;) stack.push_back(n->children[i].get());
  }
  return out;
}

namespace {

using event::Value;
using event::ValueKind;

Value Read(const kestrel_host_ctx* ctx, uint32_t field, int32_t index) {
  if (ctx == nullptr || ctx->eval == nullptr || ctx->eval->event == nullptr) return Value::Null();
  if (field >= ctx->field_base) {
    uint32_t i = field - ctx->field_base;
    if (i >= ctx->field_map.size()) return Value::Null();
    field = ctx->field_map[i];
  }
  const Value* v = ctx->eval->event->Find(schema::FieldId{field});
  if (v == nullptr) return Value::Null();
  if (index == KESTREL_WHOLE_FIELD) return *v;
  if (v->kind() != ValueKind::kArray) return index == 0 ? *v : Value::Null();
  auto elements = v->as_array();
  int64_t i = index;
  if (i < 0) i += static_cast<int64_t>(elements.size());
  if (i < 0 || i >= static_cast<int64_t>(elements.size())) return Value::Null();
  return elements[static_cast<size_t>(i)];
}

int32_t Tri(const Value& v) {
  if (v.kind() != ValueKind::kBool) return KESTREL_NULL;
  return v.as_bool() ? KESTREL_TRUE : KESTREL_FALSE;
}

bool IsCompareOp(int32_t op) { return op >= KESTREL_OP_EQ && op <= KESTREL_OP_GE; }

int32_t CompareValues(int32_t op, uint32_t flags, const Value& field, const Value& constant) {
  auto cop = static_cast<eql::CompareOp>(op);
  bool ci = (flags & KESTREL_FLAG_CASE_INSENSITIVE) != 0;
  if (flags & KESTREL_FLAG_REVERSED) return Tri(eql::Compare(cop, constant, field, ci));
  return Tri(eql::Compare(cop, field, constant, ci));
}

// A pattern operator on one string: true/false, or nullopt for a bad regex or operator.
std::optional<bool> MatchText(const kestrel_host_ctx* ctx, int32_t op, uint32_t flags,
                              std::string_view text, std::string_view pattern) {
  bool ci = (flags & KESTREL_FLAG_CASE_INSENSITIVE) != 0;
  switch (op) {
    case KESTREL_OP_WILDCARD:
      return eql::WildcardMatch(text, pattern, ci, (flags & KESTREL_FLAG_QUESTION_MARK) != 0);
    case KESTREL_OP_REGEX: {
      if (ctx == nullptr || ctx->regexes == nullptr) return std::nullopt;
      const re2::RE2* re = ctx->regexes->Get(pattern, ci);
      if (re == nullptr) return std::nullopt;
      return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *re);
    }
    case KESTREL_OP_STARTS_WITH:
    case KESTREL_OP_ENDS_WITH:
    case KESTREL_OP_CONTAINS: {
      eql::Builtin b = op == KESTREL_OP_STARTS_WITH ? eql::Builtin::kStartsWith
                       : op == KESTREL_OP_ENDS_WITH ? eql::Builtin::kEndsWith
                                                    : eql::Builtin::kStringContains;
      Value args[2] = {Value::String(text), Value::String(pattern)};
      return eql::IsTrue(eql::CallBuiltin(b, args, ci, nullptr));
    }
    default:
      return std::nullopt;
  }
}

}  // namespace
}  // namespace kestrel::runtime

using kestrel::event::Value;
using kestrel::event::ValueKind;
using kestrel::runtime::Read;

extern "C" {

uint32_t kestrel_host_api_version(void) { return KESTREL_HOST_API_VERSION; }

uint32_t kestrel_field_id(const kestrel_host_ctx* ctx, const char* name, uint32_t name_len) {
  if (ctx == nullptr || ctx->eval == nullptr || ctx->eval->schema == nullptr || name == nullptr) {
    return KESTREL_NO_FIELD;
  }
  auto id = ctx->eval->schema->Find(std::string_view(name, name_len));
  if (!id) return KESTREL_NO_FIELD;
  if (id->value < ctx->field_base) return id->value;
  // A package predicate: translate back into the package's id space (see FieldMap).
  for (size_t i = 0; i < ctx->field_map.size(); ++i) {
    if (ctx->field_map[i] == id->value) return ctx->field_base + static_cast<uint32_t>(i);
  }
  return KESTREL_NO_FIELD;
}

int32_t kestrel_field_kind(const kestrel_host_ctx* ctx, uint32_t field, int32_t index) {
  return static_cast<int32_t>(Read(ctx, field, index).kind());
}

int64_t kestrel_field_i64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index) {
  Value v = Read(ctx, field, index);
  return v.kind() == ValueKind::kInt ? v.as_int() : 0;
}

uint64_t kestrel_field_u64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index) {
  Value v = Read(ctx, field, index);
  if (v.kind() == ValueKind::kUint) return v.as_uint();
  if (v.kind() == ValueKind::kInt && v.as_int() >= 0) return static_cast<uint64_t>(v.as_int());
  return 0;
}

double kestrel_field_f64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index) {
  Value v = Read(ctx, field, index);
  switch (v.kind()) {
    case ValueKind::kInt:
      return static_cast<double>(v.as_int());
    case ValueKind::kUint:
      return static_cast<double>(v.as_uint());
    case ValueKind::kDouble:
      return v.as_double();
    default:
      return 0;
  }
}

int32_t kestrel_field_bool(const kestrel_host_ctx* ctx, uint32_t field, int32_t index) {
  Value v = Read(ctx, field, index);
  return v.kind() == ValueKind::kBool && v.as_bool() ? 1 : 0;
}

int32_t kestrel_field_string(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                             const char** data, uint32_t* size) {
  Value v = Read(ctx, field, index);
  if (v.kind() != ValueKind::kString && v.kind() != ValueKind::kRawJson) {
    if (data != nullptr) *data = nullptr;
    if (size != nullptr) *size = 0;
    return 0;
  }
  std::string_view s = v.as_string();
  if (data != nullptr) *data = s.data();
  if (size != nullptr) *size = static_cast<uint32_t>(s.size());
  return 1;
}

int32_t kestrel_field_ip(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                         uint8_t out[16]) {
  Value v = Read(ctx, field, index);
  if (v.kind() != ValueKind::kIp) return 0;
  kestrel::event::IpAddress ip = v.as_ip();
  if (out != nullptr) std::memcpy(out, ip.bytes.data(), 16);
  return ip.is_v4 ? 4 : 6;
}

int32_t kestrel_field_array_len(const kestrel_host_ctx* ctx, uint32_t field) {
  Value v = Read(ctx, field, KESTREL_WHOLE_FIELD);
  return v.kind() == ValueKind::kArray ? static_cast<int32_t>(v.as_array().size()) : -1;
}

int32_t kestrel_string_match(const kestrel_host_ctx* ctx, int32_t op, uint32_t flags,
                             const char* text, uint32_t text_len, const char* pattern,
                             uint32_t pattern_len) {
  std::string_view t(text, text_len), p(pattern, pattern_len);
  if (kestrel::runtime::IsCompareOp(op)) {
    return kestrel::runtime::CompareValues(op, flags, Value::String(t), Value::String(p));
  }
  std::optional<bool> r = kestrel::runtime::MatchText(ctx, op, flags, t, p);
  if (!r) return KESTREL_NULL;
  return *r ? KESTREL_TRUE : KESTREL_FALSE;
}

int32_t kestrel_field_match(const kestrel_host_ctx* ctx, uint32_t field, int32_t index, int32_t op,
                            uint32_t flags, const char* pattern, uint32_t pattern_len) {
  Value v = Read(ctx, field, index);
  std::string_view p(pattern, pattern_len);
  if (kestrel::runtime::IsCompareOp(op)) {
    return kestrel::runtime::CompareValues(op, flags, v, Value::String(p));
  }
  if (v.kind() == ValueKind::kString) {
    std::optional<bool> r = kestrel::runtime::MatchText(ctx, op, flags, v.as_string(), p);
    if (!r) return KESTREL_NULL;
    return *r ? KESTREL_TRUE : KESTREL_FALSE;
  }
  if (v.kind() != ValueKind::kArray) return KESTREL_NULL;
  for (const Value& e : v.as_array()) {
    if (e.kind() != ValueKind::kString) continue;
    std::optional<bool> r = kestrel::runtime::MatchText(ctx, op, flags, e.as_string(), p);
    if (!r) return KESTREL_NULL;
    if (*r) return KESTREL_TRUE;
  }
  return KESTREL_FALSE;
}

int32_t kestrel_field_compare_i64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                                  int32_t op, uint32_t flags, int64_t value) {
  if (!kestrel::runtime::IsCompareOp(op)) return KESTREL_NULL;
  return kestrel::runtime::CompareValues(op, flags, Read(ctx, field, index), Value::Int(value));
}

int32_t kestrel_field_compare_f64(const kestrel_host_ctx* ctx, uint32_t field, int32_t index,
                                  int32_t op, uint32_t flags, double value) {
  if (!kestrel::runtime::IsCompareOp(op)) return KESTREL_NULL;
  return kestrel::runtime::CompareValues(op, flags, Read(ctx, field, index), Value::Double(value));
}

int32_t kestrel_lineage(const kestrel_host_ctx* ctx, uint32_t node) {
  if (ctx == nullptr || ctx->eval == nullptr || node >= ctx->nodes.size()) return KESTREL_NULL;
  const kestrel::eql::IrNode* n = ctx->nodes[node];
  if (n->op != kestrel::eql::IrOp::kRelation || ctx->eval->relation == nullptr) {
    return KESTREL_NULL;
  }
  return kestrel::runtime::Tri(ctx->eval->relation(ctx->eval->relation_state, *n, *ctx->eval));
}

int32_t kestrel_eval_node(const kestrel_host_ctx* ctx, uint32_t node) {
  if (ctx == nullptr || ctx->eval == nullptr || node >= ctx->nodes.size()) return KESTREL_NULL;
  return kestrel::runtime::Tri(kestrel::eql::EvalIr(*ctx->nodes[node], *ctx->eval));
}

void kestrel_report_error(kestrel_host_ctx* ctx, int32_t code, const char* message,
                          uint32_t message_len) {
  if (ctx == nullptr) return;
  ctx->error = true;
  ctx->last_error.code = code;
  ctx->last_error.message.assign(message != nullptr ? message : "",
                                 message != nullptr ? message_len : 0);
}

}  // extern "C"

extern "C" int32_t kestrel_internal_take_error(kestrel_host_ctx* ctx, const char** message,
                                               uint32_t* size) {
  if (ctx == nullptr || !ctx->error) return 0;
  ctx->error = false;
  *message = ctx->last_error.message.data();
  *size = static_cast<uint32_t>(ctx->last_error.message.size());
  return 1;
}
