// StringArena implementation; see arena.h. Tested by arena_test.cc.
#include "kestrel/base/arena.h"

#include <algorithm>

namespace kestrel::base {

bool StringArena::TryBlock(size_t index, size_t size, size_t align, void** out) {
  Block& b = blocks_[index];
  size_t start = index == current_ ? offset_ : 0;
  uintptr_t base = reinterpret_cast<uintptr_t>(b.data.get());
  uintptr_t aligned = (base + start + (align - 1)) & ~(uintptr_t{align} - 1);
  size_t new_offset = aligned - base + size;
  if (new_offset > b.size) return false;
  current_ = index;
  offset_ = new_offset;
  *out = reinterpret_cast<void*>(aligned);
  return true;
}

void* StringArena::Allocate(size_t size, size_t align) {
  void* out = nullptr;
  // The current block, then any later kept block large enough (blocks are reused in order).
  for (size_t i = current_; i < blocks_.size(); ++i) {
    if (TryBlock(i, size, align, &out)) return out;
  }
  size_t block = std::max(block_size_, size + align);
  blocks_.push_back(Block{std::make_unique_for_overwrite<std::byte[]>(block), block});
  capacity_ += block;
  ++block_allocations_;
  TryBlock(blocks_.size() - 1, size, align, &out);
  return out;
}

void StringArena::Reset() {
  current_ = 0;
  offset_ = 0;
}

}  // namespace kestrel::base
