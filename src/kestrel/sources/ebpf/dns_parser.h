// A strict, bounded parser of the first question of a DNS query (RFC 1035 section 4.1), for the
// datagrams the live collector copies from UDP sends to port 53 (at most KESTREL_DNS_PAYLOAD_MAX
// bytes, bpf/kestrel_records.h).
//
// Accepted: a 12-byte header with QR = 0 (a query), opcode 0 (standard query), QDCOUNT >= 1, then
// a name of labels of 1..63 bytes each, printable ASCII (0x21..0x7e) other than '.', ending in a
// zero-length label, at most 253 bytes written with dots (the root alone is "."), then QTYPE and
// QCLASS. Refused, with the reason: anything shorter, a response, another opcode, no question, a
// compression pointer (nothing precedes the first question for it to point to) or an extended
// label type, a label or name over its limit, a byte outside the printable range. The parser reads
// every byte at most once and writes only into DnsQuery (no allocation): any input, of any size,
// is safe to give it (fuzz/dns_query_fuzz.cc).
// Thread safety: pure functions. Tested by dns_parser_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace kestrel::sources::ebpf {

inline constexpr size_t kDnsMaxName = 253;

struct DnsQuery {
  uint16_t id = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t name_len = 0;
  char name[kDnsMaxName + 1] = {};  // written with dots, no trailing dot

  std::string_view question_name() const { return {name, name_len}; }
};

// Parses `payload`; false (and `*why`, a static string) when it is not a well-formed query.
bool ParseDnsQuery(std::span<const uint8_t> payload, DnsQuery* out, std::string_view* why);

// The mnemonic of a query type ("A", "AAAA", "MX", ...) or "" for one this table lacks.
std::string_view DnsTypeName(uint16_t qtype);

}  // namespace kestrel::sources::ebpf
