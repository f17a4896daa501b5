// Value and IpAddress; see value.h. Tested by event_test.cc.
#include "kestrel/event/value.h"

#include <arpa/inet.h>

namespace kestrel::event {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  unsigned char v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    ip.bytes[10] = 0xff;
    ip.bytes[11] = 0xff;
    std::memcpy(&ip.bytes[12], v4, 4);
    ip.is_v4 = true;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) return ip;
  return std::nullopt;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  const char* r = is_v4 ? inet_ntop(AF_INET, &bytes[12], buf, sizeof(buf))
                        : inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf));
  return r != nullptr ? std::string(r) : std::string();
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case ValueKind::kNull:
      return true;
    case ValueKind::kBool:
      return a.as_bool() == b.as_bool();
    case ValueKind::kInt:
      return a.i_ == b.i_;
    case ValueKind::kUint:
      return a.u_ == b.u_;
    case ValueKind::kDouble:
      return a.d_ == b.d_;
    case ValueKind::kString:
    case ValueKind::kRawJson:
      return a.as_string() == b.as_string();
    case ValueKind::kIp:
      return a.as_ip() == b.as_ip();
    case ValueKind::kArray: {
      auto x = a.as_array(), y = b.as_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!(x[i] == y[i])) return false;
      }
      return true;
    }
  }
  return false;
}

}  // namespace kestrel::event
