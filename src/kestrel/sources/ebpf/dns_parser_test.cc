// The DNS query parser (dns_parser.h): good queries, and every refusal with its reason.
#include "kestrel/sources/ebpf/dns_parser.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kestrel::sources::ebpf {
namespace {

// A query for `labels` (wire form built here), type `qtype`, id 0x1234.
std::vector<uint8_t> Query(const std::vector<std::string>& labels, uint16_t qtype = 1,
                           uint16_t flags = 0x0100) {
  std::vector<uint8_t> q = {
      0x12, 0x34, static_cast<uint8_t>(flags >> 8), static_cast<uint8_t>(flags), 0, 1, 0, 0, 0, 0,
      0,    0};
  for (const std::string& l : labels) {
    q.push_back(static_cast<uint8_t>(l.size()));
    q.insert(q.end(), l.begin(), l.end());
  }
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(qtype >> 8));
  q.push_back(static_cast<uint8_t>(qtype));
  q.push_back(0);
  q.push_back(1);
  return q;
}

std::string Refusal(const std::vector<uint8_t>& payload) {
  DnsQuery q;
  std::string_view why;
  EXPECT_FALSE(ParseDnsQuery(payload, &q, &why));
  return std::string(why);
}

TEST(DnsParser, ParsesTheFirstQuestion) {
  DnsQuery q;
  std::string_view why;
  std::vector<uint8_t> p = Query({"kestrel-test", "example", "com"}, 28);
  p.insert(p.end(), {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0});  // an EDNS record after: ignored
  ASSERT_TRUE(ParseDnsQuery(p, &q, &why)) << why;
  EXPECT_EQ(q.question_name(), "kestrel-test.example.com");
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.qtype, 28);
  EXPECT_EQ(q.qclass, 1);
  EXPECT_EQ(DnsTypeName(q.qtype), "AAAA");
  EXPECT_EQ(DnsTypeName(1), "A");
  EXPECT_EQ(DnsTypeName(65), "HTTPS");
  EXPECT_EQ(DnsTypeName(4242), "");

  ASSERT_TRUE(ParseDnsQuery(Query({}, 2), &q, &why)) << why;
  EXPECT_EQ(q.question_name(), ".");  // the root (a priming query)
  ASSERT_TRUE(ParseDnsQuery(Query({"_ldap", "_tcp", "example", "com"}, 33), &q, &why));
  EXPECT_EQ(q.question_name(), "_ldap._tcp.example.com");
}

TEST(DnsParser, TruncatedInputsAreRefused) {
  std::vector<uint8_t> p = Query({"example", "com"});
  for (size_t n = 0; n < p.size(); ++n) {
    std::vector<uint8_t> cut(p.begin(), p.begin() + static_cast<long>(n));
    SCOPED_TRACE(n);
    EXPECT_FALSE(Refusal(cut).empty());
  }
  EXPECT_EQ(Refusal({1, 2, 3}), "shorter than a DNS header");
  std::vector<uint8_t> no_type = Query({"example", "com"});
  no_type.resize(no_type.size() - 3);
  EXPECT_EQ(Refusal(no_type), "question truncated (type, class)");
  std::vector<uint8_t> mid_label = Query({"example", "com"});
  mid_label.resize(16);
  EXPECT_EQ(Refusal(mid_label), "name truncated");
}

TEST(DnsParser, CompressionAndExtendedLabelsAreRefused) {
  std::vector<uint8_t> p = Query({"example"});
  p[12 + 1 + 7] = 0xc0;  // a pointer where the terminating label was
  p.insert(p.begin() + 21, 0x0c);
  EXPECT_EQ(Refusal(p), "compression pointer in the first question");
  std::vector<uint8_t> ext = Query({"example"});
  ext[12] = 0x41;  // 0b01 label type
  EXPECT_EQ(Refusal(ext), "extended label type or label over 63 bytes");
}

TEST(DnsParser, OverlongNamesAndBadBytesAreRefused) {
  std::string l63(63, 'a');
  DnsQuery q;
  std::string_view why;
  // 63+1+63+1+63+1+61 = 253: the longest name.
  ASSERT_TRUE(ParseDnsQuery(Query({l63, l63, l63, std::string(61, 'b')}), &q, &why)) << why;
  EXPECT_EQ(q.name_len, 253);
  EXPECT_EQ(Refusal(Query({l63, l63, l63, std::string(62, 'b')})), "name over 253 bytes");
  EXPECT_EQ(Refusal(Query({std::string(64, 'a')})), "extended label type or label over 63 bytes");
  EXPECT_EQ(Refusal(Query({"bad label"})), "unprintable byte or dot in a label");
  EXPECT_EQ(Refusal(Query({"a.b"})), "unprintable byte or dot in a label");
  EXPECT_EQ(Refusal(Query({std::string("nul\0", 4)})), "unprintable byte or dot in a label");
  EXPECT_EQ(Refusal(Query({"\x80x"})), "unprintable byte or dot in a label");
}

TEST(DnsParser, ResponsesOtherOpcodesAndEmptyQueriesAreRefused) {
  EXPECT_EQ(Refusal(Query({"example"}, 1, 0x8180)), "a response, not a query");
  EXPECT_EQ(Refusal(Query({"example"}, 1, 0x2800)), "not a standard query (opcode)");  // UPDATE
  std::vector<uint8_t> none = Query({"example"});
  none[5] = 0;
  EXPECT_EQ(Refusal(none), "no question");
}

}  // namespace
}  // namespace kestrel::sources::ebpf
