// EbpfSource against the running kernel (needs root and BPF; skips with the reason otherwise).
// The test process itself is Kestrel's own process, which the programs filter out, so every
// action is staged by a forked child: exec of a marker program with known arguments, a marker
// file created/written, renamed (with relative paths) and deleted, and a loopback TCP
// connection. Each event must arrive within 2 s with the right ECS fields, entity ids and
// parent links.
#include "kestrel/sources/ebpf/ebpf_source.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <climits>
#include <cstdlib>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/ebpf_test_util.h"
#include "kestrel/sources/ebpf/process_table.h"

namespace kestrel::sources {
namespace {

using event::Event;
using event::Value;
using schema::ecs::Field;

// Runs `body` in a forked child and waits for it; returns the child's pid.
pid_t InChild(const std::function<void()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return pid;
}

class EbpfSourceTest : public ebpf_test::LiveSourceTest {
 protected:
  std::string SelfEntityId() {
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto st = ebpf::ParseProcStat(text);
    std::ifstream b("/proc/sys/kernel/random/boot_id");
    std::string boot;
    std::getline(b, boot);
    return ebpf::ProcessTable(boot).EntityId(static_cast<uint32_t>(getpid()), st->start_ticks);
  }
};

TEST_F(EbpfSourceTest, ExecOfAMarkerProgramFromAKnownParent) {
  pid_t child = InChild([] {
    if (chdir("/tmp") != 0) _exit(1);
    const char* argv[] = {"true", "kestrel-exec-marker", "two words", nullptr};
    execv("/bin/true", const_cast<char**>(argv));
    _exit(1);
  });
  std::string pid = std::to_string(child);
  auto fork = WaitFor([&](const Event& e) {
    return Str(e, Field("event.action")) == "fork" && Str(e, Field("process.pid")) == pid;
  });
  ASSERT_TRUE(fork.has_value()) << "no fork event for " << pid;
  auto exec = WaitFor([&](const Event& e) {
    return Str(e, Field("event.action")) == "exec" && Str(e, Field("process.pid")) == pid;
  });
  ASSERT_TRUE(exec.has_value()) << "no exec event for " << pid;
  const Event& e = *exec;
  EXPECT_EQ(Str(e, Field("event.category")), "process");
  EXPECT_EQ(Str(e, Field("event.type")), "start");
  // The kernel's view of the image: symlinks (a merged /usr's /bin) resolved.
  char real[PATH_MAX];
  ASSERT_NE(realpath("/bin/true", real), nullptr);
  EXPECT_EQ(Str(e, Field("process.executable")), real);
  EXPECT_EQ(Str(e, Field("process.name")), "true");
  EXPECT_EQ(Str(e, Field("process.args")), "true|kestrel-exec-marker|two words");
  EXPECT_EQ(Str(e, Field("process.args_count")), "3");
  EXPECT_EQ(Str(e, Field("process.command_line")), "true kestrel-exec-marker two words");
  EXPECT_EQ(Str(e, Field("process.working_directory")), "/tmp");
  EXPECT_EQ(Str(e, Field("process.parent.pid")), std::to_string(getpid()));
  EXPECT_EQ(Str(e, Field("process.parent.entity_id")), SelfEntityId());
  EXPECT_EQ(Str(e, Field("user.id")), std::to_string(geteuid()));
  EXPECT_EQ(Str(e, Field("host.os.type")), "linux");
  // The fork and the exec are one process: one entity id, 32 hex digits.
  EXPECT_EQ(Str(e, Field("process.entity_id")), Str(*fork, Field("process.entity_id")));
  EXPECT_EQ(Str(e, Field("process.entity_id")).size(), 32u);
  EXPECT_EQ(Str(*fork, Field("process.parent.entity_id")), SelfEntityId());
  auto end = WaitFor([&](const Event& x) {
    return Str(x, Field("event.action")) == "end" && Str(x, Field("process.pid")) == pid;
  });
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(Str(*end, Field("process.exit_code")), "0");
  EXPECT_EQ(Str(*end, Field("process.name")), "true");
}

// host.* and agent.* on live events: what HostWatcher reads from this machine, with the
// configured overrides on top.
class EbpfHostTest : public EbpfSourceTest {
 protected:
  EbpfOptions Options() override {
    EbpfOptions o;
    o.host.name = "override.example.com";
    o.agent_version = "9.8.7";
    return o;
  }
};

TEST_F(EbpfHostTest, LiveEventsCarryTheHostAndTheAgent) {
  pid_t child = InChild([] {});
  std::string pid = std::to_string(child);
  auto fork = WaitFor([&](const Event& e) {
    return Str(e, Field("event.action")) == "fork" && Str(e, Field("process.pid")) == pid;
  });
  ASSERT_TRUE(fork.has_value()) << "no fork event for " << pid;
  ebpf::HostWatcher watcher("/", "9.8.7", {});
  const ebpf::HostIdentity& h = watcher.Read();
  auto or_missing = [](const std::string& v) { return v.empty() ? "<missing>" : v; };
  const Event& e = *fork;
  EXPECT_EQ(Str(e, Field("host.name")), "override.example.com");
  EXPECT_EQ(Str(e, Field("host.hostname")), or_missing(h.hostname));
  EXPECT_EQ(Str(e, Field("host.id")), or_missing(h.id));
  EXPECT_EQ(Str(e, Field("host.architecture")), or_missing(h.architecture));
  EXPECT_EQ(Str(e, Field("host.os.kernel")), or_missing(h.os_kernel));
  EXPECT_EQ(Str(e, Field("host.os.name")), or_missing(h.os_name));
  EXPECT_EQ(Str(e, Field("agent.type")), "kestrel");
  EXPECT_EQ(Str(e, Field("agent.version")), "9.8.7");
  EXPECT_EQ(Str(e, Field("agent.id")), or_missing(h.agent_id));
  const Value* ips = e.Find(Field("host.ip"));
  EXPECT_EQ(ips == nullptr ? 0 : ips->as_array().size(), h.ip.size());
  std::printf("host.id %s, host.hostname %s, %zu addresses, agent.id %s\n", h.id.c_str(),
              h.hostname.c_str(), h.ip.size(), h.agent_id.c_str());
}

// Elastic Defend's Linux shapes, live: already_running for this test process, env_vars of the
// allow-list, a memfd image exec'd as "memfd:NAME", setsid -> session_id_change, and
// setgid/setuid to a throw-away id -> gid_change/uid_change with the new ids (root only).
TEST_F(EbpfSourceTest, DefendShapedProcessEventsLive) {
  auto running = WaitFor([&](const Event& e) {
    return Str(e, Field("event.action")) == "already_running" &&
           Str(e, Field("process.pid")) == std::to_string(getppid());
  });
  ASSERT_TRUE(running.has_value()) << "no already_running event for the parent process";
  EXPECT_EQ(Str(*running, Field("event.type")), "info");

  pid_t child = InChild([] {
    if (setsid() < 0) _exit(2);
    int fd = memfd_create("kestrel-memfd-marker", 0);
    int src = open("/bin/true", O_RDONLY);
    if (fd < 0 || src < 0) _exit(3);
    char buf[65536];
    ssize_t n;
    while ((n = read(src, buf, sizeof(buf))) > 0) {
      if (write(fd, buf, static_cast<size_t>(n)) != n) _exit(4);
    }
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(5);
    const char* argv[] = {"true", "kestrel-memfd-exec", nullptr};
    const char* envp[] = {"PATH=/bin", "HISTFILE=/dev/null", "NOT_KEPT=x", nullptr};
    fexecve(fd, const_cast<char**>(argv), const_cast<char**>(envp));
    _exit(6);
  });
  std::string pid = std::to_string(child);
  auto action = [&](std::string_view a) {
    return WaitFor([&](const Event& e) {
      return Str(e, Field("event.action")) == a && Str(e, Field("process.pid")) == pid;
    });
  };
  auto sid = action("session_id_change");
  ASSERT_TRUE(sid.has_value()) << "no session_id_change for " << pid;
  EXPECT_EQ(Str(*sid, Field("event.type")), "change");
  EXPECT_EQ(Str(*sid, Field("process.session_leader.pid")), pid);
  auto memfd = action("memfd_create");
  ASSERT_TRUE(memfd.has_value());
  EXPECT_EQ(Str(*memfd, Field("event.category")), "process");
  auto gid = action("gid_change");
  ASSERT_TRUE(gid.has_value());
  EXPECT_EQ(Str(*gid, Field("group.id")), "65534");
  EXPECT_EQ(Str(*gid, Field("process.real_group.id")), "65534");
  auto uid = action("uid_change");
  ASSERT_TRUE(uid.has_value());
  EXPECT_EQ(Str(*uid, Field("event.type")), "change");
  EXPECT_EQ(Str(*uid, Field("user.id")), "65534");
  EXPECT_EQ(Str(*uid, Field("process.user.id")), "65534");
  auto exec = action("exec");
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(Str(*exec, Field("process.executable")), "memfd:kestrel-memfd-marker");
  EXPECT_EQ(Str(*exec, Field("process.env_vars")), "HISTFILE=/dev/null");
  EXPECT_EQ(Str(*exec, Field("process.args")), "true|kestrel-memfd-exec");
  EXPECT_EQ(Str(*exec, Field("process.session_leader.pid")), pid);
  EXPECT_EQ(Str(*exec, Field("process.entry_leader.entry_meta.type")).empty(), false);
  // Root's capabilities before the change (the fork), none after setuid to nobody.
  auto fork = action("fork");
  ASSERT_TRUE(fork.has_value());
  if (geteuid() == 0) {
    EXPECT_NE(Str(*fork, Field("process.thread.capabilities.effective")).find("CAP_SETUID"),
              std::string::npos);
  }
  EXPECT_EQ(Str(*exec, Field("process.thread.capabilities.effective")), "<missing>");
}

TEST_F(EbpfSourceTest, MarkerFileCreatedWrittenRenamedAndDeleted) {
  std::string dir = "/tmp/kestrel-ebpf-test-" + std::to_string(getpid());
  std::string made = dir + "/marker.txt", moved = dir + "/renamed.dat";
  pid_t child = InChild([&] {
    mkdir(dir.c_str(), 0700);
    int fd = open(made.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "x", 1) != 1) _exit(1);
    close(fd);
    fd = open(made.c_str(), O_WRONLY | O_APPEND);  // an existing file opened for writing
    close(fd);
    if (chdir(dir.c_str()) != 0) _exit(1);
    if (rename("marker.txt", "./renamed.dat") != 0) _exit(1);  // relative: resolved via the cwd
    chmod("renamed.dat", 0755);
    if (unlink(moved.c_str()) != 0) _exit(1);
    rmdir(dir.c_str());
  });
  std::string pid = std::to_string(child);
  auto of = [&](std::string_view action) {
    return WaitFor([&](const Event& e) {
      return Str(e, Field("event.action")) == action && Str(e, Field("process.pid")) == pid &&
             Str(e, Field("file.path")).find("kestrel-ebpf-test") != std::string::npos;
    });
  };
  auto created = of("creation");
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(Str(*created, Field("event.category")), "file");
  EXPECT_EQ(Str(*created, Field("event.type")), "creation");
  EXPECT_EQ(Str(*created, Field("file.path")), made);
  EXPECT_EQ(Str(*created, Field("file.name")), "marker.txt");
  EXPECT_EQ(Str(*created, Field("file.extension")), "txt");
  EXPECT_EQ(Str(*created, Field("file.directory")), dir);
  EXPECT_EQ(Str(*created, Field("process.parent.pid")), std::to_string(getpid()));
  auto modified = of("modification");
  ASSERT_TRUE(modified.has_value());
  EXPECT_EQ(Str(*modified, Field("event.type")), "change");
  auto renamed = of("rename");
  ASSERT_TRUE(renamed.has_value());
  EXPECT_EQ(Str(*renamed, Field("file.path")), moved);
  EXPECT_EQ(Str(*renamed, Field("file.Ext.original.path")), made);
  EXPECT_EQ(Str(*renamed, Field("file.Ext.original.name")), "marker.txt");
  auto chmoded = of("attributes_modified");
  ASSERT_TRUE(chmoded.has_value());
  EXPECT_EQ(Str(*chmoded, Field("file.mode")), "755");
  auto deleted = of("deletion");
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(Str(*deleted, Field("file.path")), moved);
  EXPECT_EQ(Str(*deleted, Field("event.type")), "deletion");
  EXPECT_EQ(Str(*deleted, Field("process.entity_id")), Str(*created, Field("process.entity_id")));
}

// RequestFlush: the ring buffer is drained at once (not at the next poll, 3 s away here), and
// OnFlushed comes after every record that was in it was returned.
class EbpfFlushTest : public EbpfSourceTest {
 protected:
  EbpfOptions Options() override {
    EbpfOptions o;
    o.poll_interval_ms = 3'000;
    return o;
  }
  void BeforePulling() override {
    source_->OnFlushed([this](uint64_t ticket) {
      std::lock_guard<std::mutex> lock(mu_);
      flushed_.push_back({ticket, events_.size()});
    });
  }
  std::vector<std::pair<uint64_t, size_t>> flushed_;  // ticket, events returned before it
};

TEST_F(EbpfFlushTest, FlushDeliversWhatTheRingBufferHoldsThenTheTicket) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reader's first drain
  std::string made = "/tmp/kestrel-ebpf-flush-" + std::to_string(getpid());
  pid_t child = InChild([&] {
    int fd = open(made.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    if (fd < 0) _exit(1);
    close(fd);
    unlink(made.c_str());
  });
  auto created = [&](const Event& e) {
    return Str(e, Field("event.action")) == "creation" &&
           Str(e, Field("process.pid")) == std::to_string(child) &&
           Str(e, Field("file.path")) == made;
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Event& e : events_) EXPECT_FALSE(created(e)) << "drained without a flush";
  }
  source_->RequestFlush(1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  size_t before = 0;
  bool got = false;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard<std::mutex> lock(mu_);
    if (!flushed_.empty()) {
      got = true;
      EXPECT_EQ(flushed_[0].first, 1u);
      before = flushed_[0].second;
    }
  }
  ASSERT_TRUE(got) << "no OnFlushed within 1 s";
  std::lock_guard<std::mutex> lock(mu_);
  bool seen = false;
  for (size_t i = 0; i < before; ++i) seen |= created(events_[i]);
  EXPECT_TRUE(seen) << "the creation was not returned before the flush ticket";
}

TEST_F(EbpfSourceTest, SensitiveReadIsReportedOtherReadsAreNot) {
  pid_t child = InChild([] {
    int fd = open("/etc/passwd", O_RDONLY);
    if (fd >= 0) close(fd);
    fd = open("/etc/hostname", O_RDONLY);
    if (fd >= 0) close(fd);
  });
  std::string pid = std::to_string(child);
  auto read = WaitFor([&](const Event& e) {
    return Str(e, Field("process.pid")) == pid && Str(e, Field("file.path")) == "/etc/passwd";
  });
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(Str(*read, Field("event.type")), "access");
  EXPECT_EQ(Str(*read, Field("event.action")), "open");
  EXPECT_FALSE(WaitFor([&](const Event& e) {
                 return Str(e, Field("process.pid")) == pid &&
                        Str(e, Field("file.path")) == "/etc/hostname";
               }).has_value());
}

TEST_F(EbpfSourceTest, LoopbackConnectAndAccept) {
  int port_pipe[2];
  ASSERT_EQ(pipe(port_pipe), 0);
  pid_t child = InChild([&] {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(l, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(l, 4) != 0) _exit(1);
    socklen_t len = sizeof(a);
    getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
    uint16_t port = ntohs(a.sin_port);
    if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port)) _exit(1);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) _exit(1);
    int s = accept(l, nullptr, nullptr);
    close(s);
    close(c);
    close(l);
  });
  uint16_t port = 0;
  ASSERT_EQ(read(port_pipe[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
  close(port_pipe[0]);
  close(port_pipe[1]);
  std::string pid = std::to_string(child);
  auto connect = WaitFor([&](const Event& e) {
    return Str(e, Field("process.pid")) == pid &&
           Str(e, Field("event.action")) == "connection_attempted";
  });
  ASSERT_TRUE(connect.has_value());
  EXPECT_EQ(Str(*connect, Field("event.category")), "network");
  EXPECT_EQ(Str(*connect, Field("destination.ip")), "127.0.0.1");
  EXPECT_EQ(Str(*connect, Field("destination.port")), std::to_string(port));
  EXPECT_EQ(Str(*connect, Field("source.ip")), "127.0.0.1");
  EXPECT_EQ(Str(*connect, Field("network.transport")), "tcp");
  EXPECT_EQ(Str(*connect, Field("network.direction")), "egress");
  EXPECT_EQ(Str(*connect, Field("network.type")), "ipv4");
  EXPECT_EQ(Str(*connect, Field("event.outcome")), "success");
  auto accepted = WaitFor([&](const Event& e) {
    return Str(e, Field("process.pid")) == pid &&
           Str(e, Field("event.action")) == "connection_accepted";
  });
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(Str(*accepted, Field("destination.port")), std::to_string(port));
  EXPECT_EQ(Str(*accepted, Field("source.port")), Str(*connect, Field("source.port")));
  EXPECT_EQ(Str(*accepted, Field("network.direction")), "ingress");
  auto bound = WaitFor([&](const Event& e) {
    return Str(e, Field("process.pid")) == pid && Str(e, Field("event.action")) == "bind";
  });
  ASSERT_TRUE(bound.has_value());
  EXPECT_EQ(Str(*bound, Field("source.ip")), "127.0.0.1");
}

TEST_F(EbpfSourceTest, OwnProcessIsFilteredInTheKernel) {
  int fd = open("/tmp/kestrel-self-filter-marker", O_CREAT | O_WRONLY, 0600);
  close(fd);
  unlink("/tmp/kestrel-self-filter-marker");
  std::string self = std::to_string(getpid());
  EXPECT_FALSE(WaitFor([&](const Event& e) {
                 return Str(e, Field("process.pid")) == self &&
                        Str(e, Field("event.category")) == "file";
               }).has_value());
  SourceStats s = source_->stats();
  EXPECT_EQ(s.malformed, 0u);
}

// The fallback mechanism (raw_tp for the sched tracepoints) delivers the same events.
class EbpfRawTpTest : public EbpfSourceTest {
 protected:
  EbpfOptions Options() override {
    EbpfOptions o;
    o.try_tp_btf = false;
    return o;
  }
};

TEST_F(EbpfRawTpTest, ExecForkExitThroughRawTracepoints) {
  EXPECT_EQ(source_->mechanism().rfind("raw_tp sched_process_exec", 0), 0u) << source_->mechanism();
  pid_t child = InChild([] {
    const char* argv[] = {"true", "kestrel-raw-tp-marker", nullptr};
    execv("/bin/true", const_cast<char**>(argv));
    _exit(1);
  });
  std::string pid = std::to_string(child);
  for (const char* action : {"fork", "exec", "end"}) {
    auto e = WaitFor([&](const Event& x) {
      return Str(x, Field("event.action")) == action && Str(x, Field("process.pid")) == pid;
    });
    ASSERT_TRUE(e.has_value()) << action;
    EXPECT_EQ(Str(*e, Field("process.parent.entity_id")), SelfEntityId()) << action;
  }
}

// --ignore-path of a directory: file events under it are dropped in the kernel, by inode. The
// option names the directory through a symlink, so the user-space prefix test (on the real
// path) cannot be what drops them; events elsewhere still arrive.
class EbpfIgnorePathTest : public EbpfSourceTest {
 protected:
  EbpfOptions Options() override {
    dir_ = "/tmp/kestrel-ignored-" + std::to_string(getpid());
    link_ = dir_ + "-link";
    mkdir(dir_.c_str(), 0700);
    unlink(link_.c_str());
    if (symlink(dir_.c_str(), link_.c_str()) != 0) ADD_FAILURE() << "symlink";
    EbpfOptions o;
    o.ignore_paths = {link_};
    return o;
  }
  void TearDown() override {
    EbpfSourceTest::TearDown();
    unlink(link_.c_str());
    rmdir(dir_.c_str());
  }
  std::string link_;
  std::string dir_;
};

TEST_F(EbpfIgnorePathTest, FileEventsUnderAnIgnoredDirectoryAreDropped) {
  std::string dir = dir_;
  pid_t child = InChild([&] {
    int fd = open((dir + "/noise.log").c_str(), O_CREAT | O_WRONLY, 0600);
    close(fd);
    unlink((dir + "/noise.log").c_str());
    fd = open("/tmp/kestrel-not-ignored.log", O_CREAT | O_WRONLY, 0600);
    close(fd);
    unlink("/tmp/kestrel-not-ignored.log");
  });
  std::string pid = std::to_string(child);
  EXPECT_TRUE(WaitFor([&](const Event& e) {
                return Str(e, Field("process.pid")) == pid &&
                       Str(e, Field("file.path")) == "/tmp/kestrel-not-ignored.log";
              }).has_value());
  // The open's path comes from dentries: filtered in the kernel. (The unlink of an absolute
  // path argument has no dentry to test: it is filtered in user space, by prefix, which the
  // symlink defeats here on purpose.)
  EXPECT_FALSE(WaitFor([&](const Event& e) {
                 return Str(e, Field("file.path")).find(dir) == 0 &&
                        Str(e, Field("event.action")) == "creation";
               }).has_value());
}

// A queue too small for any record: every record is a user-side drop, counted, and reported
// once through TakeLosses() with the span of time it fell in.
class EbpfLossTest : public EbpfSourceTest {
 protected:
  EbpfOptions Options() override {
    EbpfOptions o;
    o.max_queue_bytes = 1;
    return o;
  }
};

TEST_F(EbpfLossTest, DropsAreCountedAndReportedWithTheirTimeSpan) {
  int64_t before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  for (int i = 0; i < 20; ++i) {
    InChild([] {
      int fd = open("/tmp/kestrel-loss-marker", O_CREAT | O_WRONLY, 0600);
      close(fd);
    });
  }
  unlink("/tmp/kestrel-loss-marker");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop_.store(true);
  puller_.join();
  SourceStats s = source_->stats();
  EXPECT_GE(s.user_drops, 40u);  // each child: at least a fork, a file event and an exit
  EXPECT_EQ(s.events, 0u);
  std::vector<SourceLoss> losses;
  source_->TakeLosses(&losses);
  ASSERT_FALSE(losses.empty());
  uint64_t total = 0;
  for (const SourceLoss& l : losses) {
    EXPECT_FALSE(l.kernel);
    EXPECT_LE(l.begin_ns, l.end_ns);
    EXPECT_GE(l.end_ns, before - 1'000'000'000);  // event time: the wall clock, roughly
    total += l.count;
  }
  EXPECT_EQ(total, s.user_drops);
  losses.clear();
  source_->TakeLosses(&losses);
  EXPECT_TRUE(losses.empty()) << "each loss is reported once";
}

}  // namespace
}  // namespace kestrel::sources
