// StringArena: bump allocator for the bytes an Event owns (strings, array elements).
//
// Memory comes in blocks that are kept across Reset(), so an arena reused for one event after
// another stops allocating once it has grown to the largest event seen (steady state: no heap
// allocation per event). A request larger than the block size gets a block of its own, which is
// also kept and reused. Pointers handed out stay valid until the next Reset() or destruction.
//
// Thread safety: none; an arena belongs to one Event.
// Tested by arena_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace kestrel::base {

class StringArena {
 public:
  static constexpr size_t kDefaultBlockSize = 4096;

  explicit StringArena(size_t block_size = kDefaultBlockSize) : block_size_(block_size) {}
  StringArena(const StringArena&) = delete;
  StringArena& operator=(const StringArena&) = delete;
  StringArena(StringArena&&) noexcept = default;
  StringArena& operator=(StringArena&&) noexcept = default;

  // Returns `size` bytes aligned to `align` (a power of two, at most 16).
  void* Allocate(size_t size, size_t align = 1);

  // Copies `s` into the arena and returns a view of the copy.
  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(Allocate(s.size()));
    __builtin_memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Hints the CPU to load the bytes in use in the first block.
  void Prefetch() const {
    if (blocks_.empty()) return;
    const std::byte* p = blocks_[0].data.get();
    size_t used = current_ == 0 ? offset_ : blocks_[0].size;
    for (size_t off = 0; off < used; off += 64) __builtin_prefetch(p + off);
  }

  // Forgets every allocation but keeps the blocks for reuse.
  void Reset();

  // Bytes held in blocks (capacity, not use).
  size_t capacity() const { return capacity_; }
  // Number of heap allocations made so far (for tests and benchmarks of steady state).
  size_t block_allocations() const { return block_allocations_; }

 private:
  struct Block {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };

  bool TryBlock(size_t index, size_t size, size_t align, void** out);

  size_t block_size_;
  std::vector<Block> blocks_;
  size_t current_ = 0;  // index of the block being filled
  size_t offset_ = 0;   // bytes used in blocks_[current_]
  size_t capacity_ = 0;
  size_t block_allocations_ = 0;
};

}  // namespace kestrel::base
