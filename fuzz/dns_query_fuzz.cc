// Fuzz target for the DNS query parser of the live collector (sources/ebpf/dns_parser.h), with
// its contract as properties: a parsed name is 1..253 printable bytes, with no empty label, and
// re-encoding it gives back the question's wire form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "kestrel/sources/ebpf/dns_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kestrel::sources::ebpf::DnsQuery;
  DnsQuery q;
  std::string_view why;
  if (!kestrel::sources::ebpf::ParseDnsQuery(std::span<const uint8_t>(data, size), &q, &why)) {
    if (why.empty()) std::abort();  // a refusal always has its reason
    return 0;
  }
  std::string_view name = q.question_name();
  if (name.empty() || name.size() > kestrel::sources::ebpf::kDnsMaxName) std::abort();
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) std::abort();
  }
  if (name == ".") return 0;
  // Re-encode: labels between dots, each 1..63 bytes, must equal the input from offset 12.
  std::vector<uint8_t> wire;
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    size_t len = dot - start;
    if (len == 0 || len > 63) std::abort();
    wire.push_back(static_cast<uint8_t>(len));
    wire.insert(wire.end(), name.begin() + static_cast<long>(start),
                name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  wire.push_back(0);
  if (size < 12 + wire.size() + 4) std::abort();
  for (size_t i = 0; i < wire.size(); ++i) {
    if (data[12 + i] != wire[i]) std::abort();
  }
  return 0;
}
