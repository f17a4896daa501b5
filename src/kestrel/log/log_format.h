// The binary event log format (`.klog`), version 1: constants, the metadata a log carries, and
// the little-endian / varint primitives its writer and reader share. docs/log-format.md is the
// specification; this header and that document change together.
//
// Layout: a file header, then self-contained blocks (a 64-byte block header and a zstd payload
// of length-prefixed event records), then a footer with counts. Every block declares the fields
// and categories its records use, so a reader can start at any block (resynchronisation after
// damage, seeking by time) without reading anything before it.
// Tested by log_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace kestrel::log {

inline constexpr char kFileMagic[8] = {'K', 'E', 'S', 'T', 'R', 'L', 'O', 'G'};
inline constexpr char kEndMagic[8] = {'K', 'E', 'S', 'T', 'R', 'E', 'N', 'D'};
inline constexpr char kBlockMagic[4] = {'K', 'B', 'L', 'K'};
inline constexpr char kFooterMagic[4] = {'K', 'F', 'T', 'R'};

// The version this code writes, and the newest it reads. A log names the oldest reader version
// that can read it; a reader refuses logs whose minimum is newer than kFormatVersion.
inline constexpr uint16_t kFormatVersion = 1;
inline constexpr uint16_t kMinReaderVersion = 1;

inline constexpr size_t kFileHeaderFixed = 16;  // magic, version, min reader, body length
inline constexpr size_t kBlockHeaderSize = 64;
inline constexpr size_t kTrailerSize = 16;  // footer offset + kEndMagic

// Limits a reader enforces before trusting any length (hostile input).
inline constexpr uint32_t kMaxHeaderBody = 1 << 20;
inline constexpr uint32_t kMaxBlockBytes = 64 << 20;  // compressed and raw payload
inline constexpr uint32_t kMaxFooterBody = 16 << 20;

enum class Codec : uint8_t { kNone = 0, kZstd = 1 };

// Value tags of the record encoding.
enum class Tag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,         // zigzag varint
  kUint = 4,        // varint (values above INT64_MAX)
  kDouble = 5,      // 8 bytes, IEEE 754 little-endian
  kString = 6,      // varint length + UTF-8 bytes
  kIp4 = 7,         // 4 bytes, network order
  kIp6 = 8,         // 16 bytes, network order
  kArray = 9,       // varint count + that many tagged values (no arrays inside)
  kRawJson = 10,    // varint length + JSON text
  kIntDelta = 11,   // zigzag varint: the difference from this field's previous integer in the block
  kStringRef = 12,  // varint n: the n-th (from 0) indexed kString of this block, again
};

// Every kString value at least this long (in a field or an array) gets the next string index of
// its block, counted from 0 by writer and reader alike; a later equal string is a kStringRef.
inline constexpr size_t kMinIndexedString = 4;

// What a log says about where its events came from (the file header).
struct LogMetadata {
  std::string kestrel_version;  // of the writer
  std::string host_name;        // of the recording machine
  std::string boot_id;          // /proc/sys/kernel/random/boot_id, or empty
  // Wall-clock nanoseconds at the origin of the events' monotonic clock (0 when the events'
  // times are already wall-clock times, as for NDJSON input).
  int64_t clock_origin_ns = 0;
};

// The block header, decoded.
struct BlockHeader {
  Codec codec = Codec::kZstd;
  uint32_t compressed_len = 0;
  uint32_t raw_len = 0;
  uint32_t event_count = 0;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  uint64_t first_event = 0;   // events in the file before this block
  uint64_t payload_hash = 0;  // XXH64 (seed 0) of the stored payload bytes
};

// xxHash64 of the compiled-in ECS catalogue (names, types, array flags): written in the header so
// a reader can tell whether the writer's catalogue was its own. Blocks name every field they use,
// so a different catalogue never stops a log from being read.
uint64_t CatalogueHash();

// --- byte primitives (little-endian) --------------------------------------------------------

inline void PutU16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out->append(b, 2);
}
inline void PutU32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 4);
}
inline void PutU64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out->append(b, 8);
}
inline void PutVarint(std::string* out, uint64_t v) {
  if (v < 0x80) {
    out->push_back(static_cast<char>(v));
    return;
  }
  char b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  b[n++] = static_cast<char>(v);
  out->append(b, n);
}
inline uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}
inline void PutSigned(std::string* out, int64_t v) { PutVarint(out, ZigZag(v)); }
inline void PutBytes(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

inline uint16_t LoadU16(const char* p) {
  return static_cast<uint16_t>(static_cast<uint8_t>(p[0]) | (static_cast<uint8_t>(p[1]) << 8));
}
inline uint32_t LoadU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t LoadU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// A bounds-checked cursor over untrusted bytes. Every read fails (returns false and sets
// failed()) rather than reading past the end; once failed, all later reads fail.
class ByteReader {
 public:
  ByteReader(const char* data, size_t size) : p_(data), end_(data + size) {}
  explicit ByteReader(std::string_view s) : ByteReader(s.data(), s.size()) {}

  bool Varint(uint64_t* v) {
    if (p_ != end_ && static_cast<uint8_t>(*p_) < 0x80) {  // one byte: most ids, tags, lengths
      *v = static_cast<uint8_t>(*p_++);
      return true;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return Fail();
      uint8_t b = static_cast<uint8_t>(*p_++);
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        *v = result;
        return true;
      }
    }
    return Fail();  // more than 10 bytes
  }
  bool Signed(int64_t* v) {
    uint64_t u;
    if (!Varint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }
  bool Byte(uint8_t* v) {
    if (p_ == end_) return Fail();
    *v = static_cast<uint8_t>(*p_++);
    return true;
  }
  bool Fixed(void* out, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return Fail();
    std::memcpy(out, p_, n);
    p_ += n;
    return true;
  }
  bool U64(uint64_t* v) {
    if (end_ - p_ < 8) return Fail();
    *v = LoadU64(p_);
    p_ += 8;
    return true;
  }
  // A varint length then that many bytes, borrowed from the input.
  bool Bytes(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n)) return false;
    return Take(n, s);
  }
  bool Take(uint64_t n, std::string_view* s) {
    if (static_cast<uint64_t>(end_ - p_) < n) return Fail();
    *s = std::string_view(p_, n);
    p_ += n;
    return true;
  }

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool failed() const { return failed_; }

 private:
  bool Fail() {
    failed_ = true;
    p_ = end_;
    return false;
  }

  const char* p_;
  const char* end_;
  bool failed_ = false;
};

}  // namespace kestrel::log
