// Entity routing: which process an event belongs to, which rules keep state about one process
// only, and the state shard of an event.
//
// An event's process is the value of the first routing field it has (`unique_pid`, then
// `process.entity_id`; RouteFields); events without one belong to no process and go to shard 0.
// Its shard is a hash of that value modulo kStateShards: a fixed number, the same for every
// Detector and every number of bus workers, so that each shard sees the same events in the same
// order whoever runs it.
//
// A rule is entity-local when every match of it involves the events of one process only:
// single-event queries without pipes or lineage relations, and sequences without pipes,
// relations or missing-event stages whose every stage (and `until`) is joined on a routing
// field. Joins and samples are not (they run with all events on one thread). The bus runs
// entity-local rules on every worker, each worker getting the events of the shards
// `shard % workers == worker`; a Detector keeps an entity-local sequence's partial matches in
// kStateShards stores, one per shard, each with its share of the rule's quota
// (StateShardLimits), so that quota evictions are the same with one thread or N.
// Thread safety: pure functions. Tested by detector_test.cc and bus/parallel_detector_test.cc.
#pragma once

#include <cstdint>
#include <vector>

#include "kestrel/engine/state_store.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::engine {

inline constexpr uint32_t kStateShards = 64;

// The routing fields the schema has, in order of preference.
std::vector<schema::FieldId> RouteFields(const schema::Schema& schema);

// The shard of `e` (0 .. kStateShards - 1).
uint32_t StateShard(const event::Event& e, const std::vector<schema::FieldId>& route_fields);

// Whether every match of `p` involves events of one process only (see above).
bool EntityLocal(const eql::IrProgram& p, const std::vector<schema::FieldId>& route_fields);

// One shard's quota: the rule's quota split over kStateShards, rounded up (at least 1).
StateLimits StateShardLimits(StateLimits rule_limits);

}  // namespace kestrel::engine
