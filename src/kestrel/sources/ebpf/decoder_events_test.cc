// The DNS lookup records and the iam events of account database changes (decoder_events.cc,
// account_events.h), from records built by hand and temporary account files; no root needed.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/account_events.h"
#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/ebpf_test_util.h"

namespace kestrel::sources::ebpf {
namespace {

namespace fs = std::filesystem;
using event::Event;

using ebpf_test::RecordBytes;

// A useradd-like header: root, parent 1.
void Header(kestrel_header* h, uint32_t kind, uint32_t pid, uint64_t boot_ns) {
  ebpf_test::FillHeader(h, kind, {.pid = pid, .ppid = 1, .boot_ns = boot_ns, .comm = "useradd"});
}

class DecoderEventsTest : public ebpf_test::DecoderFixture {
 protected:
  DecoderEventsTest() : DecoderFixture(Options()) {
    AddProcess(300, 1, "/usr/sbin/useradd", "useradd", {"useradd", "mallory"}, "useradd mallory");
  }
  static DecoderOptions Options() {
    DecoderOptions o;
    o.resolve_user_names = false;
    return o;
  }
  std::string Str(std::string_view field) { return FieldText(field); }
};

// A DNS query for kestrel-test.example.com (A), id 0xbeef.
size_t FillQuery(uint8_t* out) {
  const uint8_t q[] = {0xbe, 0xef, 0x01, 0x00, 0,   1,   0,   0,   0,   0,   0,   0, 12,  'k',
                       'e',  's',  't',  'r',  'e', 'l', '-', 't', 'e', 's', 't', 7, 'e', 'x',
                       'a',  'm',  'p',  'l',  'e', 3,   'c', 'o', 'm', 0,   0,   1, 0,   1};
  std::memcpy(out, q, sizeof(q));
  return sizeof(q);
}

TEST_F(DecoderEventsTest, DnsRecordToALookupEvent) {
  auto d = std::make_unique<kestrel_dns>();
  std::memset(d.get(), 0, sizeof(*d));
  Header(&d->h, KESTREL_DNS, 300, 1'000);
  d->syscall = KSYS_SENDMMSG;
  d->family = 2;
  d->ret = 2;
  const uint8_t local[] = {127, 0, 0, 1}, remote[] = {127, 0, 0, 53};
  std::memcpy(d->local_addr, local, 4);
  std::memcpy(d->remote_addr, remote, 4);
  d->local_port = 40000;
  d->remote_port = 53;
  d->payload_len = d->sent_len = static_cast<uint32_t>(FillQuery(d->payload));
  std::string why;
  // Compacted, as the reader thread queues it.
  const size_t size = CompactRecordSize(RecordBytes(*d));
  EXPECT_EQ(size, offsetof(kestrel_dns, payload) + d->payload_len);
  ASSERT_EQ(decoder_.Decode(RecordBytes(*d, size), &event_, &why), RecordDecoder::Outcome::kEvent)
      << why;
  EXPECT_EQ(Str("event.category"), "network");
  EXPECT_EQ(Str("event.type"), "protocol");
  EXPECT_EQ(Str("event.action"), "lookup_requested");
  EXPECT_EQ(Str("dns.question.name"), "kestrel-test.example.com");
  EXPECT_EQ(Str("dns.question.type"), "A");
  EXPECT_EQ(Str("dns.id"), "48879");
  EXPECT_EQ(Str("destination.ip"), "127.0.0.53");
  EXPECT_EQ(Str("destination.port"), "53");
  EXPECT_EQ(Str("source.port"), "40000");
  EXPECT_EQ(Str("network.transport"), "udp");
  EXPECT_EQ(Str("network.protocol"), "dns");
  EXPECT_EQ(Str("process.name"), "useradd");
  EXPECT_EQ(decoder_.dns_parse_failures(), 0u);

  // An unknown type is written as RFC 3597 says.
  d->payload[d->payload_len - 3] = 99;
  d->payload[d->payload_len - 4] = 1;  // type 0x0163 = 355
  ASSERT_EQ(decoder_.Decode(RecordBytes(*d), &event_, &why), RecordDecoder::Outcome::kEvent) << why;
  EXPECT_EQ(Str("dns.question.type"), "TYPE355");
}

TEST_F(DecoderEventsTest, MalformedDnsPayloadsAreCountedAndSkipped) {
  auto d = std::make_unique<kestrel_dns>();
  std::memset(d.get(), 0, sizeof(*d));
  Header(&d->h, KESTREL_DNS, 300, 1'000);
  d->family = 2;
  d->remote_port = 53;
  d->payload_len = static_cast<uint32_t>(FillQuery(d->payload));
  d->payload[2] = 0x81;  // a response
  std::string why;
  EXPECT_EQ(decoder_.Decode(RecordBytes(*d), &event_, &why), RecordDecoder::Outcome::kMalformed);
  EXPECT_NE(why.find("a response"), std::string::npos) << why;
  d->payload[2] = 0x01;
  d->payload_len = 20;  // the capture ends inside the name
  EXPECT_EQ(decoder_.Decode(RecordBytes(*d), &event_, &why), RecordDecoder::Outcome::kMalformed);
  EXPECT_NE(why.find("name truncated"), std::string::npos) << why;
  d->payload_len = 100'000;  // a lie: bounded by the record
  EXPECT_EQ(decoder_.Decode(RecordBytes(*d, offsetof(kestrel_dns, payload) + 10), &event_, &why),
            RecordDecoder::Outcome::kMalformed);
  EXPECT_EQ(decoder_.Decode(RecordBytes(*d, 40), &event_, &why),
            RecordDecoder::Outcome::kMalformed);
  EXPECT_EQ(decoder_.dns_parse_failures(), 3u);
}

class AccountHookTest : public DecoderEventsTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kestrel-accounts-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "etc");
    Write("passwd", "root:x:0:0:root:/root:/bin/bash\n");
    Write("group", "root:x:0:\n");
    AccountWatcher::Options o;
    o.root = root_.string();
    o.require_root_owner = geteuid() == 0;
    accounts_ = std::make_unique<AccountEvents>(o);
    accounts_->Start();
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(std::string_view name, std::string_view text) {
    std::ofstream(root_ / "etc" / name, std::ios::binary) << text;
  }
  // Decodes a file record (`op` on `path`, a rename from `path`+ for KESTREL_FILE_RENAME) by pid
  // 300 at `t_ns` and shows it to the hook.
  void FileEvent(uint32_t op, std::string_view path, uint64_t t_ns, uint32_t pid = 300) {
    auto f = std::make_unique<kestrel_file>();
    std::memset(f.get(), 0, sizeof(*f));
    Header(&f->h, KESTREL_FILE, pid, t_ns);
    f->op = op;
    std::string p(path);
    if (op == KESTREL_FILE_RENAME) {
      std::string tmp = p + "+";
      std::memcpy(f->path, tmp.c_str(), tmp.size() + 1);
      f->path_len = static_cast<uint32_t>(tmp.size() + 1);
      std::memcpy(f->path2, p.c_str(), p.size() + 1);
      f->path2_len = static_cast<uint32_t>(p.size() + 1);
    } else {
      std::memcpy(f->path, p.c_str(), p.size() + 1);
      f->path_len = static_cast<uint32_t>(p.size() + 1);
    }
    std::string why;
    ASSERT_EQ(decoder_.Decode(RecordBytes(*f), &event_, &why), RecordDecoder::Outcome::kEvent)
        << why;
    accounts_->Observe(f->h, event_);
  }
  void Exit(uint32_t pid, uint64_t t_ns) {
    kestrel_exit x;
    std::memset(&x, 0, sizeof(x));
    Header(&x.h, KESTREL_EXIT, pid, t_ns);
    std::string why;
    ASSERT_EQ(decoder_.Decode(RecordBytes(x), &event_, &why), RecordDecoder::Outcome::kEvent)
        << why;
    accounts_->Observe(x.h, event_);
  }
  fs::path root_;
  std::unique_ptr<AccountEvents> accounts_;
};

TEST_F(AccountHookTest, RenameOntoPasswdGivesOneIamEventPerAccountActedByTheWriter) {
  FileEvent(KESTREL_FILE_RENAME, "/etc/passwd", 2'000);  // no change yet
  EXPECT_FALSE(accounts_->Next(decoder_, &event_));
  Write("group", "root:x:0:\nmallory:x:1001:\n");
  FileEvent(KESTREL_FILE_RENAME, "/etc/group", 3'000);
  Write("passwd", "root:x:0:0:root:/root:/bin/bash\nmallory:x:1001:1001::/home/m:/bin/sh\n");
  FileEvent(KESTREL_FILE_RENAME, "/etc/passwd", 4'000);

  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.category"), "iam");
  EXPECT_EQ(Str("event.type"), "group|creation");
  EXPECT_EQ(Str("event.action"), "group_added");
  EXPECT_EQ(Str("group.name"), "mallory");
  EXPECT_EQ(Str("group.id"), "1001");
  EXPECT_EQ(Str("group.target.name"), "mallory");
  EXPECT_EQ(Str("user.name"), "<missing>");  // the actor is in process.* only
  EXPECT_EQ(event_.time_ns(), 3'000);

  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.type"), "user|creation");
  EXPECT_EQ(Str("event.action"), "user_added");
  EXPECT_EQ(Str("event.outcome"), "success");
  EXPECT_EQ(Str("user.name"), "mallory");
  EXPECT_EQ(Str("user.id"), "1001");
  EXPECT_EQ(Str("user.target.id"), "1001");
  EXPECT_EQ(Str("group.id"), "1001");
  EXPECT_EQ(Str("group.name"), "mallory");  // the primary group, from the group snapshot
  EXPECT_EQ(Str("process.name"), "useradd");
  EXPECT_EQ(Str("process.pid"), "300");
  EXPECT_EQ(Str("process.user.id"), "0");
  EXPECT_EQ(Str("user.effective.id"), "<missing>");
  EXPECT_EQ(Str("host.os.type"), "linux");
  EXPECT_FALSE(accounts_->Next(decoder_, &event_));

  Write("passwd", "root:x:0:0:root:/root:/bin/bash\n");
  Write("group", "root:x:0:\n");
  FileEvent(KESTREL_FILE_RENAME, "/etc/passwd", 5'000);
  FileEvent(KESTREL_FILE_RENAME, "/etc/group", 5'001);
  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.type"), "user|deletion");
  EXPECT_EQ(Str("event.action"), "user_removed");
  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.type"), "group|deletion");
  EXPECT_FALSE(accounts_->Next(decoder_, &event_));
}

TEST_F(AccountHookTest, InPlaceEditsAreReadWhenTheWriterExitsOrLater) {
  FileEvent(KESTREL_FILE_MODIFY, "/etc/passwd", 2'000);  // echo ... >> /etc/passwd: open first
  EXPECT_TRUE(accounts_->dirty());
  Write("passwd", "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/bash\n");
  Exit(301, 3'000);  // another process: not yet
  EXPECT_FALSE(accounts_->Next(decoder_, &event_));
  Exit(300, 4'000);  // the writer
  EXPECT_FALSE(accounts_->dirty());
  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.action"), "user_added");
  EXPECT_EQ(Str("user.name"), "toor");
  EXPECT_EQ(Str("user.id"), "0");
  EXPECT_EQ(event_.time_ns(), 4'000);

  // A writer that keeps the file open: read once kDirtyNs of event time has passed.
  FileEvent(KESTREL_FILE_MODIFY, "/etc/passwd", 10'000);
  Write("passwd", "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/bash\n");
  FileEvent(KESTREL_FILE_READ, "/etc/passwd", 20'000);  // reads do not re-read
  EXPECT_FALSE(accounts_->Next(decoder_, &event_));
  Exit(301, 10'000 + AccountEvents::kDirtyNs);
  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.action"), "user_changed");
  EXPECT_EQ(Str("event.type"), "user|change");
  EXPECT_EQ(Str("user.name"), "root");

  // End of stream: a pending edit is read at Flush().
  FileEvent(KESTREL_FILE_CREATE, "/etc/group", 3'000'000'000);
  Write("group", "root:x:0:\nwheel:x:10:toor\n");
  accounts_->Flush(3'000'000'001);
  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.action"), "group_added");
  EXPECT_EQ(Str("group.name"), "wheel");
  // Other paths never reach the watcher.
  FileEvent(KESTREL_FILE_RENAME, "/etc/passwd-", 3'000'000'002);
  EXPECT_FALSE(accounts_->dirty());
  EXPECT_EQ(accounts_->watcher().stats().rereads, 3u);
}

TEST_F(AccountHookTest, AFileReplacedBeforeALateReReadIsLeftToTheRenamesEvent) {
  // pid 300 opens /etc/group for writing and changes nothing; before its exit is decoded, pid 400
  // (groupdel) has replaced the file by a rename. The exit must not claim 400's change.
  FileEvent(KESTREL_FILE_MODIFY, "/etc/group", 2'000);
  Write("group+", "root:x:0:\nnew:x:1001:\n");
  fs::rename(root_ / "etc" / "group+", root_ / "etc" / "group");
  Exit(300, 3'000);
  EXPECT_FALSE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(accounts_->watcher().stats().replaced, 1u);
  FileEvent(KESTREL_FILE_RENAME, "/etc/group", 2'500, 400);
  ASSERT_TRUE(accounts_->Next(decoder_, &event_));
  EXPECT_EQ(Str("event.action"), "group_added");
  EXPECT_EQ(Str("process.pid"), "400");
}

}  // namespace
}  // namespace kestrel::sources::ebpf
