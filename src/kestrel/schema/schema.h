// Schema: the set of fields and event categories one Kestrel process knows.
//
// It starts with the compiled-in ECS catalogue (field.h) and grows at run time: a field name met
// in input or in a rule that is not in the catalogue is interned with a dynamic FieldId and the
// type inferred from its first value, so queries on any field work (the EQL conformance data uses
// names such as `process_name`). Growth has a budget (kMaxFields); past it Intern() fails with
// RESOURCE_EXHAUSTED and the caller counts and drops the field.
//
// Event categories (`process`, `file`, `network`, ...: ECS event.category values, or Endgame's
// event_type) get small CategoryIds used as bits of Event::categories(); at most kMaxCategories,
// the last of which, kOtherCategory, collects every category past the budget.
//
// Thread safety: every method is safe to call concurrently. Field() and Category-name reads are
// lock-free (entries are never moved or changed once published); Find()/Intern() of dynamic names
// take a mutex, so hot paths cache ids (the JSON decoder keeps its own key trie).
// Tested by schema_test.cc.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/base/string_map.h"
#include "kestrel/schema/field.h"

namespace kestrel::schema {

struct FieldInfo {
  std::string_view name;  // owned by the Schema (or static for catalogue fields)
  FieldType type = FieldType::kKeyword;
  bool is_array = false;
  bool dynamic = false;  // not from the catalogue
};

using CategoryId = uint8_t;

class Schema {
 public:
  static constexpr size_t kMaxFields = 1 << 16;
  static constexpr size_t kMaxCategories = 64;
  static constexpr CategoryId kOtherCategory = kMaxCategories - 1;

  Schema();
  Schema(const Schema&) = delete;
  Schema& operator=(const Schema&) = delete;
  ~Schema();

  // The id of `name` if it is known (catalogue or interned).
  std::optional<FieldId> Find(std::string_view name) const;

  // The id of `name`, interning it as a dynamic field of `type` if it is new.
  // Errors: INVALID_ARGUMENT for an empty name; RESOURCE_EXHAUSTED past kMaxFields.
  absl::StatusOr<FieldId> Intern(std::string_view name, FieldType type, bool is_array);

  // REQUIRES: `id` was returned by this schema.
  const FieldInfo& Info(FieldId id) const {
    return chunks_[id.value / kChunkSize].load(std::memory_order_acquire)[id.value % kChunkSize];
  }

  size_t field_count() const { return size_.load(std::memory_order_acquire); }

  // The catalogue names closest to `name` by edit distance (for "did you mean" hints), best first.
  std::vector<std::string_view> Suggest(std::string_view name, size_t max_results = 1) const;

  // The ECS event.category values (ids 0..n-1 in every process, in this order).
  static std::span<const std::string_view> StandardCategories();
  // Category ids. Names are matched exactly (ECS values are lowercase).
  std::optional<CategoryId> FindCategory(std::string_view name) const;
  // New names get the next id; past the budget, kOtherCategory.
  CategoryId InternCategory(std::string_view name);
  std::string_view CategoryName(CategoryId id) const;

 private:
  static constexpr size_t kChunkSize = 1024;
  static constexpr size_t kMaxChunks = kMaxFields / kChunkSize;

  // Publishes `info` as the next id. REQUIRES: mu_ held.
  FieldId Append(const FieldInfo& info);

  std::unique_ptr<std::atomic<FieldInfo*>[]> chunks_;  // kMaxChunks slots, filled lazily
  std::atomic<size_t> size_{0};

  // Constant after construction: catalogue names (static storage) to ids.
  base::StringViewMap<FieldId> catalogue_;

  mutable std::mutex mu_;
  base::StringMap<FieldId> dynamic_;                        // guarded by mu_
  std::deque<std::string> dynamic_names_;                   // guarded by mu_; stable addresses
  std::vector<std::unique_ptr<FieldInfo[]>> owned_chunks_;  // guarded by mu_

  std::array<std::atomic<const std::string*>, kMaxCategories> category_names_{};
  std::deque<std::string> category_storage_;  // guarded by mu_
  base::StringMap<CategoryId> categories_;    // guarded by mu_
};

}  // namespace kestrel::schema
