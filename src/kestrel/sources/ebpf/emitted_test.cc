// The declaration (emitted.h) against the decoder and the docs: a synthetic record of every kind,
// built so that every conditional field has its data (parent, session, group and entry leaders in
// the table, terminals, capabilities, an ssh entry with its client's address, allow-listed
// environment variables, a resolvable user and group, a file extension), must decode to exactly the
// declared category/type/action and fields; docs/collection.md's "Declared events" section must be
// EmittedEventsMarkdown() (KESTREL_WRITE_DOCS=1 rewrites it).
#include "kestrel/sources/ebpf/emitted.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/ebpf_test_util.h"

namespace kestrel::sources::ebpf {
namespace {

using event::Event;

using ebpf_test::Components;

template <typename T>
std::span<const uint8_t> RecBytes(const T& r) {
  return ebpf_test::RecordBytes(r);
}

// pid 10 in the session of pid 5 (an ssh login shell), on a terminal, with two capabilities.
void Header(kestrel_header* h, uint32_t kind) {
  ebpf_test::FillHeader(
      h, kind,
      {.pid = 10, .ppid = 5, .sid = 5, .pgid = 10, .boot_ns = 5'000'000'000, .comm = "bash"});
  h->tty = (136u << 20) | 3;
  h->cap_effective = h->cap_permitted = (uint64_t{1} << 7) | (uint64_t{1} << 21);
}

HostIdentity FullHost() {
  HostIdentity h;
  h.id = "0123456789abcdef0123456789abcdef";
  h.name = h.hostname = "web-1.example.com";
  h.architecture = "x86_64";
  h.ip = {"192.0.2.10", "2001:db8::10"};
  h.mac = {"00-00-5E-00-53-23"};
  h.os_name = "Debian GNU/Linux";
  h.os_version = "12";
  h.os_kernel = "6.1.0-18-amd64";
  h.os_family = "debian";
  h.os_platform = "debian";
  h.os_full = "Debian GNU/Linux 12 (bookworm)";
  h.agent_id = DeriveAgentId(h.id);
  h.agent_version = "1.2.3";
  return h;
}

class EmittedTest : public ::testing::Test {
 protected:
  // init (1), an ssh login shell (5, session leader and entry leader) and a shell it started
  // (10, the acting process of the records), all with what their fields need.
  EmittedTest() : table_("boot"), decoder_(schema_, &table_, Options()) {
    for (uint32_t pid : {1u, 5u, 10u}) {
      ProcessInfo& p = table_.Touch(pid, pid);
      p.pid = pid;
      p.ppid = pid == 1 ? 0 : pid == 5 ? 1 : 5;
      p.sid = pid == 1 ? 1 : 5;
      p.pgid = pid;
      p.executable = pid == 1 ? "/sbin/init" : "/bin/bash";
      p.name = pid == 1 ? "init" : "bash";
      p.args = {p.name};
      p.command_line = p.name;
      p.working_directory = "/";
      p.tty = pid == 1 ? 0 : (136u << 20) | 3;
      p.cap_effective = p.cap_permitted = uint64_t{1} << 21;
      p.env_vars = {"HISTFILE=/dev/null"};
    }
    for (uint32_t pid : {5u, 10u}) {
      ProcessInfo& p = *table_.FindMutable(pid);
      p.entry_pid = 5;
      p.entry_entity_id = table_.EntityId(5, 5);
      p.entry_type = "sshd";
      p.entry_source_ip = "192.0.2.7";
    }
  }
  static DecoderOptions Options() {
    DecoderOptions o;
    o.boot_wall_ns = 1'700'000'000'000'000'000;
    o.resolve_user_names = true;  // uid 0 is root everywhere
    o.host = FullHost();
    return o;
  }

  // Decodes `record` and returns the names of the fields present.
  std::set<std::string> Fields(std::span<const uint8_t> record) {
    std::string why;
    EXPECT_EQ(decoder_.Decode(record, &event_, &why), RecordDecoder::Outcome::kEvent) << why;
    return Present();
  }
  std::set<std::string> Present() {
    // The event's own fields and its relatives' shared snapshots: each field in one place only
    // (event.h), or JSON output and recordings would hold it twice.
    std::set<std::string> out;
    event_.ForEachField([&](const Event::Entry& e) {
      EXPECT_TRUE(out.insert(std::string(schema_.Info(e.id).name)).second)
          << schema_.Info(e.id).name << " is both in the event and in a snapshot";
    });
    return out;
  }

  std::string Keyword(std::string_view field) {
    const event::Value* v = event_.Find(*schema_.Find(field));
    if (v == nullptr) return "<missing>";
    if (v->kind() == event::ValueKind::kArray) {
      std::string out;
      for (const event::Value& x : v->as_array()) {
        out += (out.empty() ? "" : "|") + std::string(x.as_string());
      }
      return out;
    }
    return std::string(v->as_string());
  }

  void ExpectDeclared(EmittedKindId id, std::span<const uint8_t> record) {
    Fields(record);
    ExpectDeclaredEvent(id);
  }
  // The event decoded last (event_) against the declaration of `id`.
  void ExpectDeclaredEvent(EmittedKindId id) {
    const EmittedKind& kind = Kind(id);
    SCOPED_TRACE(std::string(kind.name));
    std::set<std::string> present = Present();
    std::set<std::string> declared;
    for (std::string_view f : KindFields(kind)) declared.insert(std::string(f));
    for (const std::string& f : present) {
      EXPECT_TRUE(declared.count(f)) << "decoded but not declared: " << f;
    }
    for (const std::string& f : declared) {
      EXPECT_TRUE(present.count(f)) << "declared but not decoded: " << f;
    }
    EXPECT_EQ(Keyword("event.category"), kind.category);
    std::string types;
    for (std::string_view t : kind.types) types += (types.empty() ? "" : "|") + std::string(t);
    EXPECT_EQ(Keyword("event.type"), types);
    EXPECT_EQ(Keyword("event.action"), kind.action.empty() ? "<missing>" : kind.action);
    EXPECT_TRUE(event_.InCategory(*schema_.FindCategory(kind.category)));
    for (const ConstantField& c : kConstantFields) EXPECT_EQ(Keyword(c.name), c.value);
    for (const ConstantField& c : kind.constants) EXPECT_EQ(Keyword(c.name), c.value) << c.name;
    seen_.insert(id);
  }

  schema::Schema schema_;
  ProcessTable table_;
  RecordDecoder decoder_;
  Event event_;
  std::set<EmittedKindId> seen_;
};

TEST_F(EmittedTest, EveryKindDecodesToExactlyItsDeclaredFields) {
  kestrel_header eh;
  Header(&eh, KESTREL_EXEC);
  ExpectDeclared(EmittedKindId::kExec,
                 ebpf_test::PackExec(eh, {.filename = "/usr/bin/curl",
                                          .cwd = ebpf_test::Parts({"tmp"}),
                                          .args = ebpf_test::Nul("curl\0-s"),
                                          .env = ebpf_test::Nul("PATH=/bin\0HISTFILE=/dev/null")}));

  kestrel_fork f;
  Header(&f.h, KESTREL_FORK);
  f.child_tgid = 20;
  f.child_start_boottime = 20 * kNsPerClockTick;
  ExpectDeclared(EmittedKindId::kFork, RecBytes(f));

  kestrel_exit x;
  Header(&x.h, KESTREL_EXIT);
  x.h.tgid = x.h.tid = 20;
  x.h.ppid = 10;
  x.h.start_boottime = 20 * kNsPerClockTick;
  ExpectDeclared(EmittedKindId::kExit, RecBytes(x));

  kestrel_header running;
  Header(&running, KESTREL_ALREADY_RUNNING);
  ExpectDeclared(EmittedKindId::kAlreadyRunning, RecBytes(running));

  auto file = std::make_unique<kestrel_file>();
  std::memset(file.get(), 0, sizeof(*file));
  Header(&file->h, KESTREL_FILE);
  file->path_len = Components(file->path, {"a.sh", "tmp"});
  file->owner = 0;
  file->group = 0;
  file->mode = 0755;
  const std::pair<uint32_t, EmittedKindId> ops[] = {
      {KESTREL_FILE_CREATE, EmittedKindId::kFileCreate},
      {KESTREL_FILE_MODIFY, EmittedKindId::kFileModify},
      {KESTREL_FILE_READ, EmittedKindId::kFileOpen},
      {KESTREL_FILE_DELETE, EmittedKindId::kFileDelete},
      {KESTREL_FILE_CHMOD, EmittedKindId::kFileChmod},
      {KESTREL_FILE_CHOWN, EmittedKindId::kFileChown}};
  for (const auto& [op, kind] : ops) {
    file->op = op;
    ExpectDeclared(kind, RecBytes(*file));
  }
  file->op = KESTREL_FILE_RENAME;
  file->path2_len = Components(file->path2, {"b.py", "tmp"});
  ExpectDeclared(EmittedKindId::kFileRename, RecBytes(*file));

  kestrel_net n;
  std::memset(&n, 0, sizeof(n));
  Header(&n.h, KESTREL_NET);
  n.family = 2;
  n.protocol = 6;
  const std::pair<uint32_t, EmittedKindId> nets[] = {{KSYS_CONNECT, EmittedKindId::kConnect},
                                                     {KSYS_ACCEPT4, EmittedKindId::kAccept},
                                                     {KSYS_BIND, EmittedKindId::kBind}};
  for (const auto& [sys, kind] : nets) {
    n.syscall = sys;
    ExpectDeclared(kind, RecBytes(n));
  }

  auto s = std::make_unique<kestrel_syscall_rec>();
  std::memset(s.get(), 0, sizeof(*s));
  Header(&s->h, KESTREL_SYSCALL);
  std::strcpy(s->name, "payload.ko");
  const std::pair<uint32_t, EmittedKindId> calls[] = {
      {KSYS_PTRACE, EmittedKindId::kPtrace},
      {KSYS_MEMFD_CREATE, EmittedKindId::kMemfdCreate},
      {KSYS_FINIT_MODULE, EmittedKindId::kLoadModule},
      {KSYS_SETRESUID, EmittedKindId::kUidChange},
      {KSYS_SETREGID, EmittedKindId::kGidChange},
      {KSYS_SETSID, EmittedKindId::kSessionIdChange}};
  for (const auto& [sys, kind] : calls) {
    s->syscall = sys;
    ExpectDeclared(kind, RecBytes(*s));
  }

  // iam: made from account database changes (account_events.h), acted by pid 10.
  const std::pair<AccountChange, EmittedKindId> accounts[] = {
      {{AccountDb::kPasswd, AccountChange::Op::kAdded, "mallory", 1001, 1001},
       EmittedKindId::kUserAdded},
      {{AccountDb::kPasswd, AccountChange::Op::kRemoved, "mallory", 1001, 1001},
       EmittedKindId::kUserRemoved},
      {{AccountDb::kPasswd, AccountChange::Op::kChanged, "mallory", 1001, 1001},
       EmittedKindId::kUserChanged},
      {{AccountDb::kGroup, AccountChange::Op::kAdded, "ops", 1002, 1002},
       EmittedKindId::kGroupAdded},
      {{AccountDb::kGroup, AccountChange::Op::kRemoved, "ops", 1002, 1002},
       EmittedKindId::kGroupRemoved},
      {{AccountDb::kGroup, AccountChange::Op::kChanged, "ops", 1002, 1002},
       EmittedKindId::kGroupChanged}};
  kestrel_header actor;
  Header(&actor, KESTREL_FILE);
  for (const auto& [change, kind] : accounts) {
    decoder_.DecodeAccountChange(actor, 6'000'000'000, change, "mallory", &event_);
    ExpectDeclaredEvent(kind);
  }

  auto dns = std::make_unique<kestrel_dns>();
  std::memset(dns.get(), 0, sizeof(*dns));
  Header(&dns->h, KESTREL_DNS);
  dns->family = 2;
  dns->remote_port = 53;
  const uint8_t query[] = {0,   1,   1,   0,   0,   1, 0,   0,   0,   0, 0, 0, 7, 'e', 'x',
                           'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
  std::memcpy(dns->payload, query, sizeof(query));
  dns->payload_len = dns->sent_len = sizeof(query);
  ExpectDeclared(EmittedKindId::kDnsLookup, RecBytes(*dns));

  // auditd-compatible records, each with the arguments its kernel filter lets through.
  kestrel_auditd a;
  std::memset(&a, 0, sizeof(a));
  Header(&a.h, KESTREL_AUDITD);
  a.path_len = Components(a.path, {"route", "net", "/proc"});
  const std::tuple<uint32_t, EmittedKindId, std::array<uint64_t, 4>> audits[] = {
      {KSYS_PRCTL, EmittedKindId::kAuditdPrctl, {15, 0x7ffd0000, 0, 0}},
      {KSYS_KILL, EmittedKindId::kAuditdKill, {20, 40, 0, 0}},
      {KSYS_TKILL, EmittedKindId::kAuditdTkill, {20, 40, 0, 0}},
      {KSYS_TGKILL, EmittedKindId::kAuditdTgkill, {20, 20, 40, 0}},
      {KSYS_MPROTECT, EmittedKindId::kAuditdMprotect, {0x7f0000000000, 4096, 7, 0}},
      {KSYS_OPEN, EmittedKindId::kAuditdOpen, {0x7ffd0000, 0, 0666, 0}},
      {KSYS_INIT_MODULE, EmittedKindId::kAuditdInitModule, {0x7f0000000000, 10, 0, 0}},
      {KSYS_FINIT_MODULE, EmittedKindId::kAuditdFinitModule, {3, 0, 0, 0}}};
  for (const auto& [sys, kind, args] : audits) {
    a.syscall = sys;
    std::copy(args.begin(), args.end(), a.args);
    ExpectDeclared(kind, RecBytes(a));
  }

  EXPECT_EQ(seen_.size(), static_cast<size_t>(EmittedKindId::kCount))
      << "a declared kind has no record in this test";
}

TEST_F(EmittedTest, HostAndAgentFieldsOnEveryEventAndReplacedBySetHost) {
  kestrel_exit x;
  Header(&x.h, KESTREL_EXIT);
  Fields(RecBytes(x));
  EXPECT_EQ(Keyword("host.id"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(Keyword("host.name"), "web-1.example.com");
  EXPECT_EQ(Keyword("host.mac"), "00-00-5E-00-53-23");
  EXPECT_EQ(Keyword("agent.type"), "kestrel");
  EXPECT_EQ(Keyword("agent.version"), "1.2.3");
  const event::Value* ips = event_.Find(*schema_.Find("host.ip"));
  ASSERT_NE(ips, nullptr);
  ASSERT_EQ(ips->as_array().size(), 2u);
  EXPECT_EQ(ips->as_array()[0].as_ip().ToString(), "192.0.2.10");

  HostIdentity moved = FullHost();
  moved.hostname = moved.name = "web-2.example.com";
  moved.ip = {"198.51.100.7"};
  moved.mac.clear();
  decoder_.SetHost(moved);
  Fields(RecBytes(x));
  EXPECT_EQ(Keyword("host.hostname"), "web-2.example.com");
  EXPECT_EQ(Keyword("host.mac"), "<missing>");  // nothing known: left out, not empty
  EXPECT_EQ(event_.Find(*schema_.Find("host.ip"))->as_array()[0].as_ip().ToString(),
            "198.51.100.7");
}

TEST(EmittedDeclaration, KindsAreInEnumOrderAndWellFormed) {
  ASSERT_EQ(kEmittedKinds.size(), static_cast<size_t>(EmittedKindId::kCount));
  for (size_t i = 0; i < kEmittedKinds.size(); ++i) {
    const EmittedKind& k = kEmittedKinds[i];
    std::vector<std::string_view> all = KindFields(k);
    EXPECT_EQ(static_cast<size_t>(k.id), i);
    EXPECT_FALSE(k.category.empty());
    EXPECT_FALSE(k.types.empty()) << k.name;
    // Defend-shaped kinds have an action; auditd-compatible ones (with the constant
    // auditd.data.syscall) may have none, like auditd_manager's prctl and mprotect events.
    const bool auditd = !k.constants.empty() && k.constants[0].name == "auditd.data.syscall";
    EXPECT_TRUE(!k.action.empty() || auditd) << k.name;
    // Defend's process events carry the relatives in full, file and network events their ids
    // only; auditd-compatible events never (Auditbeat's carry less still).
    EXPECT_EQ(CarriesFullProcess(k), k.category == "process" && !auditd) << k.name;
    // A kind's constant fields are among its fields.
    for (const ConstantField& c : k.constants) {
      EXPECT_NE(std::find(all.begin(), all.end(), c.name), all.end()) << k.name << " " << c.name;
    }
    EXPECT_EQ(std::set<std::string_view>(all.begin(), all.end()).size(), all.size()) << k.name;
  }
}

// docs/collection.md holds the declaration between two markers; the test compares (and, with
// KESTREL_WRITE_DOCS=1, rewrites) it.
TEST(EmittedDeclaration, DocsSectionIsTheDeclaration) {
  const std::string path = std::string(KESTREL_SOURCE_DIR) + "/docs/collection.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  const std::string begin =
      "<!-- declared events: generated from src/kestrel/sources/ebpf/emitted.cc; do not edit -->\n";
  const std::string end = "<!-- end of declared events -->";
  size_t b = doc.find(begin), e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << path << " lacks the marker " << begin;
  ASSERT_NE(e, std::string::npos) << path << " lacks the marker " << end;
  ASSERT_LT(b, e);
  std::string current = doc.substr(b + begin.size(), e - b - begin.size());
  std::string want = EmittedEventsMarkdown();
  if (current != want && std::getenv("KESTREL_WRITE_DOCS") != nullptr) {
    doc.replace(b + begin.size(), e - b - begin.size(), want);
    std::ofstream(path) << doc;
    std::printf("rewrote the declared events of %s\n", path.c_str());
    current = want;
  }
  EXPECT_EQ(current, want) << path
                           << " is stale: run sources_test with KESTREL_WRITE_DOCS=1 to rewrite "
                              "its \"Declared events\" section";
}

}  // namespace
}  // namespace kestrel::sources::ebpf
