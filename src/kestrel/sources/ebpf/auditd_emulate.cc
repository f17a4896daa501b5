// Test helper (not installed): harmless emulations of the techniques Elastic's auditd_manager
// rules look for, each one through the raw syscall, for auditd_compat_live_test.cc and
// cli/auditd_emulations_test.sh. Each subcommand also makes a look-alike call that the kernel
// filter must drop (marked "not reported").
//   prctl NAME          prctl(PR_SET_NAME, NAME); prctl(PR_GET_NAME) (not reported)
//   kill SIG            a child that ignores SIG; kill(child, SIG), then SIGTERM (not reported)
//                       and SIGKILL (not reported)
//   mprotect IP PORT    an anonymous page made PROT_READ|PROT_WRITE|PROT_EXEC, then PROT_READ|
//                       PROT_EXEC (not reported); then a non-blocking connect to IP:PORT
//   open PATH...        open(PATH, O_RDONLY, 0666) each, then open(PATH, O_RDONLY, 0644) (not
//                       reported); a path starting with '+' is opened O_CREAT|O_WRONLY, 0666
//   finit_module FILE [UID]   open FILE, become UID (when given), finit_module(fd, "", 0): the
//                       kernel refuses a file that is no module (harmless)
// Exit code 0 when every call was made (their own results do not matter), 2 on bad usage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

int Prctl(const char* name) {
  syscall(SYS_prctl, PR_SET_NAME, name, 0, 0, 0);
  char buf[16] = {};
  syscall(SYS_prctl, PR_GET_NAME, buf, 0, 0, 0);
  return 0;
}

int Kill(int sig) {
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    signal(sig, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  char c;
  (void)!read(ready[0], &c, 1);
  syscall(SYS_kill, child, sig);
  syscall(SYS_kill, child, SIGTERM);
  syscall(SYS_kill, child, SIGKILL);
  waitpid(child, nullptr, 0);
  return 0;
}

int Mprotect(const char* ip, int port) {
  long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  syscall(SYS_mprotect, p, page, PROT_READ | PROT_WRITE | PROT_EXEC);
  syscall(SYS_mprotect, p, page, PROT_READ | PROT_EXEC);
  munmap(p, page);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) return 2;
  connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  close(fd);
  return 0;
}

int Open(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    const char* path = argv[i];
    int flags = O_RDONLY;
    if (path[0] == '+') {
      ++path;
      flags = O_CREAT | O_WRONLY;
    }
    long fd = syscall(SYS_open, path, flags, 0666);
    if (fd >= 0) close(static_cast<int>(fd));
    fd = syscall(SYS_open, path, O_RDONLY, 0644);
    if (fd >= 0) close(static_cast<int>(fd));
  }
  return 0;
}

int FinitModule(const char* file, const char* uid) {
  int fd = open(file, O_RDONLY);
  if (fd < 0) return 1;
  if (uid != nullptr) {
    uid_t u = static_cast<uid_t>(std::atoi(uid));
    if (setresgid(u, u, u) != 0 || setresuid(u, u, u) != 0) return 1;
  }
  syscall(SYS_finit_module, fd, "", 0);
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s prctl|kill|mprotect|open|finit_module ARGS\n", argv[0]);
    return 2;
  }
  const char* cmd = argv[1];
  if (std::strcmp(cmd, "prctl") == 0 && argc == 3) return Prctl(argv[2]);
  if (std::strcmp(cmd, "kill") == 0 && argc == 3) return Kill(std::atoi(argv[2]));
  if (std::strcmp(cmd, "mprotect") == 0 && argc == 4) return Mprotect(argv[2], std::atoi(argv[3]));
  if (std::strcmp(cmd, "open") == 0 && argc >= 3) return Open(argc - 2, argv + 2);
  if (std::strcmp(cmd, "finit_module") == 0 && (argc == 3 || argc == 4)) {
    return FinitModule(argv[2], argc == 4 ? argv[3] : nullptr);
  }
  std::fprintf(stderr, "%s: bad arguments\n", argv[0]);
  return 2;
}
