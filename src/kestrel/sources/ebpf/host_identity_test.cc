// HostWatcher over a temporary root (machine-id, os-release) with a fixed machine (uname and
// interfaces), the parsers, overrides and refresh; and one read of the real machine.
#include "kestrel/sources/ebpf/host_identity.h"

#include <sys/utsname.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace kestrel::sources::ebpf {
namespace {

namespace fs = std::filesystem;

class TempRoot {
 public:
  TempRoot() {
    root_ = fs::temp_directory_path() /
            ("kestrel-host-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(root_ / "etc");
    fs::create_directories(root_ / "var/lib/dbus");
    fs::create_directories(root_ / "usr/lib");
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel) << text;
  }
  std::string path() const { return root_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path root_;
};

HostWatcher::Machine Machine() {
  HostWatcher::Machine m;
  m.nodename = "db-3";
  m.release = "6.1.0-18-amd64";
  m.machine = "x86_64";
  m.ip = {"203.0.113.9", "192.0.2.4"};
  m.mac = {"02-00-00-00-00-01"};
  return m;
}

TEST(HostIdentity, ParsesOsRelease) {
  OsRelease r = ParseOsRelease(
      "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\n"
      "# comment\nID=ubuntu\nID_LIKE=debian\nbroken line\n");
  EXPECT_EQ(r.name, "Ubuntu");
  EXPECT_EQ(r.version, "22.04");
  EXPECT_EQ(r.platform, "ubuntu");
  EXPECT_EQ(r.family, "debian");
  EXPECT_EQ(r.full, "Ubuntu 22.04.4 LTS");
  OsRelease rhel =
      ParseOsRelease("NAME='Rocky Linux'\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n");
  EXPECT_EQ(rhel.family, "rhel");                             // the first ID_LIKE word
  EXPECT_EQ(ParseOsRelease("ID=debian\n").family, "debian");  // no ID_LIKE: ID
  EXPECT_EQ(ParseOsRelease("NAME=\"A \\\"quoted\\\" name\"\n").name, "A \"quoted\" name");
}

TEST(HostIdentity, MachineIdMustBe32HexDigits) {
  EXPECT_EQ(ParseMachineId("0123456789ABCDEF0123456789abcdef\n"),
            "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(ParseMachineId("uninitialized\n"), "");
  EXPECT_EQ(ParseMachineId(""), "");
  EXPECT_EQ(ParseMachineId("0123456789abcdef0123456789abcdeg"), "");
}

TEST(HostIdentity, AgentIdIsAStableUuidShapedDigestOfTheHostId) {
  std::string a = DeriveAgentId("0123456789abcdef0123456789abcdef");
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[8], '-');
  EXPECT_EQ(a, DeriveAgentId("0123456789abcdef0123456789abcdef"));
  EXPECT_NE(a, DeriveAgentId("fedcba9876543210fedcba9876543210"));
  EXPECT_EQ(DeriveAgentId(""), "");
}

TEST(HostIdentity, ReadsTheRootAndTheMachine) {
  TempRoot root;
  root.Write("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  root.Write("etc/os-release",
             "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n"
             "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n");
  HostWatcher w(root.path(), "9.9.9", {});
  w.SetMachineForTest(Machine());
  const HostIdentity& h = w.Read();
  EXPECT_EQ(h.id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(h.name, "db-3");
  EXPECT_EQ(h.hostname, "db-3");
  EXPECT_EQ(h.architecture, "x86_64");
  EXPECT_EQ(h.os_type, "linux");
  EXPECT_EQ(h.os_kernel, "6.1.0-18-amd64");
  EXPECT_EQ(h.os_name, "Debian GNU/Linux");
  EXPECT_EQ(h.os_version, "12");
  EXPECT_EQ(h.os_family, "debian");
  EXPECT_EQ(h.os_full, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(h.ip, (std::vector<std::string>{"192.0.2.4", "203.0.113.9"}));  // sorted
  EXPECT_EQ(h.mac, (std::vector<std::string>{"02-00-00-00-00-01"}));
  EXPECT_EQ(h.agent_type, "kestrel");
  EXPECT_EQ(h.agent_version, "9.9.9");
  EXPECT_EQ(h.agent_id, DeriveAgentId(h.id));
}

TEST(HostIdentity, FallsBackToDbusMachineIdAndUsrLibOsRelease) {
  TempRoot root;
  root.Write("var/lib/dbus/machine-id", "fedcba9876543210fedcba9876543210");
  root.Write("usr/lib/os-release", "NAME=Fedora\nID=fedora\n");
  HostWatcher w(root.path(), "1", {});
  w.SetMachineForTest(Machine());
  EXPECT_EQ(w.Read().id, "fedcba9876543210fedcba9876543210");
  EXPECT_EQ(w.identity().os_name, "Fedora");
}

TEST(HostIdentity, MissingFilesLeaveValuesEmpty) {
  TempRoot root;
  HostWatcher w(root.path(), "1", {});
  w.SetMachineForTest(Machine());
  const HostIdentity& h = w.Read();
  EXPECT_EQ(h.id, "");
  EXPECT_EQ(h.agent_id, "");
  EXPECT_EQ(h.os_name, "");
  EXPECT_EQ(h.hostname, "db-3");
}

TEST(HostIdentity, OverridesReplaceWhatWasReadAndSurviveRefresh) {
  TempRoot root;
  root.Write("etc/machine-id", "0123456789abcdef0123456789abcdef\n");
  HostOverrides o;
  o.id = "golden-image-7";
  o.name = "payments-1.example.com";
  o.ip = std::vector<std::string>{"198.51.100.20"};
  o.mac = std::vector<std::string>{"02:00:00:aa:bb:cc"};
  o.os_version = "12.5";
  ASSERT_TRUE(ValidateHostOverrides(o).ok());
  HostWatcher w(root.path(), "1", o);
  w.SetMachineForTest(Machine());
  const HostIdentity& h = w.Read();
  EXPECT_EQ(h.id, "golden-image-7");
  EXPECT_EQ(h.agent_id, DeriveAgentId("golden-image-7"));  // derived from the effective id
  EXPECT_EQ(h.name, "payments-1.example.com");
  EXPECT_EQ(h.hostname, "db-3");  // not overridden
  EXPECT_EQ(h.ip, (std::vector<std::string>{"198.51.100.20"}));
  EXPECT_EQ(h.mac, (std::vector<std::string>{"02-00-00-AA-BB-CC"}));
  EXPECT_EQ(h.os_version, "12.5");

  HostWatcher::Machine m = Machine();
  m.nodename = "db-4";
  m.ip = {"192.0.2.99"};
  w.SetMachineForTest(m);
  EXPECT_TRUE(w.Refresh());
  EXPECT_EQ(w.identity().hostname, "db-4");
  EXPECT_EQ(w.identity().name, "payments-1.example.com");
  EXPECT_EQ(w.identity().ip, (std::vector<std::string>{"198.51.100.20"}));
  EXPECT_FALSE(w.Refresh());  // nothing changed

  HostOverrides agent;
  agent.agent_id = "agent-42";
  HostWatcher w2(root.path(), "1", agent);
  w2.SetMachineForTest(Machine());
  EXPECT_EQ(w2.Read().agent_id, "agent-42");
}

TEST(HostIdentity, RefreshSeesAnInterfaceChange) {
  TempRoot root;
  HostWatcher w(root.path(), "1", {});
  w.SetMachineForTest(Machine());
  w.Read();
  EXPECT_FALSE(w.Refresh());
  HostWatcher::Machine m = Machine();
  m.ip.push_back("2001:db8::5");
  m.mac.push_back("02-00-00-00-00-02");
  w.SetMachineForTest(m);
  EXPECT_TRUE(w.Refresh());
  EXPECT_EQ(w.identity().ip.size(), 3u);
  EXPECT_EQ(w.identity().mac.size(), 2u);
}

TEST(HostIdentity, BadOverridesAreRefusedWithTheValue) {
  HostOverrides o;
  o.ip = std::vector<std::string>{"192.0.2.1", "not-an-ip"};
  absl::Status s = ValidateHostOverrides(o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("not-an-ip"), std::string::npos);
  HostOverrides m;
  m.mac = std::vector<std::string>{"00:11:22:33:44"};
  EXPECT_FALSE(ValidateHostOverrides(m).ok());
  m.mac = std::vector<std::string>{"00-11-22-33-44-55"};
  EXPECT_TRUE(ValidateHostOverrides(m).ok());
}

TEST(HostIdentity, TheRealMachine) {
  HostWatcher w("/", "1", {});
  const HostIdentity& h = w.Read();
  struct utsname u;
  ASSERT_EQ(uname(&u), 0);
  EXPECT_EQ(h.hostname, u.nodename);
  EXPECT_EQ(h.architecture, u.machine);
  EXPECT_EQ(h.os_kernel, u.release);
  for (const std::string& ip : h.ip) {
    EXPECT_NE(ip, "127.0.0.1");  // loopback is left out
    EXPECT_NE(ip, "::1");
  }
}

}  // namespace
}  // namespace kestrel::sources::ebpf
