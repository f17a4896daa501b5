// Evidence; see evidence.h.
#include "kestrel/engine/evidence.h"

#include <cstring>
#include <new>
#include <string>

namespace kestrel::engine {
namespace {

using event::Value;
using event::ValueKind;

// Tags: the value's kind in the low bits, plus these.
constexpr uint8_t kStaticBit = 0x10;  // StaticString / StaticArray: pointer + length
constexpr uint8_t kV4Bit = 0x20;      // kIp: IPv4 (4 bytes)
constexpr uint8_t kTrueBit = 0x40;    // kBool: true
constexpr uint8_t kKindMask = 0x0f;

thread_local int64_t live_count = 0;
thread_local int64_t live_bytes = 0;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed(std::string* out, const void* p, size_t n) {
  out->append(static_cast<const char*>(p), n);
}

// Encodes `v` (tag and payload); adds the arena bytes a decoded copy needs to `*arena`.
void PutValue(std::string* out, const Value& v, size_t* arena) {
  uint8_t tag = static_cast<uint8_t>(v.kind());
  switch (v.kind()) {
    case ValueKind::kNull:
      out->push_back(static_cast<char>(tag));
      break;
    case ValueKind::kBool:
      out->push_back(static_cast<char>(tag | (v.as_bool() ? kTrueBit : 0)));
      break;
    case ValueKind::kInt: {
      out->push_back(static_cast<char>(tag));
      int64_t i = v.as_int();
      PutVarint(out, (static_cast<uint64_t>(i) << 1) ^ static_cast<uint64_t>(i >> 63));
      break;
    }
    case ValueKind::kUint: {
      out->push_back(static_cast<char>(tag));
      uint64_t u = v.as_uint();
      PutFixed(out, &u, 8);
      break;
    }
    case ValueKind::kDouble: {
      out->push_back(static_cast<char>(tag));
      double d = v.as_double();
      PutFixed(out, &d, 8);
      break;
    }
    case ValueKind::kString:
    case ValueKind::kRawJson: {
      std::string_view s = v.as_string();
      if (v.is_static()) {
        out->push_back(static_cast<char>(tag | kStaticBit));
        const char* p = s.data();
        PutFixed(out, &p, sizeof(p));
        PutVarint(out, s.size());
      } else {
        out->push_back(static_cast<char>(tag));
        PutVarint(out, s.size());
        out->append(s);
        *arena += s.size();
      }
      break;
    }
    case ValueKind::kIp: {
      event::IpAddress ip = v.as_ip();
      out->push_back(static_cast<char>(tag | (ip.is_v4 ? kV4Bit : 0)));
      if (ip.is_v4) {
        PutFixed(out, ip.bytes.data() + 12, 4);
      } else {
        PutFixed(out, ip.bytes.data(), 16);
      }
      break;
    }
    case ValueKind::kArray: {
      auto elements = v.as_array();
      if (v.is_static()) {
        out->push_back(static_cast<char>(tag | kStaticBit));
        const Value* p = elements.data();
        PutFixed(out, &p, sizeof(p));
        PutVarint(out, elements.size());
      } else {
        out->push_back(static_cast<char>(tag));
        PutVarint(out, elements.size());
        *arena += sizeof(Value) * elements.size() + alignof(Value);
        for (const Value& e : elements) PutValue(out, e, arena);
      }
      break;
    }
  }
}

// Reads what PutValue wrote (trusted: made by this process). Strings are views of the encoding;
// array elements go to `*elements` (the caller's scratch), whose storage the Value borrows.
class Reader {
 public:
  explicit Reader(const uint8_t* p) : p_(p) {}

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      uint8_t b = *p_++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
  }
  template <typename T>
  T Fixed() {
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }

  // A scalar (never an array: ReadInto handles those).
  Value Scalar(uint8_t tag) {
    switch (static_cast<ValueKind>(tag & kKindMask)) {
      case ValueKind::kNull:
        return Value::Null();
      case ValueKind::kBool:
        return Value::Bool((tag & kTrueBit) != 0);
      case ValueKind::kInt: {
        uint64_t z = Varint();
        return Value::Int(static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1)));
      }
      case ValueKind::kUint:
        return Value::Uint(Fixed<uint64_t>());
      case ValueKind::kDouble:
        return Value::Double(Fixed<double>());
      case ValueKind::kString:
      case ValueKind::kRawJson: {
        std::string_view s;
        if ((tag & kStaticBit) != 0) {
          const char* p = Fixed<const char*>();
          s = std::string_view(p, Varint());
          return Value::StaticString(s);  // kRawJson is never static
        }
        size_t n = Varint();
        s = std::string_view(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return (tag & kKindMask) == static_cast<uint8_t>(ValueKind::kRawJson) ? Value::RawJson(s)
                                                                              : Value::String(s);
      }
      case ValueKind::kIp: {
        event::IpAddress ip;
        if ((tag & kV4Bit) != 0) {
          ip.is_v4 = true;
          ip.bytes[10] = ip.bytes[11] = 0xff;
          std::memcpy(ip.bytes.data() + 12, p_, 4);
          p_ += 4;
        } else {
          std::memcpy(ip.bytes.data(), p_, 16);
          p_ += 16;
        }
        return Value::Ip(ip);
      }
      case ValueKind::kArray:
        break;
    }
    return Value::Null();
  }

  // Reads one field's value into `*out` (copied into its arena).
  void ReadInto(event::FieldId id, event::Event* out, std::vector<Value>* elements) {
    uint8_t tag = *p_++;
    if ((tag & kKindMask) != static_cast<uint8_t>(ValueKind::kArray)) {
      out->Set(id, Scalar(tag));
      return;
    }
    if ((tag & kStaticBit) != 0) {
      const Value* p = Fixed<const Value*>();
      out->SetUnowned(id, Value::StaticArray({p, Varint()}));
      return;
    }
    size_t n = Varint();
    elements->clear();
    for (size_t i = 0; i < n; ++i) elements->push_back(Scalar(*p_++));
    out->SetArray(id, *elements);
  }

 private:
  const uint8_t* p_;
};

}  // namespace

Evidence* Evidence::Create(const event::Event& e, uint64_t index) {
  thread_local std::string scratch;
  scratch.clear();
  size_t arena = 0;
  e.ForEachField([&](const event::Event::Entry& entry) {  // shared blocks' fields too
    PutVarint(&scratch, entry.id.value);
    PutValue(&scratch, entry.value, &arena);
  });
  void* memory = ::operator new(sizeof(Evidence) + scratch.size());
  auto* ev = new (memory) Evidence();
  ev->index_ = index;
  ev->time_ns_ = e.time_ns();
  ev->wall_ns_ = e.wall_ns();
  ev->categories_ = e.categories();
  ev->size_ = static_cast<uint32_t>(scratch.size());
  ev->fields_ = static_cast<uint32_t>(e.field_count());
  ev->arena_bytes_ = static_cast<uint32_t>(arena);
  std::memcpy(ev + 1, scratch.data(), scratch.size());
  ++live_count;
  live_bytes += static_cast<int64_t>(ev->MemoryBytes());
  return ev;
}

void Evidence::Free(Evidence* e) {
  --live_count;
  live_bytes -= static_cast<int64_t>(e->MemoryBytes());
  e->~Evidence();
  ::operator delete(e);
}

int64_t Evidence::Live() { return live_count; }
int64_t Evidence::LiveBytes() { return live_bytes; }

void Evidence::DecodeInto(event::Event* out) const {
  out->Clear();
  out->set_time_ns(time_ns_);
  out->set_wall_ns(wall_ns_);
  for (uint64_t c = categories_; c != 0; c &= c - 1) {
    out->AddCategory(static_cast<schema::CategoryId>(__builtin_ctzll(c)));
  }
  thread_local std::vector<Value> elements;
  Reader in(data());
  for (uint32_t i = 0; i < fields_; ++i) {
    event::FieldId id;
    id.value = static_cast<uint32_t>(in.Varint());
    in.ReadInto(id, out, &elements);
  }
  out->Finish();
}

std::shared_ptr<const event::Event> Evidence::Decode() const {
  auto out = std::make_shared<event::Event>(std::max<size_t>(arena_bytes_, 16));
  DecodeInto(out.get());
  return out;
}

}  // namespace kestrel::engine
