// QueryEngine: runs one compiled EQL program over a stream of events and collects its results,
// with the semantics of the reference implementation (../shared/conformance/eql/README.md).
//
//   event query   every event in the stage's category whose condition holds
//   sequence      per join key, one partial match per stage; for each event: expire partial
//                 matches older than maxspan, then `until` clears the key in every stage, then
//                 the stages from last to first advance (a newer start replaces an older one);
//                 `fork=true` stages copy rather than move; `runs=N` repeats a stage N times
//   join          per join key, the first event of each stage; complete when every stage has one
//                 (results in stage order); `until` clears the key
//   sample        like join, results in stage order (Elasticsearch `sample by`)
// Pipes (head, tail, filter, unique, unique_count, sort, count) run over the results in order;
// `count` replaces the results with statistics events (count, key, percent); an array value is
// counted once per element (key never an array or null for a present value).
//
// Events are identified by the caller's index; the engine keeps copies only of events that sit
// in partial matches or results (a sequence's partial matches hold compact, shared Evidence,
// evidence.h, decoded back into Events when the match completes). Time is each event's time_ns(),
// never the wall clock. Missing-event stages `![q]` (Elasticsearch): between two stages, an event
// matching q with the same key cancels the partial match waiting across it; before the first stage,
// it keeps a sequence from starting within maxspan after it; after the last stage, a complete match
// is held until maxspan has passed without such an event (or the input ends) and then reported.
// Thread safety: one thread per engine. Tested by query_engine_test.cc and
// conformance_query_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/evidence.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/engine/rule_index.h"
#include "kestrel/engine/state_budget.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::engine {

// One result: the matched events (one for an event query; one per stage otherwise).
struct QueryMatch {
  std::vector<uint64_t> event_indexes;                      // the caller's indexes, in match order
  std::vector<std::shared_ptr<const event::Event>> events;  // the events themselves
  std::string entity_key;  // `field=value, ...` of the join keys (empty for event queries)
};

// Bounds on a rule's state: a sequence's partial matches live in a StateStore (state_store.h,
// which documents the memory per partial match); a join's or sample's keys are bounded by
// max_keys alone.
struct EngineLimits {
  size_t max_partials = 100'000;  // per rule; past it the least recently written are evicted
  size_t max_keys = 100'000;      // distinct join keys held per rule; likewise
  // Partial matches of a sequence without maxspan expire after this much event time; 0: never
  // (query mode, the reference semantics).
  int64_t default_ttl_ns = 0;
  // All the rules of a Detector together hold at most this many bytes of partial matches and
  // join/sample keys (StateBudgets, state_budget.h); 0: no budget (query mode).
  size_t state_budget_bytes = 0;
  // Sequences: the partial matches are kept in this many stores, Process()'s `shard` choosing
  // one, each bounded by its share of the quotas (StateShardLimits, entity_routing.h). 1: one
  // store with the whole quotas. A Detector sets kStateShards for entity-local sequences.
  uint32_t state_shards = 1;
  // Streaming (`kestrel run`): only the pipes that can answer per result are accepted
  // (`head`, `unique`), applied by TakeResults(); others make Create() fail with the reason.
  bool streaming = false;
};

struct EngineStats {
  uint64_t partials = 0;        // partial matches held now
  uint64_t keys = 0;            // distinct join keys held now
  uint64_t expired = 0;         // dropped for being older than maxspan / the default TTL
  uint64_t evicted = 0;         // dropped to stay within max_partials / max_keys
  uint64_t evicted_budget = 0;  // dropped by the state budget (state_budget.h)
  // `count` pipe: results whose array arguments made more than kMaxCountCombinations key
  // combinations (only the first ones were counted).
  uint64_t count_truncated = 0;
};

// Why an engine with some limits cannot run a program, and where in the query (the span of the
// refused construct, e.g. the pipe); what Create() fails with.
struct EngineRefusal {
  std::string message;
  eql::Span span;
};

// `| count a, b`: an array value counts once per element, several arguments once per
// combination of their elements, at most this many combinations per result.
inline constexpr size_t kMaxCountCombinations = 4096;

class QueryEngine {
 public:
  // What Create() would refuse `program` for, without building anything (nullopt: accepted).
  // Rule checks (`kestrel check`, the rule loader) call it to place the refusal in the rule file.
  static std::optional<EngineRefusal> Refusal(const eql::IrProgram& program,
                                              const EngineLimits& limits);

  // `program` must outlive the engine; `schema` is used to intern lineage fields.
  // Errors: INVALID_ARGUMENT with Refusal()'s message.
  static absl::StatusOr<std::unique_ptr<QueryEngine>> Create(const eql::IrProgram* program,
                                                             schema::Schema& schema,
                                                             const EngineLimits& limits = {});
  ~QueryEngine();

  // Feeds the next event (in stream order). `shard`: the event's state shard (StateShard,
  // entity_routing.h) when EngineLimits::state_shards > 1; ignored otherwise.
  void Process(const event::Event& event, uint64_t index, uint32_t shard = 0);

  // The results after the pipes. Call once, after the last event.
  std::vector<QueryMatch> Finish();

  // Pre-filtering (streaming): before each Process(), `matcher` has been prepared for the event;
  // stages it reports closed are not evaluated (they cannot match; see rule_index.h). The
  // program must be one `index` was built over. REQUIRES: both outlive the engine.
  void UseIndex(const RuleIndex& index, const RuleMatcher* matcher);

  // Evidence sharing: the engine keeps its copies of the current event (a full one for results,
  // the compact Evidence for sequence state) in `*slot`, which the caller resets before each
  // event, so that engines fed the same events share one copy. nullptr: a slot of the engine's
  // own. REQUIRES: `slot` outlives the engine.
  void ShareEvidence(CurrentEvidence* slot);

  // Stage predicates (and `until`) are evaluated by `predicates` instead of the IR evaluator
  // (PredicateRuntime). nullptr: native evaluation. Relation sub-queries and pipes stay native.
  void UsePredicates(std::unique_ptr<RulePredicates> predicates);
  // Custom functions (IrOp::kCustomCall) are called through `functions` (nullptr: they are
  // null). REQUIRES: outlives the engine.
  void UseFunctions(FunctionRuntime* functions);
  // Events whose predicate evaluation failed in the runtime (0 for native evaluation).
  uint64_t predicate_errors() const;

  // Frees partial matches that are past their span at event time `now_ns` (the check when a
  // match would advance is exact either way; this only reclaims memory of keys no event
  // revisits). Callers that skip Process() for events a rule cannot match call it periodically.
  void Expire(int64_t now_ns);
  // Expire() over every partial match, not only up to the first live one in write order (end of
  // input: what has expired by then is counted expired, not held).
  void ExpireAll(int64_t now_ns);

  // Streaming end of input: matches held for a trailing `![..]` complete now; TakeResults()
  // returns them.
  void EndOfInput();

  // Streaming: the results completed since the last call, through the streaming pipes (head,
  // unique). Frees the engine's copies of them.
  std::vector<QueryMatch> TakeResults();
  bool HasPipes() const;
  // The results found so far, before the pipes (a hunt's progress line).
  size_t ResultsSoFar() const;

  const EngineStats& stats() const;

  // State budget (state_budget.h): the engine charges what its partial matches and join/sample
  // keys hold to the domains of `budgets` (nullptr: none) — a sharded sequence each store to its
  // shard's, everything else to the global domain — and what it holds now at once. REQUIRES:
  // `budgets` outlives the engine or is replaced first; the engine never touches it when
  // destroyed (its owner uncharges state_bytes(d) of every domain).
  void UseBudget(StateBudgets* budgets);
  size_t state_bytes() const;
  // What the engine holds in budget domain `d`, the tick of its least recently written partial
  // match or key there (UINT64_MAX: none), and its eviction (counted in stats().evicted_budget).
  size_t state_bytes(uint32_t d);
  uint64_t OldestStateTick(uint32_t d);
  bool EvictOldestState(uint32_t d);
  // Whether the engine keeps its state in the shard domains (an entity-local sequence).
  bool sharded_state() const;

 private:
  class Impl;
  explicit QueryEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::engine
