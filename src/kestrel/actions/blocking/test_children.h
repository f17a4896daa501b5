// Test helpers for the blocking guards' tests (fanotify_guard_test.cc, lsm_guard_test.cc): run
// an exec or an open in a forked child and read how it ended. Test-only; header-only because
// each is a few lines.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kestrel::actions::blocking::testing {

// In a forked child: drop the fds inherited from the test, above all a guard's fanotify fd (a
// child holding it would keep the group alive after Stop(), and its own held exec with it).
inline void CloseInherited() { ::close_range(3, ~0U, 0); }

// How `pid` ended: its exit status, or 300 + the signal that killed it.
inline int Wait(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 300 + WTERMSIG(status);
}

// Exit status of a child that runs `args` (200 + errno when the exec failed). With `started`,
// returns -1 at once and stores the child's pid there (Wait() for it).
inline int RunChild(std::vector<std::string> args, pid_t* started = nullptr) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    CloseInherited();
    ::execv(argv[0], argv.data());
    ::_exit(200 + errno);
  }
  if (started != nullptr) {
    *started = pid;
    return -1;
  }
  return Wait(pid);
}

// 0 when a child process can open `path` for reading, else the errno.
inline int OpenInChild(const std::string& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    CloseInherited();
    int fd = ::open(path.c_str(), O_RDONLY);
    ::_exit(fd >= 0 ? 0 : errno);
  }
  return Wait(pid);
}

// A mount namespace of this process's own, mounts private: the tests' tmpfs mounts disappear
// with the process, even when it is killed. Once per test suite.
inline void PrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) == 0) ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
}

// A tmpfs of the test's own on a fresh directory under /tmp, what a guard may mark (never `/`),
// holding two programs (/bin/true copies) "marker" and "other", and two files "secret.txt" and
// "public.txt". Unmounted and removed on destruction.
class MarkedTmpfs {
 public:
  // Empty on success, else what failed.
  std::string Mount() {
    char tmpl[] = "/tmp/kestrel-guard-test.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return std::string("mkdtemp: ") + std::strerror(errno);
    dir_ = tmpl;
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=16m,mode=0755") != 0) {
      return std::string("mount tmpfs: ") + std::strerror(errno);
    }
    mounted_ = true;
    namespace fs = std::filesystem;
    for (const char* name : {"marker", "other"}) {
      fs::copy_file("/bin/true", dir_ + "/" + name);
      fs::permissions(dir_ + "/" + name, fs::perms(0755));
    }
    std::ofstream(dir_ + "/secret.txt") << "secret\n";
    std::ofstream(dir_ + "/public.txt") << "public\n";
    return "";
  }
  ~MarkedTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

}  // namespace kestrel::actions::blocking::testing
