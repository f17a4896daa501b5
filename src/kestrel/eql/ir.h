// The typed IR: what semantic analysis produces from the AST, and the single input of every
// back end (the engine's evaluator, and the Wasm and Lua code generators).
//
// Differences from the AST: field names are resolved to FieldIds with their schema types;
// dialect and case rules are explicit on each node (an Endgame `==` with a `*` literal is a
// kWildcard node, `in~` carries case_insensitive); constants are folded; `and`/`or` are n-ary
// and simplified; `wildcard()` calls, `like` and `:` all become kWildcard nodes with their
// patterns; regexes are validated. Strings of constants live in the IrProgram's arena.
//
// Ownership: an IrProgram owns its nodes (unique_ptr) and the bytes of every constant; it is
// immutable after Compile() and may be shared by threads.
// DumpIr() renders a stable one-line S-expression (`kestrel compile --emit ir`, tests); a query
// negation (`query_not`) shows as `query-not`, `query-not-in`, `query-not-wildcard`.
// Tested by sema_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/base/arena.h"
#include "kestrel/eql/ast.h"
#include "kestrel/eql/functions.h"
#include "kestrel/event/value.h"
#include "kestrel/schema/field.h"
#include "kestrel/schema/schema.h"

namespace re2 {
class RE2;
}

namespace kestrel::eql {

// Static type of an IR expression. kAny: a field whose values may have any type (dynamic
// fields, or catalogue fields read from data that does not follow ECS).
enum class IrType : uint8_t { kNull, kBool, kNumber, kString, kIp, kAny };
std::string_view IrTypeName(IrType type);

enum class IrOp : uint8_t {
  kConst,       // value
  kField,       // field (+ index for `args[0]`)
  kNot,         // children[0]
  kAnd,         // children (>= 2)
  kOr,          // children (>= 2)
  kCompare,     // children[0] compare children[1]
  kArith,       // children[0] arith children[1]
  kNeg,         // -children[0]
  kIn,          // children[0] in set (constants); negated for `not in`
  kWildcard,    // children[0] matches any of set (string patterns); negated for `!=`
  kRegex,       // children[0] matches any of set (regex patterns)
  kCall,        // builtin(children...)
  kRelation,    // Endgame: relation to a process matching children[0] in `category`
  kTruthy,      // Endgame: children[0] used as a condition (non-empty, non-zero, present object)
  kCustomCall,  // custom function `custom_name` (index `custom`) of the arguments in children
};

struct IrNode {
  IrOp op = IrOp::kConst;
  IrType type = IrType::kAny;
  Span span;

  event::Value value;                  // kConst
  schema::FieldId field;               // kField
  std::optional<int64_t> index;        // kField: array element
  std::optional<int64_t> event_index;  // kField in a pipe: `events[i].field` of the match
  bool optional_field = false;         // kField: written `?field`
  CompareOp compare = CompareOp::kEq;  // kCompare
  ArithOp arith = ArithOp::kAdd;       // kArith
  Builtin builtin = Builtin::kAdd;     // kCall
  uint32_t custom = 0;                 // kCustomCall: index in CompileOptions::functions
  std::string custom_name;             // kCustomCall
  RelationKind relation = RelationKind::kDescendantOf;  // kRelation
  std::optional<schema::CategoryId> category;           // kRelation: nullopt = any
  bool case_insensitive = false;                        // kCompare, kIn, kWildcard, kRegex, kCall
  bool negated = false;                                 // kIn, kWildcard
  // kNot, and kIn/kWildcard with `negated`: an Elasticsearch query negation (set by sema in the
  // `elasticsearch` dialect only, see MarkQueryNegations in sema.h): the operand is a query
  // that either matches or not, so a null operand (a missing field) negates to true. Without
  // it, negation is three-valued (not null is null), as in the Endgame reference.
  bool query_not = false;
  bool question_mark = false;     // kWildcard: `?` is a wildcard (`:`, like)
  std::vector<event::Value> set;  // kIn, kWildcard, kRegex
  // kRegex: compiled `set`; kCall match()/matchLite() whose patterns are all literals: those,
  // compiled (functions.h CompileRegex)
  std::vector<std::shared_ptr<const re2::RE2>> regexes;
  std::vector<std::unique_ptr<IrNode>> children;

  bool is_const() const { return op == IrOp::kConst; }
};

using IrNodePtr = std::unique_ptr<IrNode>;

struct IrStage {
  Span span;
  std::optional<schema::CategoryId> category;  // nullopt: `any`
  IrNodePtr predicate;                         // never null (constant true for `where true`)
  std::vector<IrNodePtr> by;                   // shared keys first, then the stage's own
  bool missing = false;                        // `![...]`
  bool fork = false;                           // Endgame `fork=true`: copy, do not move, matches
  std::optional<int64_t> runs;                 // `with runs=N`
};

struct IrPipe {
  PipeKind kind = PipeKind::kHead;
  Span span;
  int64_t limit = 0;            // head/tail
  std::vector<IrNodePtr> args;  // count/unique/unique_count/sort keys; filter condition
};

struct IrProgram {
  QueryKind kind = QueryKind::kEvent;
  Dialect dialect = Dialect::kElasticsearch;
  bool case_insensitive = false;  // Endgame in its default mode: strings compare without case
  std::vector<IrStage> stages;    // one for an event query
  std::optional<IrStage> until;
  std::optional<int64_t> maxspan_ns;
  std::vector<IrPipe> pipes;
  base::StringArena constants;  // bytes of every string constant and set element
};

std::string DumpIrNode(const IrNode& node, const schema::Schema& schema);
std::string DumpIr(const IrProgram& program, const schema::Schema& schema);

}  // namespace kestrel::eql
