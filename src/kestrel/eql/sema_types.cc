// The type rules of semantic analysis; see sema_internal.h. Static types of fields and values,
// which types compare, what each built-in expects of its arguments and returns, and the coercion
// of a literal compared with a field of the other scalar kind (with a warning).
// Tested by sema_test.cc and conformance_sema_test.cc.
#include <fmt/format.h>

#include <charconv>
#include <string>

#include "kestrel/eql/ir_eval.h"
#include "kestrel/eql/sema_internal.h"

namespace kestrel::eql::internal {

using schema::FieldType;

IrType TypeOfField(const schema::FieldInfo& info) {
  if (info.dynamic) return IrType::kAny;
  switch (info.type) {
    case FieldType::kKeyword:
    case FieldType::kDate:
      return IrType::kString;
    case FieldType::kLong:
    case FieldType::kUnsigned:
    case FieldType::kDouble:
      return IrType::kNumber;
    case FieldType::kBoolean:
      return IrType::kBool;
    case FieldType::kIp:
      return IrType::kIp;
  }
  return IrType::kAny;
}

IrType TypeOfValue(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      return IrType::kNull;
    case ValueKind::kBool:
      return IrType::kBool;
    case ValueKind::kInt:
    case ValueKind::kUint:
    case ValueKind::kDouble:
      return IrType::kNumber;
    case ValueKind::kString:
      return IrType::kString;
    case ValueKind::kIp:
      return IrType::kIp;
    default:
      return IrType::kAny;
  }
}

bool Comparable(IrType a, IrType b) {
  if (a == IrType::kAny || b == IrType::kAny || a == IrType::kNull || b == IrType::kNull) {
    return true;
  }
  if (a == b) return true;
  // IP fields compare with address strings ("10.0.0.1").
  return (a == IrType::kIp && b == IrType::kString) || (a == IrType::kString && b == IrType::kIp);
}

Expect ExpectedArg(Builtin f, size_t i) {
  switch (f) {
    case Builtin::kAdd:
    case Builtin::kSubtract:
    case Builtin::kMultiply:
    case Builtin::kDivide:
    case Builtin::kModulo:
      return Expect::kNumber;
    case Builtin::kBetween:
      return i < 3 ? Expect::kString : Expect::kBool;
    case Builtin::kCidrMatch:
      return i == 0 ? Expect::kIpOrString : Expect::kString;
    case Builtin::kEndsWith:
    case Builtin::kStartsWith:
    case Builtin::kStringContains:
    case Builtin::kMatch:
    case Builtin::kMatchLite:
    case Builtin::kWildcard:
      return Expect::kString;
    case Builtin::kIndexOf:
      return i < 2 ? Expect::kString : Expect::kNumber;
    case Builtin::kNumber:
      return i == 0 ? Expect::kString : Expect::kNumber;
    case Builtin::kSubstring:
      return i == 0 ? Expect::kString : Expect::kNumber;
    default:
      return Expect::kAny;
  }
}

bool Satisfies(IrType t, Expect e) {
  if (t == IrType::kAny || t == IrType::kNull || e == Expect::kAny) return true;
  switch (e) {
    case Expect::kString:
      return t == IrType::kString;
    case Expect::kNumber:
      return t == IrType::kNumber;
    case Expect::kBool:
      return t == IrType::kBool;
    case Expect::kIpOrString:
      return t == IrType::kIp || t == IrType::kString;
    case Expect::kAny:
      return true;
  }
  return true;
}

std::string_view ExpectName(Expect e) {
  switch (e) {
    case Expect::kString:
      return "a string";
    case Expect::kNumber:
      return "a number";
    case Expect::kBool:
      return "a boolean";
    case Expect::kIpOrString:
      return "an IP address";
    case Expect::kAny:
      return "a value";
  }
  return "a value";
}

IrType ResultType(Builtin f) {
  switch (f) {
    case Builtin::kAdd:
    case Builtin::kSubtract:
    case Builtin::kMultiply:
    case Builtin::kDivide:
    case Builtin::kModulo:
    case Builtin::kIndexOf:
    case Builtin::kLength:
    case Builtin::kNumber:
    case Builtin::kArrayCount:
      return IrType::kNumber;
    case Builtin::kBetween:
    case Builtin::kConcat:
    case Builtin::kString:
    case Builtin::kSubstring:
      return IrType::kString;
    case Builtin::kSafe:
      return IrType::kAny;
    default:
      return IrType::kBool;
  }
}

bool HasWildcard(std::string_view s) { return s.find('*') != std::string_view::npos; }

void Analyzer::CoerceLiteral(IrType field_type, IrNode* literal) {
  if (!literal->is_const()) return;
  const Value& v = literal->value;
  bool numeric =
      v.kind() == ValueKind::kInt || v.kind() == ValueKind::kUint || v.kind() == ValueKind::kDouble;
  if (field_type == IrType::kString && numeric) {
    std::string_view text;
    if (!ToText(v, arena_, &text)) return;
    Warning(literal->span,
            fmt::format("comparing a keyword field with the number {}: compared as the string "
                        "\"{}\"",
                        text, text),
            fmt::format("write \"{}\" to say so", text));
    literal->value = Value::String(text);
    literal->type = IrType::kString;
  } else if (field_type == IrType::kNumber && v.kind() == ValueKind::kString) {
    std::string_view s = v.as_string();
    int64_t i;
    auto r = std::from_chars(s.data(), s.data() + s.size(), i);
    if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return;
    Warning(literal->span,
            fmt::format("comparing a numeric field with the string \"{}\": compared as the "
                        "number {}",
                        s, i),
            fmt::format("write {} to say so", i));
    literal->value = Value::Int(i);
    literal->type = IrType::kNumber;
  }
}

}  // namespace kestrel::eql::internal
