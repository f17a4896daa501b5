// The one declaration of what the live collector emits: per kind of event the decoder makes, its
// event.category, event.type values, event.action and the fields it fills, plus the fields every
// live event carries. Three users read it and nothing else:
//   - the decoder (decoder.cc) takes each event's category/type/action and its constant fields
//     from here (RecordDecoder picks the EmittedKind of a record; it never spells those values);
//   - docs/collection.md's "Declared events" section is EmittedEventsMarkdown(), checked by
//     emitted_test.cc (KESTREL_WRITE_DOCS=1 rewrites it);
//   - `kestrel check --live-coverage` (cli, via rules/live_coverage.h) decides from it whether a
//     rule can ever fire on live events.
// emitted_test.cc decodes a synthetic record of every kind and checks that the fields present are
// exactly the ones declared here, so the declaration cannot drift from the decoder.
//
// Extending: add an EmittedKindId before kCount, a row to kEmittedKinds (same order; a
// static_assert checks it), field arrays for what the kind fills beyond the common and process
// groups (with kProcessFullFields for a process event), the decoding in decoder.cc, and a
// record of the kind in emitted_test.cc.
// Constant data; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kestrel::sources::ebpf {

enum class EmittedKindId : uint8_t {
  kExec,
  kFork,
  kExit,
  kAlreadyRunning,
  kFileCreate,
  kFileModify,
  kFileOpen,
  kFileDelete,
  kFileRename,
  kFileChmod,
  kFileChown,
  kConnect,
  kAccept,
  kBind,
  kPtrace,
  kMemfdCreate,
  kLoadModule,
  kUidChange,
  kGidChange,
  kSessionIdChange,
  kCount,
};

using FieldList = std::span<const std::string_view>;

struct ConstantField {
  std::string_view name;
  std::string_view value;
};

struct EmittedKind {
  EmittedKindId id;
  std::string_view name;      // the row's name in docs/collection.md, e.g. "exec"
  std::string_view category;  // event.category (one value)
  FieldList types;            // event.type values
  std::string_view action;    // event.action
  // Fields beyond kCommonFields, as lists (kProcessFields, a kind's own list, ...); a field is
  // declared when the decoder fills it whenever the data exists (a parent in the table, a
  // terminal, a file extension), never for only part of the kind's events by design.
  std::array<FieldList, 3> fields;
};

// Every live event: event.{category,type,action}, the constant fields below, host.* and agent.*
// (host_identity.h; a value the machine does not have, e.g. no address, is left out).
extern const FieldList kCommonFields;
// Constant on every live event (also in kCommonFields).
extern const std::span<const ConstantField> kConstantFields;
// The acting process (decoder.cc SetProcess): every kind of event carries them (its parent in
// full, its session, group and entry leaders by pid and entity id).
extern const FieldList kProcessFields;
// What process events carry beyond kProcessFields, as Elastic Defend's do: process.env_vars,
// the capabilities and the session, group and entry leaders in full (with entry_meta). A kind lists
// it in `fields`.
extern const FieldList kProcessFullFields;
// Whether `kind` lists kProcessFullFields (the decoder fills them exactly then).
bool CarriesFullProcess(const EmittedKind& kind);

// Indexed by EmittedKindId.
extern const std::span<const EmittedKind> kEmittedKinds;

inline const EmittedKind& Kind(EmittedKindId id) { return kEmittedKinds[static_cast<size_t>(id)]; }

// Every field of `kind`: the common fields, then its lists, in declaration order (no duplicates).
std::vector<std::string_view> KindFields(const EmittedKind& kind);

// The Markdown of docs/collection.md's "Declared events" section, between its markers.
std::string EmittedEventsMarkdown();

}  // namespace kestrel::sources::ebpf
