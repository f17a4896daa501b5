// blocking_bench's exec probe: the first thing it does is write CLOCK_MONOTONIC (ns) to fd 3,
// so the bench can time an exec from the execve() call to the new program's main, without the
// fork and wait around it. Linked statically: no dynamic loader, one file to exec.
#include <unistd.h>
#include <cstdint>
#include <ctime>

int main() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t ns = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  return write(3, &ns, sizeof ns) == static_cast<ssize_t>(sizeof ns) ? 0 : 1;
}
