// Value: one field value of an Event, 24 bytes, trivially copyable.
//
// Strings and arrays are borrowed: a Value points into storage it does not own (an Event's
// arena, or static data), so copying a Value is cheap and never allocates; the lifetime of the
// pointed-to bytes is the owner's (see Event). IP addresses are stored inline as 16 bytes
// (IPv4 as IPv4-mapped IPv6 with a flag, so it prints back as dotted quad).
// Tested by event_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kestrel::event {

enum class ValueKind : uint8_t {
  kNull,
  kBool,
  kInt,   // int64
  kUint,  // uint64 above INT64_MAX (smaller unsigned numbers are kInt)
  kDouble,
  kString,  // UTF-8 text
  kIp,
  kArray,    // of Values (never nested arrays: those are kRawJson)
  kRawJson,  // a JSON value kept verbatim (arrays of objects, nested arrays); not queryable
};

struct IpAddress {
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 as ::ffff:a.b.c.d
  bool is_v4 = false;

  static std::optional<IpAddress> Parse(std::string_view text);
  std::string ToString() const;
  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

class Value {
 public:
  constexpr Value() : kind_(ValueKind::kNull), flag_(0), size_(0), u_(0) {}

  static constexpr Value Null() { return Value(); }
  static Value Bool(bool b) {
    Value v(ValueKind::kBool);
    v.u_ = b ? 1 : 0;
    return v;
  }
  static Value Int(int64_t i) {
    Value v(ValueKind::kInt);
    v.i_ = i;
    return v;
  }
  // Unsigned numbers that fit in int64 are stored as kInt, so equal numbers have one kind.
  static Value Uint(uint64_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX)) return Int(static_cast<int64_t>(u));
    Value v(ValueKind::kUint);
    v.u_ = u;
    return v;
  }
  static Value Double(double d) {
    Value v(ValueKind::kDouble);
    v.d_ = d;
    return v;
  }
  // Borrows `s`; REQUIRES: s.size() < 4 GiB and the bytes outlive the Value.
  static Value String(std::string_view s) {
    Value v(ValueKind::kString);
    v.s_ = s.data();
    v.size_ = static_cast<uint32_t>(s.size());
    return v;
  }
  // Borrows `s`, whose bytes live as long as the program (a literal, a table that is never
  // freed): Event copies keep the pointer instead of copying the bytes.
  static Value StaticString(std::string_view s) {
    Value v = String(s);
    v.flag_ = kStatic;
    return v;
  }
  static Value RawJson(std::string_view s) {
    Value v = String(s);
    v.kind_ = ValueKind::kRawJson;
    return v;
  }
  static Value Ip(const IpAddress& ip) {
    Value v(ValueKind::kIp);
    std::memcpy(v.ip_, ip.bytes.data(), 16);
    v.flag_ = ip.is_v4 ? 1 : 0;
    return v;
  }
  // Borrows `elements`, which must not contain arrays.
  static Value Array(std::span<const Value> elements) {
    Value v(ValueKind::kArray);
    v.a_ = elements.data();
    v.size_ = static_cast<uint32_t>(elements.size());
    return v;
  }
  // Borrows `elements` for as long as the program runs; every element is a StaticString (or
  // a scalar). Event copies keep the pointer.
  static Value StaticArray(std::span<const Value> elements) {
    Value v = Array(elements);
    v.flag_ = kStatic;
    return v;
  }

  ValueKind kind() const { return kind_; }
  bool is_null() const { return kind_ == ValueKind::kNull; }

  // Accessors. REQUIRES: kind() is the matching kind.
  bool as_bool() const { return u_ != 0; }
  int64_t as_int() const { return i_; }
  uint64_t as_uint() const { return u_; }
  double as_double() const { return d_; }
  std::string_view as_string() const { return {s_, size_}; }  // kString and kRawJson
  IpAddress as_ip() const {
    IpAddress ip;
    std::memcpy(ip.bytes.data(), ip_, 16);
    ip.is_v4 = flag_ != 0;
    return ip;
  }
  std::span<const Value> as_array() const { return {a_, size_}; }
  // kString/kArray made by StaticString/StaticArray: its bytes are never freed.
  bool is_static() const {
    return flag_ == kStatic && (kind_ == ValueKind::kString || kind_ == ValueKind::kArray);
  }

  // Structural equality (same kind and contents; strings by bytes).
  friend bool operator==(const Value& a, const Value& b);

 private:
  explicit constexpr Value(ValueKind k) : kind_(k), flag_(0), size_(0), u_(0) {}
  static constexpr uint8_t kStatic = 2;

  ValueKind kind_;
  uint8_t flag_;   // kIp: is_v4; kString/kArray: kStatic (StaticString, StaticArray)
  uint32_t size_;  // kString/kRawJson: bytes; kArray: elements
  union {
    uint64_t u_;
    int64_t i_;
    double d_;
    const char* s_;
    const Value* a_;
    uint8_t ip_[16];
  };
};

static_assert(sizeof(Value) == 24);

}  // namespace kestrel::event
