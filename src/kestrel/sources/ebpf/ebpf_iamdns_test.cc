// EbpfSource against the running kernel (needs root and BPF; skips with the reason otherwise):
// DNS lookups (UDP queries to 127.0.0.1:53 by sendto, by send on a connected socket, by sendmmsg;
// no resolver needed: the datagrams need not be answered) and iam events (a throw-away user and
// group added with useradd/groupadd, then removed with userdel/groupdel).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/ebpf_source.h"
#include "kestrel/sources/ebpf/ebpf_test_util.h"

namespace kestrel::sources {
namespace {

using event::Event;

// Lookups and iam events are not "already running": only what the test does.
class LiveEventsTest : public ebpf_test::LiveSourceTest {
 protected:
  EbpfOptions Options() override {
    EbpfOptions options;
    options.already_running_events = false;
    return options;
  }
};

// A DNS query for `name` (labels split at dots), id `id`, type `qtype`.
std::vector<uint8_t> Query(std::string_view name, uint16_t id, uint16_t qtype) {
  std::vector<uint8_t> q = {
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start),
             name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.insert(q.end(), {0, static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype), 0, 1});
  return q;
}

TEST_F(LiveEventsTest, DnsQueriesSentToPort53AreLookupEvents) {
  // A sink on 127.0.0.1:53, so that no port-unreachable error fails the next send of a socket
  // (when the port is taken, whoever holds it receives them; nothing needs to answer).
  int sink = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(53);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool bound = bind(sink, reinterpret_cast<sockaddr*>(&at), sizeof(at)) == 0;
  std::printf("sink on 127.0.0.1:53: %s\n", bound ? "bound" : "port taken");
  struct CloseSink {
    int fd;
    ~CloseSink() { close(fd); }
  } close_sink{sink};
  pid_t child = fork();
  if (child == 0) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(53);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    auto q1 = Query("kestrel-test.example.com", 0x1111, 1);
    sendto(s, q1.data(), q1.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    // Not DNS: another port is not captured at all.
    sockaddr_in other = to;
    other.sin_port = htons(5353);
    auto q0 = Query("kestrel-other-port.example.com", 0x1000, 1);
    sendto(s, q0.data(), q0.size(), 0, reinterpret_cast<sockaddr*>(&other), sizeof(other));
    close(s);
    // A connected socket and send() (glibc's resolver), then sendmmsg of A + AAAA.
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) _exit(1);
    auto q2 = Query("kestrel-test.example.com", 0x2222, 28);
    if (send(c, q2.data(), q2.size(), 0) < 0) _exit(2);
    close(c);
    // A fresh socket: the port unreachable answer to the send above fails the next send on c.
    c = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) _exit(3);
    auto q3 = Query("kestrel-mmsg.example.com", 0x3333, 1);
    auto q4 = Query("kestrel-mmsg.example.com", 0x4444, 28);
    iovec iov[2] = {{q3.data(), q3.size()}, {q4.data(), q4.size()}};
    mmsghdr msgs[2] = {};
    msgs[0].msg_hdr.msg_iov = &iov[0];
    msgs[0].msg_hdr.msg_iovlen = 1;
    msgs[1].msg_hdr.msg_iov = &iov[1];
    msgs[1].msg_hdr.msg_iovlen = 1;
    if (sendmmsg(c, msgs, 2, 0) != 2) _exit(4);
    close(c);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  const std::string pid = std::to_string(child);
  auto lookups = WaitFor(4, [&](const Event& e) {
    return Str(e, "event.action") == "lookup_requested" && Str(e, "process.pid") == pid;
  });
  for (const Event& e : lookups) {
    std::printf("lookup: %s %s %s\n", Str(e, "dns.question.name").c_str(),
                Str(e, "dns.question.type").c_str(), Str(e, "dns.id").c_str());
  }
  ASSERT_EQ(lookups.size(), 4u) << "expected 4 lookups of pid " << pid;
  const struct {
    const char* name;
    const char* type;
    const char* id;
  } want[] = {{"kestrel-test.example.com", "A", "4369"},
              {"kestrel-test.example.com", "AAAA", "8738"},
              {"kestrel-mmsg.example.com", "A", "13107"},
              {"kestrel-mmsg.example.com", "AAAA", "17476"}};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    const Event& e = lookups[i];
    EXPECT_EQ(Str(e, "event.category"), "network");
    EXPECT_EQ(Str(e, "event.type"), "protocol");
    EXPECT_EQ(Str(e, "dns.question.name"), want[i].name);
    EXPECT_EQ(Str(e, "dns.question.type"), want[i].type);
    EXPECT_EQ(Str(e, "dns.id"), want[i].id);
    EXPECT_EQ(Str(e, "destination.ip"), "127.0.0.1");
    EXPECT_EQ(Str(e, "destination.port"), "53");
    EXPECT_EQ(Str(e, "network.transport"), "udp");
    EXPECT_EQ(Str(e, "network.type"), "ipv4");
    EXPECT_NE(Str(e, "source.port"), "0");
    EXPECT_NE(Str(e, "process.name"), "<missing>");
    EXPECT_EQ(Str(e, "host.os.type"), "linux");
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const Event& e : events_) {
    EXPECT_NE(Str(e, "dns.question.name"), "kestrel-other-port.example.com");
  }
}

// Runs `cmd` with /bin/sh; its exit status.
int Shell(const std::string& cmd) {
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST_F(LiveEventsTest, UseraddAndGroupaddThenRemovalsAreIamEvents) {
  if (Shell("command -v useradd groupadd userdel groupdel >/dev/null") != 0) {
    std::printf("SKIPPED: shadow-utils (useradd, groupadd, userdel, groupdel) not installed\n");
    GTEST_SKIP() << "shadow-utils not installed";
  }
  const std::string user = "kt-u" + std::to_string(getpid());
  const std::string group = "kt-g" + std::to_string(getpid());
  // Whatever happens below, the accounts go away.
  struct Cleanup {
    std::string user, group;
    ~Cleanup() {
      Shell("userdel " + user + " >/dev/null 2>&1");
      Shell("groupdel " + group + " >/dev/null 2>&1");
    }
  } cleanup{user, group};
  ASSERT_EQ(Shell("groupadd " + group), 0);
  ASSERT_EQ(Shell("useradd -M -N -g " + group + " -s /usr/sbin/nologin " + user), 0);
  auto added = WaitFor(2, [&](const Event& e) {
    return Str(e, "event.category") == "iam" &&
           (Str(e, "user.name") == user || Str(e, "group.name") == group) &&
           Str(e, "event.action").ends_with("_added");
  });
  ASSERT_EQ(added.size(), 2u);
  for (const Event& e : added) {
    if (Str(e, "event.action") == "group_added") {
      EXPECT_EQ(Str(e, "event.type"), "group|creation");
      EXPECT_EQ(Str(e, "group.name"), group);
      EXPECT_EQ(Str(e, "process.name"), "groupadd");
    } else {
      EXPECT_EQ(Str(e, "event.action"), "user_added");
      EXPECT_EQ(Str(e, "event.type"), "user|creation");
      EXPECT_EQ(Str(e, "event.outcome"), "success");
      EXPECT_EQ(Str(e, "user.name"), user);
      EXPECT_EQ(Str(e, "user.target.name"), user);
      EXPECT_NE(Str(e, "user.id"), "<missing>");
      EXPECT_EQ(Str(e, "group.name"), group);  // the primary group
      EXPECT_EQ(Str(e, "process.name"), "useradd");
    }
  }
  ASSERT_EQ(Shell("userdel " + user), 0);
  ASSERT_EQ(Shell("groupdel " + group), 0);
  auto removed = WaitFor(2, [&](const Event& e) {
    return Str(e, "event.category") == "iam" &&
           (Str(e, "user.name") == user || Str(e, "group.name") == group) &&
           Str(e, "event.action").ends_with("_removed");
  });
  for (const Event& e : removed) {
    std::printf("removed: %s %s %s by %s\n", Str(e, "event.action").c_str(),
                Str(e, "user.name").c_str(), Str(e, "group.name").c_str(),
                Str(e, "process.name").c_str());
  }
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(Str(removed[0], "event.type"), "user|deletion");
  EXPECT_EQ(Str(removed[0], "process.name"), "userdel");
  EXPECT_EQ(Str(removed[1], "event.type"), "group|deletion");
  EXPECT_EQ(Str(removed[1], "process.name"), "groupdel");
  // The accounts are gone.
  EXPECT_NE(Shell("getent passwd " + user + " >/dev/null"), 0);
  EXPECT_NE(Shell("getent group " + group + " >/dev/null"), 0);
}

}  // namespace
}  // namespace kestrel::sources
