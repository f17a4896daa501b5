// Sigma detection items -> EQL (docs/sigma.md, "Detection"): maps are ANDs of field conditions,
// lists ORs, modifiers and wildcards become the EQL a careful human would write: `:` for Sigma's
// default case-insensitive matching (one `f : ("a", "b*")` per field and value list), `like` /
// `==` under `cased`, `regex` for `re` and for values holding a literal `*` or `?` (EQL's
// wildcards cannot escape them), `cidrMatch`, `!= null` for `exists`.
// Tested by sigma_test.cc.
#include <algorithm>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>
#include <re2/re2.h>

#include "kestrel/eql/ast.h"
#include "kestrel/eql/functions.h"
#include "kestrel/rules/sigma_internal.h"

namespace kestrel::rules::sigma {
namespace {

using Kind = Problem::Kind;

enum class Match : uint8_t { kExact, kContains, kStartsWith, kEndsWith };
enum class Cmp : uint8_t { kNone, kLt, kLte, kGt, kGte };

struct Modifiers {
  Match match = Match::kExact;
  Cmp cmp = Cmp::kNone;
  bool all = false, base64 = false, base64offset = false, windash = false, re = false;
  bool re_i = false, re_m = false, re_s = false, cidr = false, exists = false, cased = false;
  bool fieldref = false;
  bool match_set = false;
};

// One character of a Sigma value: a literal byte, or (wild) the wildcard '*' or '?'.
struct PatChar {
  char c;
  bool wild;
};
using Pattern = std::vector<PatChar>;

// Sigma's escaping: `\*`, `\?`, `\\` are literal; any other backslash is itself.
Pattern ParseValue(std::string_view v) {
  Pattern p;
  p.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
      p.push_back({v[++i], false});
    } else {
      p.push_back({c, c == '*' || c == '?'});
    }
  }
  return p;
}

Pattern LiteralPattern(std::string_view v) {
  Pattern p;
  for (char c : v) p.push_back({c, false});
  return p;
}

bool HasWildcard(const Pattern& p) {
  for (const PatChar& c : p) {
    if (c.wild) return true;
  }
  return false;
}

std::string Literal(const Pattern& p) {
  std::string s;
  for (const PatChar& c : p) s += c.c;
  return s;
}

char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// windash: a `-` or `/` that starts a word (at the start or after a non-alphanumeric character,
// before an alphanumeric one) is each of `-`, `/`, en dash, em dash and horizontal bar (the same
// choice for every such position of the value).
std::vector<Pattern> Windash(const Pattern& p) {
  static constexpr std::string_view kDashes[] = {"-", "/", "\u2013", "\u2014", "\u2015"};
  std::vector<Pattern> out;
  for (std::string_view dash : kDashes) {
    Pattern variant;
    for (size_t i = 0; i < p.size(); ++i) {
      bool starts_word = !p[i].wild && (p[i].c == '-' || p[i].c == '/') &&
                         (i == 0 || !IsAlnum(p[i - 1].c)) && i + 1 < p.size() && !p[i + 1].wild &&
                         IsAlnum(p[i + 1].c);
      if (starts_word) {
        for (char c : dash) variant.push_back({c, false});
      } else {
        variant.push_back(p[i]);
      }
    }
    bool seen = false;
    for (const Pattern& o : out) {
      if (Literal(o) == Literal(variant)) seen = true;
    }
    if (!seen) out.push_back(std::move(variant));
  }
  return out;
}

std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A wildcard pattern as a whole-string RE2 regex (for values holding a literal '*' or '?').
std::string PatternRegex(const Pattern& p) {
  std::string out;
  for (const PatChar& c : p) {
    if (c.wild) {
      out += c.c == '*' ? "(?s:.*)" : "(?s:.)";
    } else {
      out += RegexEscape(std::string_view(&c.c, 1));
    }
  }
  return out;
}

std::string Glob(const Pattern& p) { return Literal(p); }

bool HasLiteralWildcardChar(const Pattern& p) {
  for (const PatChar& c : p) {
    if (!c.wild && (c.c == '*' || c.c == '?')) return true;
  }
  return false;
}

std::optional<std::string> NumberText(const DocNode& v) {
  if (v.kind == DocNode::Kind::kInt) return v.text.empty() ? std::to_string(v.int_value) : v.text;
  if (!v.is_scalar() || v.kind == DocNode::Kind::kNull) return std::nullopt;
  std::string_view s = v.text;
  if (s.empty()) return std::nullopt;
  if (auto i = v.AsInt()) return std::to_string(*i);
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return fmt::format("{}", d);
}

// The conditions of one field's values, joined by `or` (or `and` under `all`); in `or` mode the
// case-insensitive string values become one `f : (...)` list.
class Values {
 public:
  Values(std::string field, bool all) : field_(std::move(field)), all_(all) {}

  void Colon(std::string glob, SourcePosition pos) {
    if (all_) {
      Fragment f;
      f.Mark(pos);
      f.text = fmt::format("{} : {}", field_, QuoteEql(glob));
      Add(std::move(f));
      return;
    }
    if (colon_.empty()) colon_pos_ = pos;
    colon_.push_back(std::move(glob));
  }
  void Cidr(std::string cidr, SourcePosition pos) {
    if (all_) {
      Fragment f;
      f.Mark(pos);
      f.text = fmt::format("cidrMatch({}, {})", field_, QuoteEql(cidr));
      Add(std::move(f));
      return;
    }
    if (cidr_.empty()) cidr_pos_ = pos;
    cidr_.push_back(std::move(cidr));
  }
  void Add(Fragment f) { parts_.push_back(std::move(f)); }
  void Add(SourcePosition pos, std::string text) {
    Fragment f;
    f.Mark(pos);
    f.text = std::move(text);
    Add(std::move(f));
  }
  const std::string& field() const { return field_; }

  Fragment Finish() {
    std::vector<Fragment> parts;
    if (!colon_.empty()) {
      Fragment f;
      f.Mark(colon_pos_);
      f.text = field_ + " : ";
      if (colon_.size() == 1) {
        f.text += QuoteEql(colon_[0]);
      } else {
        f.text += '(';
        for (size_t i = 0; i < colon_.size(); ++i) {
          if (i) f.text += ", ";
          f.text += QuoteEql(colon_[i]);
        }
        f.text += ')';
      }
      parts.push_back(std::move(f));
    }
    if (!cidr_.empty()) {
      Fragment f;
      f.Mark(cidr_pos_);
      f.text = "cidrMatch(" + field_;
      for (const std::string& c : cidr_) f.text += ", " + QuoteEql(c);
      f.text += ')';
      parts.push_back(std::move(f));
    }
    for (Fragment& p : parts_) parts.push_back(std::move(p));
    return Join(parts, all_);
  }

 private:
  std::string field_;
  bool all_;
  std::vector<std::string> colon_, cidr_;
  SourcePosition colon_pos_, cidr_pos_;
  std::vector<Fragment> parts_;
};

}  // namespace

std::string QuoteEql(std::string_view value) { return eql::QuoteStringLiteral(value); }

Fragment Join(const std::vector<Fragment>& parts, bool conjunction) {
  if (parts.size() == 1) return parts[0];
  Fragment out;
  out.prec = conjunction ? 2 : 3;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.text += conjunction ? " and " : " or ";
    out.Append(parts[i], out.prec);
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    size_t left = bytes.size() - i;
    if (left > 1) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (left > 2) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += left > 1 ? kAlphabet[(n >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::vector<std::string> Base64Offsets(std::string_view bytes) {
  static constexpr size_t kStartDrop[] = {0, 2, 3};
  static constexpr size_t kEndDrop[] = {0, 3, 2};  // by (offset + size) % 3
  std::vector<std::string> out;
  for (size_t i = 0; i < 3; ++i) {
    std::string padded(i, '\0');
    padded += bytes;
    std::string enc = Base64(padded);
    size_t start = kStartDrop[i], end = kEndDrop[padded.size() % 3];
    if (enc.size() <= start + end) continue;
    out.push_back(enc.substr(start, enc.size() - start - end));
  }
  return out;
}

bool DetectionCompiler::Fail(Problem::Kind kind, SourcePosition pos, std::string message) {
  problem_->kind = kind;
  problem_->pos = pos;
  problem_->message = std::move(message);
  return false;
}

const SigmaField* DetectionCompiler::Field(std::string_view name, SourcePosition pos) {
  if (record_ != nullptr) {
    auto it = record_->fields.find(name);
    if (it != record_->fields.end()) return &it->second;
  }
  auto it = logsource_.fields.find(name);
  if (it != logsource_.fields.end()) return &it->second;
  Fail(Kind::kError, pos,
       fmt::format("field '{}' is not in the Sigma mapping of logsource '{}' (map it with "
                   "--sigma-mapping, docs/sigma.md)",
                   name, logsource_.name));
  return nullptr;
}

std::optional<Fragment> DetectionCompiler::Item(const DocNode& node) {
  switch (node.kind) {
    case DocNode::Kind::kMap:
      return Map(node);
    case DocNode::Kind::kList: {
      if (node.items.empty()) {
        Fail(Kind::kError, node.position, "a detection item is an empty list");
        return std::nullopt;
      }
      std::vector<Fragment> parts;
      std::vector<const DocNode*> keywords;
      SourcePosition keywords_pos;
      for (const DocNode& item : node.items) {
        if (item.kind == DocNode::Kind::kMap) {
          auto f = Map(item);
          if (!f) return std::nullopt;
          parts.push_back(std::move(*f));
        } else if (item.is_scalar()) {
          if (keywords.empty()) keywords_pos = item.position;
          keywords.push_back(&item);
        } else {
          Fail(Kind::kError, item.position, "a detection list holds maps or values, not lists");
          return std::nullopt;
        }
      }
      if (!keywords.empty()) {
        auto f = Keywords(keywords, keywords_pos);
        if (!f) return std::nullopt;
        parts.push_back(std::move(*f));
      }
      return Join(parts, false);
    }
    case DocNode::Kind::kNull:
      Fail(Kind::kError, node.position, "a detection item is empty");
      return std::nullopt;
    default:
      return Keywords({&node}, node.position);
  }
}

std::optional<Fragment> DetectionCompiler::Map(const DocNode& node) {
  if (node.entries.empty()) {
    Fail(Kind::kError, node.position, "a detection map is empty");
    return std::nullopt;
  }
  // `type: NAME` of a record the logsource maps (auditd's EXECVE): the record's condition, and
  // its fields for the map's other entries.
  const SigmaRecord* record = nullptr;
  for (const DocNode::Entry& e : node.entries) {
    if (e.key != "type" || !e.value.is_scalar()) continue;
    for (const SigmaRecord& r : logsource_.records) {
      if (r.name.size() == e.value.text.size() &&
          std::equal(r.name.begin(), r.name.end(), e.value.text.begin(),
                     [](char a, char b) { return LowerAscii(a) == LowerAscii(b); })) {
        record = &r;
      }
    }
  }
  record_ = record;
  std::vector<Fragment> parts;
  for (const DocNode::Entry& e : node.entries) {
    if (record != nullptr && e.key == "type") {
      Fragment f;
      f.Mark(e.value.position);
      f.text = record->condition;
      f.prec = record->condition.find(" or ") == std::string::npos ? 2 : 3;
      parts.push_back(std::move(f));
      continue;
    }
    auto f = FieldCondition(e);
    if (!f) {
      record_ = nullptr;
      return std::nullopt;
    }
    parts.push_back(std::move(*f));
  }
  record_ = nullptr;
  return Join(parts, true);
}

namespace {

// Parses `Field|mod|mod`; returns false with *error (and whether it is unsupported) set.
bool ParseModifiers(std::string_view key, std::string* field, Modifiers* m, std::string* error,
                    bool* unsupported) {
  size_t bar = key.find('|');
  *field = std::string(key.substr(0, bar));
  *unsupported = false;
  while (bar != std::string_view::npos) {
    key.remove_prefix(bar + 1);
    bar = key.find('|');
    std::string_view mod = key.substr(0, bar);
    auto set_match = [&](Match match) {
      if (m->match_set) {
        *error = fmt::format("modifier '{}' after another of contains/startswith/endswith", mod);
        return false;
      }
      m->match = match;
      m->match_set = true;
      return true;
    };
    if (mod == "contains") {
      if (!set_match(Match::kContains)) return false;
    } else if (mod == "startswith") {
      if (!set_match(Match::kStartsWith)) return false;
    } else if (mod == "endswith") {
      if (!set_match(Match::kEndsWith)) return false;
    } else if (mod == "all") {
      m->all = true;
    } else if (mod == "base64") {
      m->base64 = true;
    } else if (mod == "base64offset") {
      m->base64offset = true;
    } else if (mod == "windash") {
      m->windash = true;
    } else if (mod == "re") {
      m->re = true;
    } else if (mod == "i" || mod == "m" || mod == "s") {
      if (!m->re) {
        *error = fmt::format("modifier '{}' is a sub-modifier of 're' and must follow it", mod);
        return false;
      }
      (mod == "i" ? m->re_i : mod == "m" ? m->re_m : m->re_s) = true;
    } else if (mod == "cidr") {
      m->cidr = true;
    } else if (mod == "exists") {
      m->exists = true;
    } else if (mod == "cased") {
      m->cased = true;
    } else if (mod == "fieldref") {
      m->fieldref = true;
    } else if (mod == "lt" || mod == "lte" || mod == "gt" || mod == "gte") {
      m->cmp = mod == "lt"    ? Cmp::kLt
               : mod == "lte" ? Cmp::kLte
               : mod == "gt"  ? Cmp::kGt
                              : Cmp::kGte;
    } else if (mod == "expand") {
      *unsupported = true;
      *error = "modifier 'expand' needs placeholder values, which Kestrel does not have";
      return false;
    } else if (mod == "utf16le" || mod == "utf16be" || mod == "utf16" || mod == "wide") {
      *unsupported = true;
      *error =
          fmt::format("modifier '{}' (UTF-16 encoding, for Windows logs) is not supported", mod);
      return false;
    } else {
      *error = fmt::format("unknown modifier '{}'", mod);
      return false;
    }
  }
  int kinds = m->re + m->cidr + m->exists + m->fieldref + (m->cmp != Cmp::kNone);
  if (kinds > 1) {
    *error = "modifiers re, cidr, exists, fieldref and lt/lte/gt/gte exclude each other";
    return false;
  }
  if (kinds == 1 && (m->match_set || m->base64 || m->base64offset || m->windash)) {
    *error =
        "re, cidr, exists, fieldref and lt/lte/gt/gte take no contains/startswith/endswith, "
        "base64, base64offset or windash";
    return false;
  }
  if (m->base64 && m->base64offset) {
    *error = "base64 and base64offset exclude each other";
    return false;
  }
  return true;
}

}  // namespace

namespace {

bool Refuse(Problem* problem, Problem::Kind kind, SourcePosition pos, std::string message) {
  problem->kind = kind;
  problem->pos = pos;
  problem->message = std::move(message);
  return false;
}

const char* CmpText(Cmp cmp) {
  switch (cmp) {
    case Cmp::kLt:
      return "<";
    case Cmp::kLte:
      return "<=";
    case Cmp::kGt:
      return ">";
    default:
      return ">=";
  }
}

// One value of a field condition (docs/sigma.md, "Values and modifiers").
bool AddValue(DetectionCompiler* dc, Problem* problem, const SigmaField& field, const Modifiers& m,
              const DocNode& v, Values* out) {
  const std::string& f = out->field();
  SourcePosition pos = v.position;
  if (m.exists) {
    if (v.kind != DocNode::Kind::kBool) {
      return Refuse(problem, Kind::kError, pos, "'exists' takes true or false");
    }
    out->Add(pos, fmt::format("{} {} null", f, v.bool_value ? "!=" : "=="));
    return true;
  }
  if (v.kind == DocNode::Kind::kNull) {
    if (m.match_set || m.re || m.cidr || m.fieldref || m.cmp != Cmp::kNone || m.base64 ||
        m.base64offset || m.windash) {
      return Refuse(problem, Kind::kError, pos, "a null value takes no modifier");
    }
    out->Add(pos, fmt::format("{} == null", f));
    return true;
  }
  if (!v.is_scalar()) {
    return Refuse(problem, Kind::kError, pos,
                  fmt::format("a field's value must be a value or a list of values, found a {}",
                              v.KindName()));
  }
  if (m.cmp != Cmp::kNone) {
    auto n = NumberText(v);
    if (!n) {
      return Refuse(problem, Kind::kError, pos,
                    fmt::format("'{}' needs a number, found '{}'", CmpText(m.cmp), v.text));
    }
    out->Add(pos, fmt::format("{} {} {}", f, CmpText(m.cmp), *n));
    return true;
  }
  if (m.fieldref) {
    const SigmaField* other = dc->Field(v.text, pos);
    if (other == nullptr) return false;
    out->Add(pos, fmt::format("{} == {}", f, other->ecs));
    return true;
  }
  if (m.cidr) {
    out->Cidr(v.text, pos);
    return true;
  }
  if (m.re) {
    std::string flags = std::string(m.re_i ? "i" : "") + (m.re_m ? "m" : "") + (m.re_s ? "s" : "");
    // Sigma's regular expressions search (match anywhere); EQL's regex matches the whole value.
    std::string re = fmt::format("(?s:.*)(?{}:{})(?s:.*)", flags, v.text);
    std::string error;
    if (eql::CompileRegex(re, false, &error) == nullptr) {
      return Refuse(problem, Kind::kUnsupported, pos,
                    fmt::format("the regular expression '{}' is not RE2 syntax (no lookaround or "
                                "backreferences): {}",
                                v.text, error));
    }
    out->Add(pos, fmt::format("{} regex {}", f, QuoteEql(re)));
    return true;
  }
  std::string text = v.kind == DocNode::Kind::kBool ? (v.bool_value ? "true" : "false") : v.text;
  bool plain = !m.match_set && !m.base64 && !m.base64offset && !m.windash;
  if (!field.values.empty()) {
    if (!plain) {
      return Refuse(problem, Kind::kUnsupported, pos,
                    "a field with mapped values takes no contains/startswith/endswith, base64 or "
                    "windash");
    }
    const std::string* mapped = nullptr;
    for (const auto& [from, to] : field.values) {
      if (from.size() == text.size() &&
          std::equal(from.begin(), from.end(), text.begin(),
                     [](char a, char b) { return LowerAscii(a) == LowerAscii(b); })) {
        mapped = &to;
      }
    }
    if (mapped == nullptr) {
      return Refuse(problem, Kind::kUnsupported, pos,
                    fmt::format("value '{}' has no ECS equivalent in the mapping of {}", text, f));
    }
    out->Add(pos, fmt::format("{} == {}", f, QuoteEql(*mapped)));
    return true;
  }
  if (field.numeric || v.kind == DocNode::Kind::kBool) {
    auto n = field.numeric ? NumberText(v) : std::optional<std::string>(text);
    if (!plain || !n) {
      return Refuse(problem, Kind::kUnsupported, pos,
                    fmt::format("{} is a {} in ECS; '{}' with these modifiers cannot match it", f,
                                field.numeric ? "number" : "boolean", text));
    }
    out->Add(pos, fmt::format("{} == {}", f, *n));
    return true;
  }
  Pattern parsed = ParseValue(text);
  if (field.ip) {
    if (!plain || HasWildcard(parsed) || m.cased) {
      return Refuse(problem, Kind::kUnsupported, pos,
                    fmt::format("{} is an IP address in ECS; '{}' with wildcards or string "
                                "modifiers cannot match it (write it with |cidr)",
                                f, text));
    }
    out->Add(pos, fmt::format("{} == {}", f, QuoteEql(Literal(parsed))));
    return true;
  }
  std::vector<Pattern> patterns;
  if (m.windash) {
    patterns = Windash(parsed);
  } else {
    patterns.push_back(std::move(parsed));
  }
  if (m.base64 || m.base64offset) {
    std::vector<Pattern> encoded;
    for (const Pattern& p : patterns) {
      if (HasWildcard(p)) {
        return Refuse(problem, Kind::kUnsupported, pos,
                      "base64 of a value with wildcards cannot be expressed");
      }
      std::string lit = Literal(p);
      if (m.base64) {
        encoded.push_back(LiteralPattern(Base64(lit)));
      } else {
        for (const std::string& e : Base64Offsets(lit)) encoded.push_back(LiteralPattern(e));
      }
    }
    patterns = std::move(encoded);
  }
  for (Pattern& p : patterns) {
    if (m.match == Match::kContains || m.match == Match::kEndsWith)
      p.insert(p.begin(), {'*', true});
    if (m.match == Match::kContains || m.match == Match::kStartsWith) p.push_back({'*', true});
    if (HasLiteralWildcardChar(p)) {
      out->Add(pos,
               fmt::format("{} {} {}", f, m.cased ? "regex" : "regex~", QuoteEql(PatternRegex(p))));
    } else if (m.cased) {
      out->Add(pos, fmt::format("{} {} {}", f, HasWildcard(p) ? "like" : "==", QuoteEql(Glob(p))));
    } else {
      out->Colon(Glob(p), pos);
    }
  }
  return true;
}

}  // namespace

std::optional<Fragment> DetectionCompiler::Keywords(const std::vector<const DocNode*>& values,
                                                    SourcePosition pos) {
  if (logsource_.keywords.empty()) {
    Fail(Kind::kUnsupported, pos,
         fmt::format("logsource '{}' has no field for keyword (field-less) searches",
                     logsource_.name));
    return std::nullopt;
  }
  SigmaField field;
  field.ecs = logsource_.keywords;
  Modifiers m;
  m.match = Match::kContains;
  m.match_set = true;
  Values out(field.ecs, false);
  for (const DocNode* v : values) {
    if (v->kind == DocNode::Kind::kNull) {
      Fail(Kind::kError, v->position, "a keyword is empty");
      return std::nullopt;
    }
    if (!AddValue(this, problem_, field, m, *v, &out)) return std::nullopt;
  }
  return out.Finish();
}

std::optional<Fragment> DetectionCompiler::FieldCondition(const DocNode::Entry& entry) {
  std::string name, error;
  Modifiers m;
  bool unsupported = false;
  if (!ParseModifiers(entry.key, &name, &m, &error, &unsupported)) {
    Fail(unsupported ? Kind::kUnsupported : Kind::kError, entry.key_position,
         fmt::format("'{}': {}", entry.key, error));
    return std::nullopt;
  }
  SigmaField keyword_field;
  const SigmaField* field = nullptr;
  if (name.empty()) {
    if (logsource_.keywords.empty()) {
      Fail(Kind::kUnsupported, entry.key_position,
           fmt::format("logsource '{}' has no field for keyword (field-less) searches",
                       logsource_.name));
      return std::nullopt;
    }
    keyword_field.ecs = logsource_.keywords;
    field = &keyword_field;
    // Keywords search: without a modifier a value matches anywhere in the field.
    if (!m.match_set && !m.re && !m.cidr && !m.exists && !m.fieldref && m.cmp == Cmp::kNone) {
      m.match = Match::kContains;
      m.match_set = true;
    }
  } else {
    field = Field(name, entry.key_position);
    if (field == nullptr) return std::nullopt;
  }
  std::vector<const DocNode*> values;
  if (entry.value.kind == DocNode::Kind::kList) {
    for (const DocNode& v : entry.value.items) values.push_back(&v);
    if (values.empty()) {
      Fail(Kind::kError, entry.value.position, fmt::format("'{}' has an empty list", entry.key));
      return std::nullopt;
    }
  } else {
    values.push_back(&entry.value);
  }
  Values out(field->ecs, m.all);
  for (const DocNode* v : values) {
    if (!AddValue(this, problem_, *field, m, *v, &out)) return std::nullopt;
  }
  return out.Finish();
}

}  // namespace kestrel::rules::sigma
