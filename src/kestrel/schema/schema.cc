// Schema implementation; see schema.h. Tested by schema_test.cc.
#include "kestrel/schema/schema.h"

#include <algorithm>

#include <fmt/format.h>
#include "absl/status/status.h"
#include "kestrel/base/suggest.h"

namespace kestrel::schema {
namespace {

// ECS event.category values, registered first so their ids are the same in every process.
constexpr std::string_view kStandardCategories[] = {
    "process", "file",   "network", "dns",           "registry", "library", "authentication",
    "session", "host",   "iam",     "configuration", "driver",   "package", "intrusion_detection",
    "malware", "threat", "web",     "database",      "api",      "email",   "vulnerability",
};

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kKeyword:
      return "keyword";
    case FieldType::kLong:
      return "long";
    case FieldType::kUnsigned:
      return "unsigned_long";
    case FieldType::kDouble:
      return "double";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kIp:
      return "ip";
    case FieldType::kDate:
      return "date";
  }
  return "unknown";
}

Schema::Schema() : chunks_(new std::atomic<FieldInfo*>[kMaxChunks]) {
  for (size_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  catalogue_.reserve(kEcsCatalogueSize);
  for (const CatalogueEntry& e : kEcsCatalogue) {
    FieldId id = Append(FieldInfo{e.name, e.type, e.is_array, false});
    catalogue_.emplace(e.name, id);
  }
  for (std::string_view c : kStandardCategories) {
    category_storage_.emplace_back(c);
    CategoryId id = static_cast<CategoryId>(categories_.size());
    categories_.emplace(c, id);
    category_names_[id].store(&category_storage_.back(), std::memory_order_release);
  }
  category_storage_.emplace_back("other");
  category_names_[kOtherCategory].store(&category_storage_.back(), std::memory_order_release);
}

Schema::~Schema() = default;

FieldId Schema::Append(const FieldInfo& info) {
  size_t n = size_.load(std::memory_order_relaxed);
  size_t chunk = n / kChunkSize;
  FieldInfo* slots = chunks_[chunk].load(std::memory_order_relaxed);
  if (slots == nullptr) {
    owned_chunks_.push_back(std::make_unique<FieldInfo[]>(kChunkSize));
    slots = owned_chunks_.back().get();
    chunks_[chunk].store(slots, std::memory_order_release);
  }
  slots[n % kChunkSize] = info;
  size_.store(n + 1, std::memory_order_release);
  return FieldId{static_cast<uint32_t>(n)};
}

std::optional<FieldId> Schema::Find(std::string_view name) const {
  if (auto it = catalogue_.find(name); it != catalogue_.end()) return it->second;
  std::lock_guard lock(mu_);
  if (auto it = dynamic_.find(name); it != dynamic_.end()) return it->second;
  return std::nullopt;
}

absl::StatusOr<FieldId> Schema::Intern(std::string_view name, FieldType type, bool is_array) {
  if (name.empty()) return absl::InvalidArgumentError("empty field name");
  if (auto it = catalogue_.find(name); it != catalogue_.end()) return it->second;
  std::lock_guard lock(mu_);
  if (auto it = dynamic_.find(name); it != dynamic_.end()) return it->second;
  if (size_.load(std::memory_order_relaxed) >= kMaxFields) {
    return absl::ResourceExhaustedError(
        fmt::format("field budget of {} fields exhausted; dropping field '{}'", kMaxFields,
                    name.substr(0, 200)));
  }
  const std::string& stored = dynamic_names_.emplace_back(name);
  FieldId id = Append(FieldInfo{stored, type, is_array, true});
  dynamic_.emplace(stored, id);
  return id;
}

std::vector<std::string_view> Schema::Suggest(std::string_view name, size_t max_results) const {
  // Only suggest names that are plausibly a typo: at most a third of the name's length away.
  size_t limit = std::max<size_t>(2, name.size() / 3);
  std::vector<std::pair<size_t, std::string_view>> scored;
  for (const CatalogueEntry& e : kEcsCatalogue) {
    // The distance is at least the difference in length: names further off than `limit` that
    // way are never suggested, so their distance is not computed (a rule set with many unknown
    // fields spent most of its analysis here).
    size_t gap =
        e.name.size() > name.size() ? e.name.size() - name.size() : name.size() - e.name.size();
    if (gap > limit) continue;
    scored.emplace_back(base::EditDistance(name, e.name), e.name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string_view> out;
  for (const auto& [distance, candidate] : scored) {
    if (out.size() >= max_results || distance > limit) break;
    out.push_back(candidate);
  }
  return out;
}

std::span<const std::string_view> Schema::StandardCategories() { return kStandardCategories; }

std::optional<CategoryId> Schema::FindCategory(std::string_view name) const {
  std::lock_guard lock(mu_);
  if (auto it = categories_.find(name); it != categories_.end()) return it->second;
  return std::nullopt;
}

CategoryId Schema::InternCategory(std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto it = categories_.find(name); it != categories_.end()) return it->second;
  if (categories_.size() >= kOtherCategory) return kOtherCategory;
  CategoryId id = static_cast<CategoryId>(categories_.size());
  category_storage_.emplace_back(name);
  categories_.emplace(category_storage_.back(), id);
  category_names_[id].store(&category_storage_.back(), std::memory_order_release);
  return id;
}

std::string_view Schema::CategoryName(CategoryId id) const {
  if (id >= kMaxCategories) return "other";
  const std::string* name = category_names_[id].load(std::memory_order_acquire);
  return name != nullptr ? std::string_view(*name) : std::string_view("other");
}

}  // namespace kestrel::schema
