// RecordDecoder: the `iam` events of account database changes and the DNS lookups (see
// decoder.h, account_db.h, dns_parser.h). Tested by decoder_events_test.cc and emitted_test.cc.
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/dns_parser.h"
#include "kestrel_records.h"

namespace kestrel::sources::ebpf {
namespace {

using schema::ecs::Field;

constexpr int kAfInet = 2;
constexpr int kAfInet6 = 10;

EmittedKindId AccountKind(const AccountChange& c) {
  const bool user = c.db == AccountDb::kPasswd;
  switch (c.op) {
    case AccountChange::Op::kAdded:
      return user ? EmittedKindId::kUserAdded : EmittedKindId::kGroupAdded;
    case AccountChange::Op::kRemoved:
      return user ? EmittedKindId::kUserRemoved : EmittedKindId::kGroupRemoved;
    case AccountChange::Op::kChanged:
      break;
  }
  return user ? EmittedKindId::kUserChanged : EmittedKindId::kGroupChanged;
}

}  // namespace

void RecordDecoder::DecodeAccountChange(const kestrel_header& h, int64_t time_ns,
                                        const AccountChange& change, std::string_view group_name,
                                        event::Event* out) {
  out->Clear();
  SetCommon(AccountKind(change), time_ns, out);
  // The process may have exited since it wrote the file (the table keeps it a while).
  const ProcessInfo* found = table_->Find(h.tgid);
  const ProcessInfo& p =
      found != nullptr ? *found : table_->Touch(h.tgid, h.start_boottime / kNsPerClockTick);
  SetProcess(h, p, out);
  const std::string id = std::to_string(change.id);
  if (change.db == AccountDb::kPasswd) {
    out->SetString(Field("user.name"), change.name);
    out->SetString(Field("user.id"), id);
    out->SetString(Field("user.target.name"), change.name);
    out->SetString(Field("user.target.id"), id);
    out->SetString(Field("group.id"), std::to_string(change.gid));
    if (!group_name.empty()) out->SetString(Field("group.name"), group_name);
  } else {
    out->SetString(Field("group.name"), change.name);
    out->SetString(Field("group.id"), id);
    // Not in the ECS catalogue: interned here (iam events are rare).
    auto intern = [&](std::string_view name) {
      return schema_.Intern(name, schema::FieldType::kKeyword, false).value_or(schema::FieldId{0});
    };
    out->SetString(intern("group.target.name"), change.name);
    out->SetString(intern("group.target.id"), id);
  }
  out->SetString(Field("event.outcome"), "success");  // the file shows it done
  out->Finish();
}

RecordDecoder::Outcome RecordDecoder::DecodeDns(const kestrel_header& h,
                                                std::span<const uint8_t> record, int64_t time_ns,
                                                event::Event* out, std::string* why) {
  if (record.size() < offsetof(kestrel_dns, payload)) {
    *why = fmt::format("record of kind {} has {} bytes, expected at least {}", h.kind,
                       record.size(), offsetof(kestrel_dns, payload));
    return Outcome::kMalformed;
  }
  kestrel_dns d;  // the fixed part; the payload is read in place (compacted records end early)
  std::memcpy(&d, record.data(), offsetof(kestrel_dns, payload));
  const size_t have = record.size() - offsetof(kestrel_dns, payload);
  const size_t n = std::min<size_t>({d.payload_len, have, KESTREL_DNS_PAYLOAD_MAX});
  DnsQuery q;
  std::string_view reason;
  if ((d.family != kAfInet && d.family != kAfInet6) ||
      !ParseDnsQuery(record.subspan(offsetof(kestrel_dns, payload), n), &q, &reason)) {
    ++dns_parse_failures_;
    if (reason.empty()) reason = "not an IPv4/IPv6 socket";
    *why = fmt::format("DNS query from pid {} to port {} not parsed ({} of {} bytes copied): {}",
                       h.tgid, d.remote_port, n, d.sent_len, reason);
    return Outcome::kMalformed;
  }
  const ProcessInfo& p = table_->Touch(h.tgid, h.start_boottime / kNsPerClockTick);
  SetCommon(EmittedKindId::kDnsLookup, time_ns, out);
  SetProcess(h, p, out);
  out->SetString(Field("dns.question.name"), q.question_name());
  std::string_view type = DnsTypeName(q.qtype);
  if (type.empty()) {
    out->SetString(Field("dns.question.type"), fmt::format("TYPE{}", q.qtype));  // RFC 3597
  } else {
    out->SetString(Field("dns.question.type"), type);
  }
  out->SetString(Field("dns.id"), std::to_string(q.id));
  out->SetString(Field("dns.type"), "query");
  out->SetIp(Field("source.ip"), KernelAddress(d.family, d.local_addr));
  out->SetInt(Field("source.port"), d.local_port);
  out->SetIp(Field("destination.ip"), KernelAddress(d.family, d.remote_addr));
  out->SetInt(Field("destination.port"), d.remote_port);
  out->SetString(Field("network.type"), d.family == kAfInet ? "ipv4" : "ipv6");
  out->SetString(Field("network.transport"), "udp");
  out->SetString(Field("network.protocol"), "dns");
  out->SetString(Field("network.iana_number"), "17");
  out->SetString(Field("network.direction"), "egress");
  out->SetString(Field("event.outcome"), d.ret >= 0 ? "success" : "failure");
  out->Finish();
  return Outcome::kEvent;
}

}  // namespace kestrel::sources::ebpf
