// Evidence: an event kept by sequence state (a stage a partial match has matched, a complete
// match awaiting a trailing `![..]`), stored once in a compact encoding and shared, reference
// counted, by every partial match of every rule of a Detector that refers to it; freed when the
// last reference goes. A complete match decodes its evidence back into Events (Decode) for the
// alert, which then prints byte for byte what the original event would have.
//
// Encoding (in memory only, never written or read from outside the process; the encoder is the
// only producer, so the decoder trusts it): a fixed header (caller's index, both clocks, the
// categories, sizes), then one record per field in FieldId order, as the binary log's records do
// (log/record_codec.h) but self-contained (no per-block string table or integer deltas):
//   varint field id, one tag byte (the value's kind; for IPs, whether IPv4)
//   int: zigzag varint;  uint, double: 8 bytes;  bool: in the tag;  null: nothing
//   string, raw JSON: varint length + bytes;  IPv4: 4 bytes, IPv6: 16 bytes
//   array: varint count + the elements (tag + payload each)
//   StaticString / StaticArray (bytes that live as long as the program, decision 44): the
//   pointer and length, 8 + varint bytes, borrowed again by the decoded event.
// An ECS process-start event of ~30 fields (bench BM_SequencePartials100k): ~1.6 KB as an Event
// copy, ~0.5 KB here (docs/benchmarks.md).
//
// Thread safety: reference counts are not atomic. Evidence belongs to the thread running the
// Detector that made it; an engine handed to another thread (hot reload) goes with all the
// engines it shares evidence with, through a synchronising hand-over. Tested by
// state_store_test.cc (Evidence*).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "kestrel/engine/join_key.h"
#include "kestrel/event/event.h"

namespace kestrel::engine {

class Evidence {
 public:
  // Encodes `e` (Finish()ed) with the caller's `index`: one heap allocation of exactly its size.
  // The result has one reference (EvidenceRef::Adopt takes it).
  static Evidence* Create(const event::Event& e, uint64_t index);

  uint64_t index() const { return index_; }
  int64_t time_ns() const { return time_ns_; }
  // Bytes held: the header and the encoding (what one copy of the evidence costs).
  size_t MemoryBytes() const { return sizeof(Evidence) + size_; }
  uint32_t refs() const { return refs_; }

  // A fresh Event equal to the encoded one: the same fields in the same order, the same values
  // and kinds (static values borrowed again), times and categories.
  std::shared_ptr<const event::Event> Decode() const;
  void DecodeInto(event::Event* out) const;

  void Ref() { ++refs_; }
  void Unref() {
    if (--refs_ == 0) Free(this);
  }

  // Evidence records made and not yet freed by this thread, and their bytes (tests, benchmarks).
  static int64_t Live();
  static int64_t LiveBytes();

 private:
  Evidence() = default;
  static void Free(Evidence* e);
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(this + 1); }

  uint64_t index_ = 0;
  int64_t time_ns_ = 0;
  int64_t wall_ns_ = 0;
  uint64_t categories_ = 0;
  uint32_t size_ = 0;         // encoded bytes after the header
  uint32_t refs_ = 1;         // references held
  uint32_t fields_ = 0;       // entries of the event
  uint32_t arena_bytes_ = 0;  // arena bytes a decoded copy needs
};

// One counted reference to an Evidence (nullptr allowed). 8 bytes.
class EvidenceRef {
 public:
  EvidenceRef() = default;
  // Takes the reference `e` comes with (Evidence::Create).
  static EvidenceRef Adopt(Evidence* e) {
    EvidenceRef r;
    r.p_ = e;
    return r;
  }
  EvidenceRef(const EvidenceRef& o) : p_(o.p_) {
    if (p_ != nullptr) p_->Ref();
  }
  EvidenceRef(EvidenceRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  EvidenceRef& operator=(const EvidenceRef& o) {
    EvidenceRef copy(o);
    std::swap(p_, copy.p_);
    return *this;
  }
  EvidenceRef& operator=(EvidenceRef&& o) noexcept {
    EvidenceRef gone(std::move(*this));
    p_ = std::exchange(o.p_, nullptr);
    return *this;
  }
  ~EvidenceRef() {
    if (p_ != nullptr) p_->Unref();
  }

  void reset() { *this = EvidenceRef(); }
  const Evidence* get() const { return p_; }
  const Evidence* operator->() const { return p_; }
  const Evidence& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  Evidence* p_ = nullptr;
};

// The event being processed, kept at most once however many engines keep it: a full copy (for
// results) and the compact form (for sequence state), each made by the first engine that needs
// it. The owner (a Detector) resets both before each event.
// The event's join keys (join_key.h) are kept the same way, built once for all the engines.
struct CurrentEvidence {
  std::shared_ptr<const event::Event> copy;
  EvidenceRef encoded;
  JoinKeyCache keys;
  void Reset() {
    copy.reset();
    encoded.reset();
    keys.Reset();
  }
};

}  // namespace kestrel::engine
