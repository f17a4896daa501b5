// The DNS query parser; see dns_parser.h.
#include "kestrel/sources/ebpf/dns_parser.h"

namespace kestrel::sources::ebpf {
namespace {

constexpr size_t kHeader = 12;
constexpr size_t kMaxLabel = 63;

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

}  // namespace

bool ParseDnsQuery(std::span<const uint8_t> payload, DnsQuery* out, std::string_view* why) {
  out->name_len = 0;
  if (payload.size() < kHeader) {
    *why = "shorter than a DNS header";
    return false;
  }
  const uint8_t* p = payload.data();
  const uint16_t flags = Be16(p + 2);
  if ((flags & 0x8000) != 0) {
    *why = "a response, not a query";
    return false;
  }
  if (((flags >> 11) & 0xf) != 0) {
    *why = "not a standard query (opcode)";
    return false;
  }
  if (Be16(p + 4) == 0) {
    *why = "no question";
    return false;
  }
  out->id = Be16(p);
  size_t pos = kHeader;
  size_t len = 0;  // bytes written to out->name
  while (true) {
    if (pos >= payload.size()) {
      *why = "name truncated";
      return false;
    }
    const uint8_t label = p[pos++];
    if (label == 0) break;
    if ((label & 0xc0) == 0xc0) {
      *why = "compression pointer in the first question";
      return false;
    }
    if (label > kMaxLabel) {
      *why = "extended label type or label over 63 bytes";
      return false;
    }
    if (payload.size() - pos < label) {
      *why = "name truncated";
      return false;
    }
    if (len + (len != 0 ? 1 : 0) + label > kDnsMaxName) {
      *why = "name over 253 bytes";
      return false;
    }
    if (len != 0) out->name[len++] = '.';
    for (size_t i = 0; i < label; ++i) {
      const uint8_t c = p[pos + i];
      if (c < 0x21 || c > 0x7e || c == '.') {
        *why = "unprintable byte or dot in a label";
        return false;
      }
      out->name[len++] = static_cast<char>(c);
    }
    pos += label;
  }
  if (payload.size() - pos < 4) {
    *why = "question truncated (type, class)";
    return false;
  }
  if (len == 0) out->name[len++] = '.';  // the root
  out->name[len] = '\0';
  out->name_len = static_cast<uint8_t>(len);
  out->qtype = Be16(p + pos);
  out->qclass = Be16(p + pos + 2);
  return true;
}

std::string_view DnsTypeName(uint16_t qtype) {
  switch (qtype) {
    case 1:
      return "A";
    case 2:
      return "NS";
    case 5:
      return "CNAME";
    case 6:
      return "SOA";
    case 12:
      return "PTR";
    case 13:
      return "HINFO";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 28:
      return "AAAA";
    case 29:
      return "LOC";
    case 33:
      return "SRV";
    case 35:
      return "NAPTR";
    case 43:
      return "DS";
    case 46:
      return "RRSIG";
    case 47:
      return "NSEC";
    case 48:
      return "DNSKEY";
    case 52:
      return "TLSA";
    case 64:
      return "SVCB";
    case 65:
      return "HTTPS";
    case 99:
      return "SPF";
    case 252:
      return "AXFR";
    case 255:
      return "ANY";
    case 257:
      return "CAA";
    default:
      return {};
  }
}

}  // namespace kestrel::sources::ebpf
