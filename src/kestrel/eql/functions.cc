// EQL value semantics; see functions.h. Tested by functions_test.cc.
#include "kestrel/eql/functions.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

namespace kestrel::eql {
namespace {

using event::IpAddress;
using event::ValueKind;

constexpr BuiltinInfo kBuiltins[] = {
    {Builtin::kAdd, "add", 2, 2, false, false},
    {Builtin::kArrayContains, "arrayContains", 2, kVariadic, true, true},
    {Builtin::kArrayCount, "arrayCount", 3, 3, false, true},
    {Builtin::kArraySearch, "arraySearch", 3, 3, false, true},
    {Builtin::kBetween, "between", 3, 4, true, false},
    {Builtin::kCidrMatch, "cidrMatch", 2, kVariadic, false, false},
    {Builtin::kConcat, "concat", 1, kVariadic, false, false},
    {Builtin::kDivide, "divide", 2, 2, false, false},
    {Builtin::kEndsWith, "endsWith", 2, 2, true, false},
    {Builtin::kIndexOf, "indexOf", 2, 3, true, false},
    {Builtin::kLength, "length", 1, 1, false, false},
    {Builtin::kMatch, "match", 2, kVariadic, true, true},
    {Builtin::kMatchLite, "matchLite", 2, kVariadic, true, true},
    {Builtin::kModulo, "modulo", 2, 2, false, false},
    {Builtin::kMultiply, "multiply", 2, 2, false, false},
    {Builtin::kNumber, "number", 1, 2, false, false},
    {Builtin::kSafe, "safe", 1, 1, false, true},
    {Builtin::kStartsWith, "startsWith", 2, 2, true, false},
    {Builtin::kString, "string", 1, 1, false, false},
    {Builtin::kStringContains, "stringContains", 2, 2, true, false},
    {Builtin::kSubstring, "substring", 1, 3, false, false},
    {Builtin::kSubtract, "subtract", 2, 2, false, false},
    {Builtin::kWildcard, "wildcard", 2, kVariadic, true, true},
};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsCi(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool Equals(std::string_view a, std::string_view b, bool ci) {
  return ci ? EqualsCi(a, b) : a == b;
}

int CompareText(std::string_view a, std::string_view b, bool ci) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(ci ? Lower(a[i]) : a[i]);
    unsigned char y = static_cast<unsigned char>(ci ? Lower(b[i]) : b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

// Position of `needle` in `hay` at or after `from`, or npos.
size_t Find(std::string_view hay, std::string_view needle, size_t from, bool ci) {
  if (from > hay.size()) return std::string_view::npos;
  if (!ci) return hay.find(needle, from);
  if (needle.empty()) return from;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (EqualsCi(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

size_t FindLast(std::string_view hay, std::string_view needle, size_t from, bool ci) {
  if (from > hay.size() || needle.size() > hay.size() - from) return std::string_view::npos;
  for (size_t i = hay.size() - needle.size() + 1; i-- > from;) {
    if (Equals(hay.substr(i, needle.size()), needle, ci)) return i;
  }
  return std::string_view::npos;
}

bool IsNumber(const Value& v) {
  return v.kind() == ValueKind::kInt || v.kind() == ValueKind::kUint ||
         v.kind() == ValueKind::kDouble;
}

double AsDouble(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kInt:
      return static_cast<double>(v.as_int());
    case ValueKind::kUint:
      return static_cast<double>(v.as_uint());
    default:
      return v.as_double();
  }
}

// Three-way numeric comparison; nullopt for NaN.
std::optional<int> CompareNumbers(const Value& a, const Value& b) {
  if (a.kind() == ValueKind::kInt && b.kind() == ValueKind::kInt) {
    return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  }
  if (a.kind() != ValueKind::kDouble && b.kind() != ValueKind::kDouble) {
    // At least one kUint (> INT64_MAX): it is the larger unless both are.
    if (a.kind() == ValueKind::kUint && b.kind() == ValueKind::kUint) {
      return a.as_uint() < b.as_uint() ? -1 : (a.as_uint() > b.as_uint() ? 1 : 0);
    }
    return a.kind() == ValueKind::kUint ? 1 : -1;
  }
  double x = AsDouble(a), y = AsDouble(b);
  if (std::isnan(x) || std::isnan(y)) return std::nullopt;
  return x < y ? -1 : (x > y ? 1 : 0);
}

bool OrderingHolds(CompareOp op, int c) {
  switch (op) {
    case CompareOp::kEq:
      return c == 0;
    case CompareOp::kNe:
      return c != 0;
    case CompareOp::kLt:
      return c < 0;
    case CompareOp::kLe:
      return c <= 0;
    case CompareOp::kGt:
      return c > 0;
    case CompareOp::kGe:
      return c >= 0;
  }
  return false;
}

// Compares two scalars; nullopt when they are not comparable.
std::optional<int> CompareScalars(const Value& a, const Value& b, bool ci) {
  if (IsNumber(a) && IsNumber(b)) return CompareNumbers(a, b);
  if (a.kind() == ValueKind::kString && b.kind() == ValueKind::kString) {
    return CompareText(a.as_string(), b.as_string(), ci);
  }
  if (a.kind() == ValueKind::kBool && b.kind() == ValueKind::kBool) {
    return static_cast<int>(a.as_bool()) - static_cast<int>(b.as_bool());
  }
  if (a.kind() == ValueKind::kIp || b.kind() == ValueKind::kIp) {
    std::optional<IpAddress> x = a.kind() == ValueKind::kIp       ? std::optional(a.as_ip())
                                 : a.kind() == ValueKind::kString ? IpAddress::Parse(a.as_string())
                                                                  : std::nullopt;
    std::optional<IpAddress> y = b.kind() == ValueKind::kIp       ? std::optional(b.as_ip())
                                 : b.kind() == ValueKind::kString ? IpAddress::Parse(b.as_string())
                                                                  : std::nullopt;
    if (!x || !y) return std::nullopt;
    int c = std::memcmp(x->bytes.data(), y->bytes.data(), 16);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}

Value ScalarCompare(CompareOp op, const Value& a, const Value& b, bool ci) {
  if (a.is_null() || b.is_null()) {
    if (op == CompareOp::kEq) return Value::Bool(a.is_null() && b.is_null());
    if (op == CompareOp::kNe) return Value::Bool(a.is_null() != b.is_null());
    return Value::Null();
  }
  std::optional<int> c = CompareScalars(a, b, ci);
  if (!c) {
    if (op == CompareOp::kEq) return Value::Bool(false);
    if (op == CompareOp::kNe) return Value::Bool(true);
    return Value::Null();
  }
  return Value::Bool(OrderingHolds(op, *c));
}

std::string_view Store(base::StringArena* arena, std::string_view s) { return arena->Copy(s); }

std::optional<int64_t> AsInt(const Value& v) {
  if (v.kind() == ValueKind::kInt) return v.as_int();
  if (v.kind() == ValueKind::kDouble && std::trunc(v.as_double()) == v.as_double() &&
      std::abs(v.as_double()) < 9e18) {
    return static_cast<int64_t>(v.as_double());
  }
  return std::nullopt;
}

// Python-style slice bounds: negative counts from the end, clamped to [0, size].
size_t SliceIndex(int64_t i, size_t size) {
  int64_t n = static_cast<int64_t>(size);
  if (i < 0) i += n;
  return static_cast<size_t>(std::clamp<int64_t>(i, 0, n));
}

Value Between(std::span<const Value> args, bool ci, base::StringArena* arena) {
  for (size_t i = 0; i < 3; ++i) {
    if (args[i].kind() != ValueKind::kString) return Value::Null();
  }
  bool greedy = args.size() > 3 && IsTrue(args[3]);
  std::string_view s = args[0].as_string(), left = args[1].as_string(), right = args[2].as_string();
  size_t start = Find(s, left, 0, ci);
  if (start == std::string_view::npos) return Value::Null();
  start += left.size();
  size_t end = greedy ? FindLast(s, right, start, ci) : Find(s, right, start, ci);
  if (greedy && right.empty()) end = s.size();
  if (end == std::string_view::npos) return Value::Null();
  return Value::String(Store(arena, s.substr(start, end - start)));
}

bool CidrContains(const IpAddress& ip, std::string_view cidr) {
  size_t slash = cidr.find('/');
  auto net = IpAddress::Parse(cidr.substr(0, slash));
  if (!net || net->is_v4 != ip.is_v4) return false;
  int max_bits = net->is_v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view b = cidr.substr(slash + 1);
    auto r = std::from_chars(b.data(), b.data() + b.size(), bits);
    if (r.ec != std::errc() || r.ptr != b.data() + b.size() || bits < 0 || bits > max_bits) {
      return false;
    }
  }
  int offset = net->is_v4 ? 96 : 0;  // v4 lives in the last 4 bytes
  for (int i = 0; i < bits; ++i) {
    int bit = offset + i;
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((ip.bytes[bit / 8] & mask) != (net->bytes[bit / 8] & mask)) return false;
  }
  return true;
}

Value Number(std::span<const Value> args) {
  if (args[0].kind() != ValueKind::kString) return IsNumber(args[0]) ? args[0] : Value::Null();
  std::string_view s = args[0].as_string();
  int base = 10;
  bool base_given = args.size() > 1 && !args[1].is_null();
  if (base_given) {
    auto b = AsInt(args[1]);
    if (!b || *b < 2 || *b > 36) return Value::Null();
    base = static_cast<int>(*b);
  }
  bool negative = false;
  std::string_view digits = s;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  if ((base == 16 || !base_given) && digits.size() > 2 && digits[0] == '0' &&
      (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  if (digits.empty()) return Value::Null();
  uint64_t u = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
  if (r.ec == std::errc() && r.ptr == digits.data() + digits.size()) {
    if (!negative) return Value::Uint(u);
    if (u <= static_cast<uint64_t>(INT64_MAX) + 1) {
      return Value::Int(static_cast<int64_t>(0 - u));
    }
    return Value::Null();
  }
  if (base != 10) return Value::Null();
  double d = 0;
  auto rd = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (rd.ec != std::errc() || rd.ptr != digits.data() + digits.size()) return Value::Null();
  return Value::Double(negative ? -d : d);
}

bool RegexMatches(std::string_view text, std::string_view pattern, bool ci) {
  std::string error;
  std::unique_ptr<RE2> re = CompileRegex(pattern, ci, &error);
  if (re == nullptr) return false;
  // Anchored at the start (not the end), like the reference implementation's match().
  re2::StringPiece input(text.data(), text.size());
  return RE2::Consume(&input, *re);
}

}  // namespace

std::unique_ptr<re2::RE2> CompileRegex(std::string_view pattern, bool ci, std::string* error) {
  RE2::Options options;
  options.set_case_sensitive(!ci);
  options.set_log_errors(false);
  options.set_dot_nl(false);
  options.set_max_mem(kRegexMaxMemory);
  auto re = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re->ok()) {
    *error = fmt::format("invalid regular expression: {}", re->error());
    return nullptr;
  }
  if (re->ProgramSize() > kMaxRegexProgramSize) {
    *error = fmt::format(
        "regular expression too complex: it compiles to {} instructions, more than the {} a "
        "pattern may have (counted repetitions such as `{{1,1000}}` multiply its size)",
        re->ProgramSize(), kMaxRegexProgramSize);
    return nullptr;
  }
  return re;
}

const BuiltinInfo* FindBuiltin(std::string_view name) {
  for (const BuiltinInfo& b : kBuiltins) {
    if (EqualsCi(b.name, name)) return &b;
  }
  return nullptr;
}

const BuiltinInfo& GetBuiltinInfo(Builtin id) { return kBuiltins[static_cast<size_t>(id)]; }

namespace {

// ASCII-lowercases `s` into `buf` (reused: no allocation once it has grown).
std::string_view LowerInto(std::string_view s, std::string* buf) {
  buf->resize(s.size());
  for (size_t i = 0; i < s.size(); ++i) (*buf)[i] = Lower(s[i]);
  return *buf;
}

// Glob with `*` only: the pattern's segments between stars must appear in order, the first at
// the start and the last at the end. Greedy leftmost placement of the middle segments is exact for
// `*`-only globs. Uses string_view::find (memchr/memcmp), so typical rules cost a few passes.
bool StarGlob(std::string_view text, std::string_view pattern) {
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return text == pattern;
  std::string_view head = pattern.substr(0, star);
  size_t last_star = pattern.rfind('*');
  std::string_view tail = pattern.substr(last_star + 1);
  if (text.size() < head.size() + tail.size() || !text.starts_with(head) || !text.ends_with(tail)) {
    return false;
  }
  size_t pos = head.size();
  size_t end = text.size() - tail.size();
  size_t p = star + 1;
  while (p < last_star + 1) {
    size_t next = pattern.find('*', p);
    std::string_view segment = pattern.substr(p, next - p);
    p = next + 1;
    if (segment.empty()) continue;
    size_t at = text.substr(0, end).find(segment, pos);
    if (at == std::string_view::npos) return false;
    pos = at + segment.size();
  }
  return true;
}

}  // namespace

bool WildcardMatch(std::string_view text, std::string_view pattern, bool ci, bool question_mark) {
  if (!question_mark || pattern.find('?') == std::string_view::npos) {
    if (!ci) return StarGlob(text, pattern);
    thread_local std::string text_buf, pattern_buf;
    return StarGlob(LowerInto(text, &text_buf), LowerInto(pattern, &pattern_buf));
  }
  return WildcardMatchBacktracking(text, pattern, ci, question_mark);
}

std::string_view FoldAscii(std::string_view s, std::string* buf) { return LowerInto(s, buf); }

bool WildcardMatchFolded(std::string_view folded_text, std::string_view pattern,
                         bool question_mark) {
  if (!question_mark || pattern.find('?') == std::string_view::npos) {
    thread_local std::string pattern_buf;
    return StarGlob(folded_text, LowerInto(pattern, &pattern_buf));
  }
  return WildcardMatchBacktracking(folded_text, pattern, true, question_mark);
}

bool WildcardMatchBacktracking(std::string_view text, std::string_view pattern, bool ci,
                               bool question_mark) {
  // Iterative glob matching with one backtrack point (the last '*'): O(|t| * |p|) worst case.
  size_t t = 0, p = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() &&
               ((question_mark && pattern[p] == '?') ||
                (ci ? Lower(pattern[p]) == Lower(text[t]) : pattern[p] == text[t]))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool ToText(const Value& v, base::StringArena* arena, std::string_view* out) {
  char buf[40];
  switch (v.kind()) {
    case ValueKind::kString:
      *out = v.as_string();
      return true;
    case ValueKind::kBool:
      *out = v.as_bool() ? "true" : "false";
      return true;
    case ValueKind::kInt: {
      auto r = std::to_chars(buf, buf + sizeof(buf), v.as_int());
      *out = Store(arena, std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
      return true;
    }
    case ValueKind::kUint: {
      auto r = std::to_chars(buf, buf + sizeof(buf), v.as_uint());
      *out = Store(arena, std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
      return true;
    }
    case ValueKind::kDouble: {
      auto r = std::to_chars(buf, buf + sizeof(buf), v.as_double());
      *out = Store(arena, std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
      return true;
    }
    case ValueKind::kIp:
      *out = Store(arena, v.as_ip().ToString());
      return true;
    default:
      return false;
  }
}

Value Compare(CompareOp op, const Value& a, const Value& b, bool ci) {
  // Multi-valued operands: any element satisfying the comparison; `!=` negates `==`.
  if (a.kind() == ValueKind::kArray || b.kind() == ValueKind::kArray) {
    if (op == CompareOp::kNe) {
      Value eq = Compare(CompareOp::kEq, a, b, ci);
      return eq.is_null() ? eq : Value::Bool(!eq.as_bool());
    }
    const Value& arr = a.kind() == ValueKind::kArray ? a : b;
    bool array_left = a.kind() == ValueKind::kArray;
    bool saw_null = false;
    for (const Value& e : arr.as_array()) {
      if (e.kind() == ValueKind::kArray) continue;
      Value r = array_left ? Compare(op, e, b, ci) : Compare(op, a, e, ci);
      if (IsTrue(r)) return r;
      saw_null |= r.is_null();
    }
    if (arr.as_array().empty() && op == CompareOp::kEq) {
      // An empty array behaves like a missing field.
      return Value::Bool((array_left ? b : a).is_null());
    }
    return saw_null && op != CompareOp::kEq ? Value::Null() : Value::Bool(false);
  }
  return ScalarCompare(op, a, b, ci);
}

Value Arith(ArithOp op, const Value& a, const Value& b) {
  if (!IsNumber(a) || !IsNumber(b)) return Value::Null();
  if (a.kind() == ValueKind::kInt && b.kind() == ValueKind::kInt) {
    int64_t x = a.as_int(), y = b.as_int(), r = 0;
    switch (op) {
      case ArithOp::kAdd:
        if (__builtin_add_overflow(x, y, &r)) return Value::Null();
        return Value::Int(r);
      case ArithOp::kSub:
        if (__builtin_sub_overflow(x, y, &r)) return Value::Null();
        return Value::Int(r);
      case ArithOp::kMul:
        if (__builtin_mul_overflow(x, y, &r)) return Value::Null();
        return Value::Int(r);
      case ArithOp::kDiv:
        if (y == 0 || (x == INT64_MIN && y == -1)) return Value::Null();
        return Value::Int(x / y);
      case ArithOp::kMod:
        if (y == 0 || (x == INT64_MIN && y == -1)) return Value::Null();
        return Value::Int(x % y);
    }
  }
  double x = AsDouble(a), y = AsDouble(b), r = 0;
  switch (op) {
    case ArithOp::kAdd:
      r = x + y;
      break;
    case ArithOp::kSub:
      r = x - y;
      break;
    case ArithOp::kMul:
      r = x * y;
      break;
    case ArithOp::kDiv:
      if (y == 0) return Value::Null();
      r = x / y;
      break;
    case ArithOp::kMod:
      if (y == 0) return Value::Null();
      r = std::fmod(x, y);
      break;
  }
  return std::isfinite(r) ? Value::Double(r) : Value::Null();
}

Value CallBuiltin(Builtin id, std::span<const Value> args, bool ci, base::StringArena* arena) {
  auto all_strings = [&](size_t n) {
    for (size_t i = 0; i < n && i < args.size(); ++i) {
      if (args[i].kind() != ValueKind::kString) return false;
    }
    return true;
  };
  switch (id) {
    case Builtin::kAdd:
      return Arith(ArithOp::kAdd, args[0], args[1]);
    case Builtin::kSubtract:
      return Arith(ArithOp::kSub, args[0], args[1]);
    case Builtin::kMultiply:
      return Arith(ArithOp::kMul, args[0], args[1]);
    case Builtin::kDivide:
      return Arith(ArithOp::kDiv, args[0], args[1]);
    case Builtin::kModulo:
      return Arith(ArithOp::kMod, args[0], args[1]);
    case Builtin::kBetween:
      return Between(args, ci, arena);
    case Builtin::kCidrMatch: {
      std::optional<IpAddress> ip;
      if (args[0].kind() == ValueKind::kIp) ip = args[0].as_ip();
      if (args[0].kind() == ValueKind::kString) ip = IpAddress::Parse(args[0].as_string());
      if (!ip) return Value::Null();
      for (const Value& c : args.subspan(1)) {
        if (c.kind() == ValueKind::kString && CidrContains(*ip, c.as_string())) {
          return Value::Bool(true);
        }
      }
      return Value::Bool(false);
    }
    case Builtin::kConcat: {
      std::string out;
      for (const Value& a : args) {
        std::string_view text;
        if (!ToText(a, arena, &text)) return Value::Null();
        out.append(text);
      }
      return Value::String(Store(arena, out));
    }
    case Builtin::kEndsWith:
      if (!all_strings(2)) return Value::Null();
      return Value::Bool(args[0].as_string().size() >= args[1].as_string().size() &&
                         Equals(args[0].as_string().substr(args[0].as_string().size() -
                                                           args[1].as_string().size()),
                                args[1].as_string(), ci));
    case Builtin::kStartsWith:
      if (!all_strings(2)) return Value::Null();
      return Value::Bool(args[0].as_string().size() >= args[1].as_string().size() &&
                         Equals(args[0].as_string().substr(0, args[1].as_string().size()),
                                args[1].as_string(), ci));
    case Builtin::kStringContains:
      if (!all_strings(2)) return Value::Null();
      return Value::Bool(Find(args[0].as_string(), args[1].as_string(), 0, ci) !=
                         std::string_view::npos);
    case Builtin::kIndexOf: {
      if (!all_strings(2)) return Value::Null();
      int64_t start = 0;
      if (args.size() > 2 && !args[2].is_null()) {
        auto s = AsInt(args[2]);
        if (!s) return Value::Null();
        start = std::max<int64_t>(*s, 0);
      }
      size_t at = Find(args[0].as_string(), args[1].as_string(), static_cast<size_t>(start), ci);
      if (at == std::string_view::npos) return Value::Null();
      return Value::Int(static_cast<int64_t>(at));
    }
    case Builtin::kLength:
      if (args[0].kind() == ValueKind::kString) {
        return Value::Int(static_cast<int64_t>(args[0].as_string().size()));
      }
      if (args[0].kind() == ValueKind::kArray) {
        return Value::Int(static_cast<int64_t>(args[0].as_array().size()));
      }
      return Value::Null();
    case Builtin::kMatch:
    case Builtin::kMatchLite: {
      if (args[0].kind() != ValueKind::kString) return Value::Null();
      for (const Value& p : args.subspan(1)) {
        if (p.kind() == ValueKind::kString &&
            RegexMatches(args[0].as_string(), p.as_string(), ci)) {
          return Value::Bool(true);
        }
      }
      return Value::Bool(false);
    }
    case Builtin::kWildcard: {
      if (args[0].kind() != ValueKind::kString) return Value::Null();
      for (const Value& p : args.subspan(1)) {
        if (p.kind() == ValueKind::kString &&
            WildcardMatch(args[0].as_string(), p.as_string(), ci, false)) {
          return Value::Bool(true);
        }
      }
      return Value::Bool(false);
    }
    case Builtin::kArrayContains: {
      if (args[0].kind() != ValueKind::kArray) return Value::Null();
      for (const Value& e : args[0].as_array()) {
        for (const Value& v : args.subspan(1)) {
          if (IsTrue(ScalarCompare(CompareOp::kEq, e, v, ci))) return Value::Bool(true);
        }
      }
      return Value::Bool(false);
    }
    case Builtin::kNumber:
      return Number(args);
    case Builtin::kString: {
      std::string_view text;
      if (!ToText(args[0], arena, &text)) return Value::Null();
      return Value::String(text);
    }
    case Builtin::kSubstring: {
      if (args[0].kind() != ValueKind::kString) return Value::Null();
      std::string_view s = args[0].as_string();
      size_t begin = 0, end = s.size();
      if (args.size() > 1 && !args[1].is_null()) {
        auto b = AsInt(args[1]);
        if (!b) return Value::Null();
        begin = SliceIndex(*b, s.size());
      }
      if (args.size() > 2 && !args[2].is_null()) {
        auto e = AsInt(args[2]);
        if (!e) return Value::Null();
        end = SliceIndex(*e, s.size());
      }
      if (end < begin) end = begin;
      return Value::String(s.substr(begin, end - begin));
    }
    case Builtin::kArrayCount:
    case Builtin::kArraySearch:
    case Builtin::kSafe:
      return Value::Null();
  }
  return Value::Null();
}

}  // namespace kestrel::eql
